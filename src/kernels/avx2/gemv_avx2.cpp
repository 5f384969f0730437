// The AVX2 decode kernel (kernels/gemv_kernels.h) for lb_q4_0x16 (formats/lowbit_q4_0x16.h), so that
// CPUs without AVX-512 convert Q4_0 to it at load as well. Compiled with -mavx2 -mfma -mf16c
// (CMakeLists.txt); called only at CpuLevel::avx2.
//
// Each 64-byte code vector of a block is read as two 256-bit halves, groups 0-7 and 8-15, one per
// 32-bit lane. maddubs multiplies the nibbles (0-15) with the activation codes and adds pairs into
// 16-bit sums of at most 2 * 15 * 128 = 3840 in magnitude, so the eight products of a half (four vectors
// of low and of high nibbles) add up in 16 bits without overflow and one madd by ones makes each lane's
// 32-bit group sum: about 45 operations per half-block of 144 bytes, where the per-block dot product
// on the file's Q4_0 layout (x86/dot_x86.h) takes about a dozen per 18-byte block.
#include <immintrin.h>

#include "formats/lowbit_q4_0x16.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/interleaved_activations_x86.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

// Per lane (group) of half h of block b: its 32-bit sum of codes times activations plus the offset term.
inline __m256i half_block_dots(const BlockQ4_0x16& block, const int8_t* codes, const int32_t* sums, int h) {
  const __m256i low_nibbles = _mm256_set1_epi8(15);
  __m256i pair_sums = _mm256_setzero_si256();
  for (int v = 0; v < 4; ++v) {
    const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block.qs + 64 * v + 32 * h));
    const auto activations = [&](int vector) {
      return _mm256_load_si256(reinterpret_cast<const __m256i*>(codes + 64 * vector + 32 * h));
    };
    pair_sums = _mm256_add_epi16(pair_sums, _mm256_maddubs_epi16(_mm256_and_si256(packed, low_nibbles), activations(v)));
    pair_sums = _mm256_add_epi16(
        pair_sums, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles), activations(4 + v)));
  }
  const __m256i offsets = _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + 8 * h));
  return _mm256_add_epi32(_mm256_madd_epi16(pair_sums, _mm256_set1_epi16(1)), offsets);
}

void prepare_q4_0x16(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
  prepare_legacy_interleaved(quantized, cols, -8, out);  // Q4_0 stores q + 8
}

void multiply_q4_0x16(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                      const GemvActivations& a, float* y) {
  const int64_t blocks = cols / kInterleavedBlock;
  const LinePrefetcher prefetch;
  for (int64_t r = 0; r < row_count; ++r) {
    const auto* w = reinterpret_cast<const BlockQ4_0x16*>(weight_rows + static_cast<size_t>(r) * row_bytes);
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};  // one chain per half
    for (int64_t b = 0; b < blocks; ++b) {
      prefetch.ahead(reinterpret_cast<const uint8_t*>(&w[b]), sizeof(BlockQ4_0x16));
      const int8_t* codes = a.codes.data() + b * kInterleavedBlock;
      const int32_t* sums = a.sums.data() + b * kInterleavedGroups;
      const float* activation_scales = a.scales.data() + b * kInterleavedGroups;
      for (int h = 0; h < 2; ++h) {
        const __m256 weight_scales = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].d + 8 * h)));
        const __m256 scales = _mm256_mul_ps(weight_scales, _mm256_load_ps(activation_scales + 8 * h));
        acc[h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(half_block_dots(w[b], codes, sums, h)), scales, acc[h]);
      }
    }
    const __m256 sum = _mm256_add_ps(acc[0], acc[1]);
    const __m128 quarter = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
    const __m128 pair = _mm_add_ps(quarter, _mm_movehl_ps(quarter, quarter));
    y[r] = _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)));
  }
}

// A batch re-reads each piece of rows from cache for every token; still faster than the dot products,
// which gather every group's code words out of the interleaved blocks.
void multiply_q4_0x16_tokens(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                             const GemvActivations* tokens, int64_t n_tokens, float* y, int64_t y_stride) {
  for (int64_t t = 0; t < n_tokens; ++t) multiply_q4_0x16(weight_rows, row_bytes, row_count, cols, tokens[t], y + t * y_stride);
}

constexpr GemvKernel kQ4_0x16Gemv{TensorType::Q8_0, kInterleavedBlock, alignof(BlockQ4_0x16),
                                  prepare_q4_0x16, multiply_q4_0x16, multiply_q4_0x16_tokens};

}  // namespace

const GemvKernel* find_gemv_kernel_avx2(TensorType weight) { return weight == kQ4_0x16Type ? &kQ4_0x16Gemv : nullptr; }

}  // namespace lowbit
