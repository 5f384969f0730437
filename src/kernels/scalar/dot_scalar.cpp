// The reference dot products: plain integer arithmetic on the packed blocks, with the same activation
// quantization as the SIMD levels, so those can be checked against these on any data.
#include <cstdint>

#include "core/half.h"
#include "formats/bitpack.h"
#include "formats/ggml_block_common.h"
#include "formats/ggml_k_layout.h"
#include "formats/ggml_q2_k.h"
#include "formats/ggml_q3_k.h"
#include "formats/ggml_q4_0.h"
#include "formats/ggml_q4_1.h"
#include "formats/ggml_q4_k.h"
#include "formats/ggml_q5_0.h"
#include "formats/ggml_q5_1.h"
#include "formats/ggml_q5_k.h"
#include "formats/ggml_q6_k.h"
#include "formats/ggml_q8_0.h"
#include "formats/ggml_q8_1.h"
#include "formats/ggml_q8_k.h"
#include "formats/lowbit_block_common.h"
#include "formats/lowbit_int.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "kernels/dot_kernels.h"
#include "kernels/lowbit_int_kernels.h"

namespace lowbit {
namespace {

// The legacy 32-element formats as 32 integer codes: q_j * d (+ m for the _1 formats).
void codes_q8_0(const BlockQ8_0& b, int* q) {
  for (int j = 0; j < 32; ++j) q[j] = b.qs[j];
}
void codes_q4_0(const BlockQ4_0& b, int* q) {
  for (int j = 0; j < 32; ++j) q[j] = (j < 16 ? (b.qs[j] & 15) : (b.qs[j - 16] >> 4)) - 8;
}
void codes_q5_0(const BlockQ5_0& b, int* q) {
  for (int j = 0; j < 32; ++j) q[j] = unpack_five_bit_quant(b.qh, b.qs, j) - 16;
}
void codes_q4_1(const BlockQ4_1& b, int* q) {
  for (int j = 0; j < 32; ++j) q[j] = j < 16 ? (b.qs[j] & 15) : (b.qs[j - 16] >> 4);
}
void codes_q5_1(const BlockQ5_1& b, int* q) {
  for (int j = 0; j < 32; ++j) q[j] = unpack_five_bit_quant(b.qh, b.qs, j);
}

// Weight blocks without a minimum times Q8_0.
template <typename Block, void (*codes)(const Block&, int*)>
float dot_legacy_q8_0(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const Block*>(weight_row);
  const auto* a = static_cast<const BlockQ8_0*>(activation_row);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / 32; ++b) {
    int q[32];
    codes(w[b], q);
    int32_t block_sum = 0;
    for (int j = 0; j < 32; ++j) block_sum += q[j] * a[b].qs[j];
    sum += fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d) * static_cast<float>(block_sum);
  }
  return sum;
}

// Weight blocks with a minimum m times Q8_1: sum (d q + m) a = d da (q . qa) + m * (da sum qa), the
// last factor being Q8_1's stored s.
template <typename Block, void (*codes)(const Block&, int*)>
float dot_legacy_q8_1(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const Block*>(weight_row);
  const auto* a = static_cast<const BlockQ8_1*>(activation_row);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / 32; ++b) {
    int q[32];
    codes(w[b], q);
    int32_t block_sum = 0;
    for (int j = 0; j < 32; ++j) block_sum += q[j] * a[b].qs[j];
    sum += fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d) * static_cast<float>(block_sum) +
           fp16_to_fp32(w[b].m) * fp16_to_fp32(a[b].s);
  }
  return sum;
}

// Q4_K's and Q5_K's code of element e.
int code_of(const BlockQ4_K& b, int e) { return (b.qs[nibble_byte(e)] >> nibble_shift(e)) & 15; }
int code_of(const BlockQ5_K& b, int e) {
  return ((b.qs[nibble_byte(e)] >> nibble_shift(e)) & 15) | (((b.qh[high_bit_byte(e)] >> high_bit_shift(e)) & 1) << 4);
}

// Per super-block: d * sum_s scale_s * (q . a)_s - dmin * sum_s min_s * (sum of a over s).
template <typename Block>
float dot_q4_5_k_q8_k(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const Block*>(weight_row);
  const auto* a = static_cast<const BlockQ8_K*>(activation_row);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / 256; ++b) {
    int32_t scaled = 0, mins = 0;
    for (int s = 0; s < 8; ++s) {
      const ScaleMinCodes codes = unpack_scale_min_6bit(w[b].scales, s);
      int32_t sub_sum = 0;
      for (int e = 32 * s; e < 32 * s + 32; ++e) sub_sum += code_of(w[b], e) * a[b].qs[e];
      scaled += codes.scale * sub_sum;
      mins += codes.min * (a[b].bsums[2 * s] + a[b].bsums[2 * s + 1]);
    }
    sum += a[b].d * (fp16_to_fp32(w[b].d) * static_cast<float>(scaled) -
                     fp16_to_fp32(w[b].dmin) * static_cast<float>(mins));
  }
  return sum;
}

