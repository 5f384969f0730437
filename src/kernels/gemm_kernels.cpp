#include "kernels/gemm_kernels.h"

#include <algorithm>

#include "core/half.h"
#include "formats/ggml_q8_0.h"
#include "formats/ggml_q8_1.h"
#include "formats/ggml_q8_k.h"

namespace lowbit {
namespace {

// One token's row: codes, scales and group sums of its `cols` columns (the padding stays zero).
void prepare_q8_0(const BlockQ8_0* blocks, int64_t cols, int8_t* codes, float* scales, float* group_sums) {
  for (int64_t b = 0; b < cols / 32; ++b) {
    const float d = fp16_to_fp32(blocks[b].d);
    std::copy_n(blocks[b].qs, 32, codes + 32 * b);
    std::fill_n(scales + 8 * b, 8, d);
    for (int g = 0; g < 2; ++g) {
      int32_t sum = 0;
      for (int j = 0; j < 16; ++j) sum += blocks[b].qs[16 * g + j];
      group_sums[2 * b + g] = d * static_cast<float>(sum);
    }
  }
}

// Q8_1 stores d * sum per 32 codes: the first group of each block carries it whole, so that weight
// minimums multiply exactly what the one-token kernels multiply.
void prepare_q8_1(const BlockQ8_1* blocks, int64_t cols, int8_t* codes, float* scales, float* group_sums) {
  for (int64_t b = 0; b < cols / 32; ++b) {
    std::copy_n(blocks[b].qs, 32, codes + 32 * b);
    std::fill_n(scales + 8 * b, 8, fp16_to_fp32(blocks[b].d));
    group_sums[2 * b] = fp16_to_fp32(blocks[b].s);
    group_sums[2 * b + 1] = 0.0f;
  }
}

void prepare_q8_k(const BlockQ8_K* blocks, int64_t cols, int8_t* codes, float* scales, float* group_sums) {
  for (int64_t b = 0; b < cols / 256; ++b) {
    std::copy_n(blocks[b].qs, 256, codes + 256 * b);
    std::fill_n(scales + 64 * b, 64, blocks[b].d);
    for (int g = 0; g < 16; ++g) group_sums[16 * b + g] = blocks[b].d * static_cast<float>(blocks[b].bsums[g]);
  }
}

}  // namespace

void prepare_gemm_activations(TensorType activation_type, const uint8_t* quantized, size_t row_bytes,
                              int64_t n_tokens, int64_t cols, GemmActivations& out) {
  out.tokens = (n_tokens + kGemmTokenBlock - 1) / kGemmTokenBlock * kGemmTokenBlock;
  out.padded_cols = (cols + kGemmColumnStep - 1) / kGemmColumnStep * kGemmColumnStep;
  const int64_t k = out.padded_cols;
  out.codes.assign(static_cast<size_t>(out.tokens * k), 0);
  out.scales.assign(static_cast<size_t>(out.tokens * k / 4), 0.0f);
  out.group_sums.assign(static_cast<size_t>(out.tokens * k / 16), 0.0f);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const uint8_t* row = quantized + static_cast<size_t>(t) * row_bytes;
    int8_t* codes = out.codes.data() + t * k;
    float* scales = out.scales.data() + t * k / 4;
    float* group_sums = out.group_sums.data() + t * k / 16;
    switch (activation_type) {
      case TensorType::Q8_0:
        prepare_q8_0(reinterpret_cast<const BlockQ8_0*>(row), cols, codes, scales, group_sums);
        break;
      case TensorType::Q8_1:
        prepare_q8_1(reinterpret_cast<const BlockQ8_1*>(row), cols, codes, scales, group_sums);
        break;
      case TensorType::Q8_K:
        prepare_q8_k(reinterpret_cast<const BlockQ8_K*>(row), cols, codes, scales, group_sums);
        break;
      default: break;  // no GEMM kernel takes another activation type
    }
  }
}

const GemmKernel* find_gemm_kernel(TensorType weight, CpuLevel level) {
  switch (level) {
    case CpuLevel::scalar: return nullptr;
    case CpuLevel::avx2: return find_gemm_kernel_avx2(weight);
    case CpuLevel::avx512: return find_gemm_kernel_avx512(weight);
  }
  return nullptr;
}

}  // namespace lowbit
