// PermutedCodes (see x86/gemv_lowbit_int_x86.h): the decode kernels of lowbit's 2, 3, 5 and 6-bit formats,
// by AVX-512 VBMI byte permutes. Include only from kernels/avx512vbmi/; everything here has internal
// linkage.
//
// Code vector v's 64-bit lane l holds elements 16v + 8 (l % 2) .. + 7 of activation block l / 2 (the
// step's activations laid out by place_q8_1_halves). Those 8 codes are `bits` consecutive bytes of their
// block's LSB-first stream (8 codes x bits bits), so one permute (vpermb, or vpermt2b when the step's
// blocks span two vectors) brings each lane's bytes to the lane's bottom, one vpmultishiftqb moves code i
// from bit bits * i to byte i, and a mask keeps its bits.
#pragma once

#include <immintrin.h>

#include <array>
#include <cstdint>

#include "formats/lowbit_int.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/gemv_lowbit_int_x86.h"
#include "kernels/x86/gemv_x86.h"

namespace lowbit {
namespace {

template <LowbitIntFormat F>
struct PermutedCodes {
  using Step = LowbitIntStep<F>;
  static constexpr int kSourceVectors = Step::kStepBytes <= 64 ? 1 : 2;
  static_assert(F.bits <= 6 && Step::kStepBytes <= 128);

  static constexpr auto place = place_q8_1_halves;

  // Byte 8l + i of code vector v: for i < bits, byte i of lane l's run in the step's bytes.
  alignas(64) static constexpr auto kPermutes = [] {
    std::array<std::array<uint8_t, 64>, 2> permutes{};
    for (int v = 0; v < 2; ++v) {
      for (int byte = 0; byte < 64; ++byte) {
        const int lane = byte / 8, i = byte % 8;
        const int element = 32 * (lane / 2) + 16 * v + 8 * (lane % 2);  // the lane's first, in the step
        const int block = static_cast<int>(element / F.group), offset = static_cast<int>(element % F.group);
        const int run = block * static_cast<int>(sizeof(typename Step::Block)) +
                        static_cast<int>(lowbit_int_codes_offset(F)) + F.bits * offset / 8;
        permutes[v][byte] = static_cast<uint8_t>(run + (i < F.bits ? i : 0));
      }
    }
    return permutes;
  }();

  static void code_vectors(const uint8_t* step, __m512i out[2]) {
    // Masked loads touch only the step's bytes (the last step of a buffer may end anywhere).
    constexpr int kLastBytes = Step::kStepBytes - 64 * (kSourceVectors - 1);
    constexpr __mmask64 kLast = kLastBytes == 64 ? ~__mmask64{0} : (__mmask64{1} << kLastBytes) - 1;
    const __m512i shifts = _mm512_set1_epi64(static_cast<int64_t>(
        0x0706050403020100ULL * static_cast<uint64_t>(F.bits)));  // byte i: bits * i
    const __m512i code_mask = _mm512_set1_epi8(static_cast<char>((1 << F.bits) - 1));
    for (int v = 0; v < 2; ++v) {
      const __m512i permute = _mm512_load_si512(kPermutes[v].data());
      __m512i runs;
      if constexpr (kSourceVectors == 1) {
        runs = _mm512_permutexvar_epi8(permute, _mm512_maskz_loadu_epi8(kLast, step));
      } else {
        runs = _mm512_permutex2var_epi8(_mm512_loadu_si512(step), permute, _mm512_maskz_loadu_epi8(kLast, step + 64));
      }
      out[v] = _mm512_and_si512(_mm512_multishift_epi64_epi8(shifts, runs), code_mask);
    }
  }
};

}  // namespace
}  // namespace lowbit