// Element e's 6-bit code, placed as described in ggml_q6_k.h.
int q6_k_code(const BlockQ6_K& block, int e) {
  const int half = e / 128, k = (e % 128) / 32, l = e % 32;
  const int low = (block.ql[64 * half + l + 32 * (k % 2)] >> (4 * (k / 2))) & 15;
  const int high = (block.qh[32 * half + l] >> (2 * k)) & 3;
  return low | (high << 4);
}

float dot_q6_k_q8_k(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const BlockQ6_K*>(weight_row);
  const auto* a = static_cast<const BlockQ8_K*>(activation_row);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / 256; ++b) {
    int32_t scaled = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t sub_sum = 0;
      for (int e = 16 * s; e < 16 * s + 16; ++e) sub_sum += (q6_k_code(w[b], e) - 32) * a[b].qs[e];
      scaled += w[b].scales[s] * sub_sum;
    }
    sum += a[b].d * fp16_to_fp32(w[b].d) * static_cast<float>(scaled);
  }
  return sum;
}

// Q3_K's scale code of sub-block s (value + 32 in 6 bits; layout in ggml_q3_k.h).
int q3_k_scale(const BlockQ3_K& block, int s) {
  const int low = s < 8 ? (block.scales[s] & 15) : (block.scales[s - 8] >> 4);
  const int high = (block.scales[8 + s % 4] >> (2 * (s / 4))) & 3;
  return (low | (high << 4)) - 32;
}

float dot_q3_k_q8_k(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const BlockQ3_K*>(weight_row);
  const auto* a = static_cast<const BlockQ8_K*>(activation_row);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / 256; ++b) {
    int32_t scaled = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t sub_sum = 0;
      for (int e = 16 * s; e < 16 * s + 16; ++e) {
        const int low = (w[b].qs[crumb_byte(e)] >> crumb_shift(e)) & 3;
        const int high = (w[b].hmask[high_bit_byte(e)] >> high_bit_shift(e)) & 1;
        sub_sum += (low + 4 * high - 4) * a[b].qs[e];
      }
      scaled += q3_k_scale(w[b], s) * sub_sum;
    }
    sum += a[b].d * fp16_to_fp32(w[b].d) * static_cast<float>(scaled);
  }
  return sum;
}

float dot_q2_k_q8_k(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const BlockQ2_K*>(weight_row);
  const auto* a = static_cast<const BlockQ8_K*>(activation_row);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / 256; ++b) {
    int32_t scaled = 0, mins = 0;
    for (int s = 0; s < 16; ++s) {
      int32_t sub_sum = 0;
      for (int e = 16 * s; e < 16 * s + 16; ++e) {
        sub_sum += ((w[b].qs[crumb_byte(e)] >> crumb_shift(e)) & 3) * a[b].qs[e];
      }
      scaled += (w[b].scales[s] & 15) * sub_sum;
      mins += (w[b].scales[s] >> 4) * a[b].bsums[s];
    }
    sum += a[b].d * (fp16_to_fp32(w[b].d) * static_cast<float>(scaled) -
                     fp16_to_fp32(w[b].dmin) * static_cast<float>(mins));
  }
  return sum;
}

// lowbit's integer formats times Q8_1. A block's elements are S * (u - zu), u its unsigned codes, so the
// block adds S * sum over its 32-element groups g of (d_g * (u . a)_g - zu * s_g), each group meeting
// one Q8_1 block (scale d_g, stored s_g = d_g * sum of its quants).
template <LowbitIntFormat F>
float dot_lowbit_int_q8_1(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* block = static_cast<const uint8_t*>(weight_row);
  const auto* a = static_cast<const BlockQ8_1*>(activation_row);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / F.group; ++b, block += lowbit_int_block_bytes(F)) {
    uint8_t u[F.group];
    unpack_bits({block + lowbit_int_codes_offset(F), static_cast<size_t>(F.group * F.bits / 8)}, F.bits, u);
    const int zu = lowbit_int_zero_code(F, block);
    float block_sum = 0.0f;
    for (int64_t g = 0; g < F.group / 32; ++g, ++a) {
      int32_t products = 0;
      for (int j = 0; j < 32; ++j) products += u[32 * g + j] * a->qs[j];
      block_sum += fp16_to_fp32(a->d) * static_cast<float>(products) - static_cast<float>(zu) * fp16_to_fp32(a->s);
    }
    sum += load_f16(block) * block_sum;
  }
  return sum;
}

// An interleaved layout (formats/layout_conversion.h) times its source format's activations: each
// 512-element block back in the source layout (kSourceBlocks blocks), then the source format's sums.
// An activation block covers kActivationElements.
template <typename Layout, typename Source, int kSourceBlocks, void (*to_source)(const void*, void*, int64_t),
          float (*source_dot)(int64_t, const void*, const void*), typename Activation, int kActivationElements>
