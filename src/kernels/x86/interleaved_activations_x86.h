// The activations of the decode kernels for the interleaved layouts (formats/lowbit_q4_0x16.h,
// lowbit_q4_kx2.h, lowbit_q8_0x16.h), laid out once per token in the order of the weight codes; shared by
// the AVX-512 kernels (x86/gemv_interleaved_x86.h) and the AVX2 one (kernels/avx2/gemv_avx2.cpp). Plain
// scalar code; as in x86/dot_x86.h, everything here has internal linkage.
#pragma once

#include <cstdint>
#include <cstring>

#include "formats/ggml_q8_0.h"
#include "formats/layout_conversion.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

constexpr int kInterleavedGroups = 16;  // 32-code groups per 512-weight block, one per int32 lane
constexpr int kInterleavedBlock = 512;

// One block's activation codes in the order of the weight codes, element e of group s at
// interleaved_byte(s, e) (formats/layout_conversion.h): vector v lane s holds elements 4v..4v+3 of group
// s. The nibble layouts' vector v (< 4) thus meets their low nibbles (elements 4v..4v+3) and vector
// 4 + v their high ones (16+4v..16+4v+3). group(s) points to group s's 32 codes; they move four at a
// time (decode lays out every product's activations while the other threads wait).
template <typename Group>
void interleave_activation_codes(int8_t* codes, const Group& group) {
  for (int s = 0; s < kInterleavedGroups; ++s) {
    const int8_t* source = group(s);
    for (int k = 0; k < 8; ++k) std::memcpy(codes + interleaved_byte(s, 4 * k), source + 4 * k, 4);
  }
}

// Q8_0 activations for the legacy layouts (lb_q4_0x16, lb_q8_0x16): per block the interleaved codes, and
// per lane (Q8_0 block) in sums the weight format's offset times the block's sum of codes (offset: -8
// for Q4_0's q + 8, -128 for the sign-bit flip of Q8_0's codes), in scales the block's scale.
inline void prepare_legacy_interleaved(const uint8_t* quantized, int64_t cols, int32_t offset, GemvActivations& out) {
  const int64_t blocks = cols / kInterleavedBlock;
  out.codes.resize(static_cast<size_t>(blocks * kInterleavedBlock));
  out.sums.resize(static_cast<size_t>(blocks * kInterleavedGroups));
  out.scales.resize(static_cast<size_t>(blocks * kInterleavedGroups));
  const auto* a = reinterpret_cast<const BlockQ8_0*>(quantized);
  for (int64_t b = 0; b < blocks; ++b) {
    const BlockQ8_0* group = a + b * kInterleavedGroups;
    interleave_activation_codes(out.codes.data() + b * kInterleavedBlock,
                                [group](int s) { return group[s].qs; });
    for (int s = 0; s < kInterleavedGroups; ++s) {
      int32_t sum = 0;
      for (int8_t code : group[s].qs) sum += code;
      out.sums[b * kInterleavedGroups + s] = offset * sum;
      out.scales[b * kInterleavedGroups + s] = half_to_float(group[s].d);
    }
  }
}

}  // namespace
}  // namespace lowbit
