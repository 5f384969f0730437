// The AVX2 decode kernels (kernels/gemv_kernels.h) for lb_q4_0x16 and lb_q8_0x16 (formats/
// lowbit_q4_0x16.h, lowbit_q8_0x16.h), so that CPUs without AVX-512 convert Q4_0 and Q8_0 to them at load
// as well. Compiled with -mavx2 -mfma -mf16c (CMakeLists.txt); called only at CpuLevel::avx2.
//
// Each 64-byte code vector of a block is read as two 256-bit halves, groups 0-7 and 8-15, one per 32-bit
// lane. For lb_q4_0x16, maddubs multiplies the nibbles (0-15) with the activation codes and adds pairs
// into 16-bit sums of at most 2 * 15 * 128 = 3840 in magnitude, so the eight products of a half (four
// vectors of low and of high nibbles) add up in 16 bits without overflow and one madd by ones makes each
// lane's 32-bit group sum: about 45 operations per half-block of 144 bytes, where the per-block dot
// product on the file's Q4_0 layout (x86/dot_x86.h) takes about a dozen per 18-byte block.
#include <immintrin.h>

#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q8_0x16.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/interleaved_activations_x86.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

// lb_q4_0x16: per lane (group) of half h of a block, its codes times the activations in 32 bits (the
// format's offset of 8 comes in with the activation sums).
struct Q4_0x16Halves {
  using Block = BlockQ4_0x16;
  static constexpr int32_t kOffset = 8;  // Q4_0 stores q + 8
  static constexpr PrefetchReach kPrefetchReach = PrefetchReach::kFar;
  static __m256i dots(const Block& block, const int8_t* codes, int h) {
    const __m256i low_nibbles = _mm256_set1_epi8(15);
    __m256i pair_sums = _mm256_setzero_si256();
    for (int v = 0; v < 4; ++v) {
      const __m256i packed = in_register(load_256(block.qs + 64 * v + 32 * h));
      const __m256i low = _mm256_and_si256(packed, low_nibbles);
      const __m256i high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_nibbles);
      pair_sums = _mm256_add_epi16(pair_sums, _mm256_maddubs_epi16(low, load_256(codes + 64 * v + 32 * h)));
      pair_sums = _mm256_add_epi16(pair_sums, _mm256_maddubs_epi16(high, load_256(codes + 256 + 64 * v + 32 * h)));
    }
    return _mm256_madd_epi16(pair_sums, _mm256_set1_epi16(1));
  }
};

// lb_q8_0x16: signed codes, multiplied as |q| times the activations with q's sign (maddubs wants one
// unsigned operand); a pair's sum reaches 2 * 127 * 128, so each product goes to 32 bits at once.
struct Q8_0x16Halves {
  using Block = BlockQ8_0x16;
  static constexpr int32_t kOffset = 0;
  static constexpr PrefetchReach kPrefetchReach = PrefetchReach::kNear;
  static __m256i dots(const Block& block, const int8_t* codes, int h) {
    __m256i sums = _mm256_setzero_si256();
    for (int v = 0; v < 8; ++v) {
      const __m256i q = load_256(block.qs + 64 * v + 32 * h);
      const __m256i pairs =
          _mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(load_256(codes + 64 * v + 32 * h), q));
      sums = _mm256_add_epi32(sums, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
    }
    return sums;
  }
};

template <typename Halves>
void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
  prepare_legacy_interleaved(quantized, cols, -Halves::kOffset, out);
}

template <typename Halves>
void multiply(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
              const GemvActivations& a, float* y) {
  using Block = typename Halves::Block;
  const int64_t blocks = cols / kInterleavedBlock;
  const LinePrefetcher prefetch(Halves::kPrefetchReach);
  for (int64_t r = 0; r < row_count; ++r) {
    const auto* w = reinterpret_cast<const Block*>(weight_rows + static_cast<size_t>(r) * row_bytes);
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};  // one chain per half
    for (int64_t b = 0; b < blocks; ++b) {
      prefetch.ahead(reinterpret_cast<const uint8_t*>(&w[b]), sizeof(Block));
      const int8_t* codes = a.codes.data() + b * kInterleavedBlock;
      for (int h = 0; h < 2; ++h) {
        const int64_t lane = b * kInterleavedGroups + 8 * h;
        __m256i dots = Halves::dots(w[b], codes, h);
        if constexpr (Halves::kOffset != 0) {
          dots = _mm256_add_epi32(dots, _mm256_load_si256(reinterpret_cast<const __m256i*>(a.sums.data() + lane)));
        }
        const __m256 weight_scales = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].d + 8 * h)));
        const __m256 scales = _mm256_mul_ps(weight_scales, _mm256_load_ps(a.scales.data() + lane));
        acc[h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots), scales, acc[h]);
      }
    }
    y[r] = horizontal_sum(_mm256_add_ps(acc[0], acc[1]));
  }
}

// A batch re-reads each piece of rows from cache for every token; still faster than what served these
// batches before, the AVX2 GEMM (TinyLlama Q4_0 at LOWBIT_CPU=avx2, 2 threads: -p 8 81-114 t/s against
// 46-57 on the file's layout; -p 32 and -p 128 against it on this layout, x86/gemm_x86.h).
template <typename Halves>
void multiply_tokens(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                     const GemvActivations* tokens, int64_t n_tokens, float* y, int64_t y_stride) {
  for (int64_t t = 0; t < n_tokens; ++t) {
    multiply<Halves>(weight_rows, row_bytes, row_count, cols, tokens[t], y + t * y_stride);
  }
}

template <typename Halves>
constexpr GemvKernel kKernel{TensorType::Q8_0,        kInterleavedBlock,  alignof(typename Halves::Block),
                             prepare<Halves>,         multiply<Halves>,   multiply_tokens<Halves>};

}  // namespace

const GemvKernel* find_gemv_kernel_avx2(TensorType weight) {
  if (weight == kQ4_0x16Type) return &kKernel<Q4_0x16Halves>;
  if (weight == kQ8_0x16Type) return &kKernel<Q8_0x16Halves>;
  return nullptr;
}

}  // namespace lowbit