float dot_through_source(int64_t n, const void* weight_row, const void* activation_row) {
  constexpr int64_t kElements = 512;
  const auto* w = static_cast<const Layout*>(weight_row);
  const auto* a = static_cast<const Activation*>(activation_row);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kElements; ++b) {
    Source blocks[kSourceBlocks];
    to_source(&w[b], blocks, kElements);
    sum += source_dot(kElements, blocks, a + b * (kElements / kActivationElements));
  }
  return sum;
}

float dot_f16_f32(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const uint16_t*>(weight_row);
  const auto* a = static_cast<const float*>(activation_row);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += fp16_to_fp32(w[i]) * a[i];
  return sum;
}

float dot_bf16_f32(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const uint16_t*>(weight_row);
  const auto* a = static_cast<const float*>(activation_row);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += bf16_to_fp32(w[i]) * a[i];
  return sum;
}

constexpr DotKernel kQ8_0{TensorType::Q8_0, quantize_row_q8_0_ref, dot_legacy_q8_0<BlockQ8_0, codes_q8_0>, nullptr};
constexpr DotKernel kQ4_0{TensorType::Q8_0, quantize_row_q8_0_ref, dot_legacy_q8_0<BlockQ4_0, codes_q4_0>, nullptr};
constexpr DotKernel kQ4_0x16{
    TensorType::Q8_0, quantize_row_q8_0_ref,
    dot_through_source<BlockQ4_0x16, BlockQ4_0, 16, q4_0x16_to_q4_0, dot_legacy_q8_0<BlockQ4_0, codes_q4_0>, BlockQ8_0, 32>,
    nullptr};
constexpr DotKernel kQ8_0x16{
    TensorType::Q8_0, quantize_row_q8_0_ref,
    dot_through_source<BlockQ8_0x16, BlockQ8_0, 16, q8_0x16_to_q8_0, dot_legacy_q8_0<BlockQ8_0, codes_q8_0>, BlockQ8_0, 32>,
    nullptr};
constexpr DotKernel kQ4_Kx2{
    TensorType::Q8_K, quantize_row_q8_k,
    dot_through_source<BlockQ4_Kx2, BlockQ4_K, 2, q4_kx2_to_q4_k, dot_q4_5_k_q8_k<BlockQ4_K>, BlockQ8_K, 256>, nullptr};
constexpr DotKernel kQ5_0{TensorType::Q8_0, quantize_row_q8_0_ref, dot_legacy_q8_0<BlockQ5_0, codes_q5_0>, nullptr};
constexpr DotKernel kQ4_1{TensorType::Q8_1, quantize_row_q8_1_ref, dot_legacy_q8_1<BlockQ4_1, codes_q4_1>, nullptr};
constexpr DotKernel kQ5_1{TensorType::Q8_1, quantize_row_q8_1_ref, dot_legacy_q8_1<BlockQ5_1, codes_q5_1>, nullptr};
constexpr DotKernel kQ2_K{TensorType::Q8_K, quantize_row_q8_k, dot_q2_k_q8_k, nullptr};
constexpr DotKernel kQ3_K{TensorType::Q8_K, quantize_row_q8_k, dot_q3_k_q8_k, nullptr};
constexpr DotKernel kQ4_K{TensorType::Q8_K, quantize_row_q8_k, dot_q4_5_k_q8_k<BlockQ4_K>, nullptr};
constexpr DotKernel kQ5_K{TensorType::Q8_K, quantize_row_q8_k, dot_q4_5_k_q8_k<BlockQ5_K>, nullptr};
constexpr DotKernel kQ6_K{TensorType::Q8_K, quantize_row_q8_k, dot_q6_k_q8_k, nullptr};
template <LowbitIntFormat F>
constexpr DotKernel kLowbitInt{TensorType::Q8_1, quantize_row_q8_1_ref, dot_lowbit_int_q8_1<F>, nullptr};
constexpr DotKernel kF16{TensorType::F32, nullptr, dot_f16_f32, nullptr};
constexpr DotKernel kBF16{TensorType::F32, nullptr, dot_bf16_f32, nullptr};

}  // namespace

const DotKernel* find_dot_kernel_scalar(TensorType weight) {
  if (weight == kQ4_0x16Type) return &kQ4_0x16;
  if (weight == kQ4_Kx2Type) return &kQ4_Kx2;
  if (weight == kQ8_0x16Type) return &kQ8_0x16;
  switch (weight) {
    case TensorType::Q8_0: return &kQ8_0;
    case TensorType::Q4_0: return &kQ4_0;
    case TensorType::Q5_0: return &kQ5_0;
    case TensorType::Q4_1: return &kQ4_1;
    case TensorType::Q5_1: return &kQ5_1;
    case TensorType::Q2_K: return &kQ2_K;
    case TensorType::Q3_K: return &kQ3_K;
    case TensorType::Q4_K: return &kQ4_K;
    case TensorType::Q5_K: return &kQ5_K;
    case TensorType::Q6_K: return &kQ6_K;
    case TensorType::F16: return &kF16;
    case TensorType::BF16: return &kBF16;
    default:
      return find_lowbit_int_kernel(weight, []<LowbitIntFormat F>() { return &kLowbitInt<F>; });
  }
}

}  // namespace lowbit
