// The reference lb_w8_row dot products: plain integer sums per block, the SIMD levels are checked
// against these.
#include "formats/lowbit_w8_row.h"
#include "kernels/w8a8_kernels.h"

namespace lowbit {
namespace {

float dot_w8a8(int64_t n, const void* weight_row, const int8_t* a) {
  const auto* w = static_cast<const BlockW8Row*>(weight_row);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kW8RowBlock; ++b) {
    int32_t block_sum = 0;
    for (int64_t j = 0; j < kW8RowBlock; ++j) block_sum += int32_t{w[b].qs[j]} * a[b * kW8RowBlock + j];
    sum += w[b].d * static_cast<float>(block_sum);
  }
  return sum;
}

void dot_w8a8_token_group(int64_t n, const void* weight_row, const int8_t* a, size_t stride, float* out) {
  for (int t = 0; t < kTokenGroup; ++t) out[t] = dot_w8a8(n, weight_row, a + t * stride);
}

float dot_w8_f32(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const BlockW8Row*>(weight_row);
  const auto* x = static_cast<const float*>(activation_row);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kW8RowBlock; ++b) {
    float block_sum = 0.0f;
    for (int64_t j = 0; j < kW8RowBlock; ++j) block_sum += static_cast<float>(w[b].qs[j]) * x[b * kW8RowBlock + j];
    sum += w[b].d * block_sum;
  }
  return sum;
}

constexpr W8A8Kernel kW8A8{dot_w8a8, dot_w8a8_token_group};
constexpr DotKernel kW8F32{TensorType::F32, nullptr, dot_w8_f32, nullptr};

}  // namespace

const W8A8Kernel& w8a8_kernel_scalar() { return kW8A8; }
const DotKernel& w8_row_f32_kernel_scalar() { return kW8F32; }

}  // namespace lowbit
