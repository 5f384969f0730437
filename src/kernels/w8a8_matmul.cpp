#include "kernels/w8a8_matmul.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/lowbit_w8_row.h"
#include "kernels/matmul.h"
#include "kernels/rows.h"
#include "kernels/token_tiles.h"
#include "kernels/w8a8_kernels.h"

namespace lowbit {
namespace {

// y[t][r] = scales[t] * (row r . codes[t]); codes [n_tokens][cols].
void multiply_codes(const TensorView& weight, const W8A8Kernel& kernel, const int8_t* codes, const float* scales,
                    int64_t n_tokens, float* y) {
  const int64_t rows = weight.rows(), cols = weight.cols();
  const size_t row_bytes = static_cast<size_t>(cols / kW8RowBlock) * sizeof(BlockW8Row);
  const auto* base = static_cast<const uint8_t*>(weight.data);
  const auto stride = static_cast<size_t>(cols);
  const auto token_codes = [&](int64_t t) { return codes + static_cast<size_t>(t) * stride; };
  const auto weight_row = [&](int64_t r) { return base + static_cast<size_t>(r) * row_bytes; };
  multiply_token_tiles(
      rows, cols, n_tokens, true,
      [&](int64_t r, int64_t t, float* out) {
        kernel.dot_token_group(cols, weight_row(r), token_codes(t), stride, out);
        for (int k = 0; k < kTokenGroup; ++k) out[k] *= scales[t + k];
      },
      [&](int64_t r, int64_t t) { return scales[t] * kernel.dot(cols, weight_row(r), token_codes(t)); }, y);
}

}  // namespace

ActQuant parse_act_quant(std::string_view text) {
  if (text == "static") return ActQuant::kStatic;
  if (text == "dynamic") return ActQuant::kDynamic;
  if (text == "none") return ActQuant::kNone;
  throw_error("activation quantization '{}': expected static, dynamic or none", text);
}

const char* act_quant_name(ActQuant mode) {
  switch (mode) {
    case ActQuant::kStatic: return "static";
    case ActQuant::kDynamic: return "dynamic";
    case ActQuant::kNone: break;
  }
  return "none";
}

void quantize_activation_int8(const float* x, int64_t n, float scale, int8_t* codes) {
  const float inverse = scale > 0.0f ? 1.0f / scale : 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float code = std::isfinite(x[i]) ? std::nearbyint(x[i] * inverse) : 0.0f;
    codes[i] = static_cast<int8_t>(std::clamp(code, -127.0f, 127.0f));
  }
}

float dynamic_activation_scale(const float* x, int64_t n) {
  float absmax = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isfinite(x[i])) absmax = std::max(absmax, std::abs(x[i]));
  }
  return absmax / 127.0f;
}

void matmul_w8_row(const TensorView& weight, const float* x, int64_t n_tokens, float* y, ActQuant mode,
                   float static_scale) {
  if (weight.type != kW8RowType) {
    throw_error("tensor {}: W8A8 product needs an lb_w8_row weight, not {}", weight.name, type_traits(weight.type).name);
  }
  readable_row_traits(weight);
  if (mode == ActQuant::kStatic && !(std::isfinite(static_scale) && static_scale > 0.0f)) {
    throw_error("tensor {}: static activation scale {} is not a positive finite number", weight.name, static_scale);
  }
  if (n_tokens <= 0) return;
  if (mode == ActQuant::kNone) {
    matmul(weight, x, n_tokens, y);
    return;
  }
  const int64_t cols = weight.cols();
  std::vector<int8_t> codes(static_cast<size_t>(n_tokens * cols));  // [n_tokens][cols]
  std::vector<float> scales(static_cast<size_t>(n_tokens));          // [n_tokens]
  parallel_ranges(n_tokens, threads_for_work(n_tokens * cols * 64), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* token = x + t * cols;
      scales[t] = mode == ActQuant::kStatic ? static_scale : dynamic_activation_scale(token, cols);
      quantize_activation_int8(token, cols, scales[t], codes.data() + t * cols);
    }
  });
  multiply_codes(weight, find_w8a8_kernel(active_cpu_level()), codes.data(), scales.data(), n_tokens, y);
}

}  // namespace lowbit
