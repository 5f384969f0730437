#include "quant/fp8_quant.h"

#include <algorithm>
#include <cmath>

#include "core/fp8.h"
#include "quant/quant_input.h"

namespace lowbit {
namespace {

struct Fp8Format {
  uint8_t (*encode)(float, bool saturate);
  float (*decode)(uint8_t);
  float max;
};

Fp8Format fp8_format(Fp8Spec::Format format) {
  if (format == Fp8Spec::Format::E4M3) return {fp32_to_fp8_e4m3, fp8_e4m3_to_fp32, kFp8E4m3Max};
  return {fp32_to_fp8_e5m2, fp8_e5m2_to_fp32, kFp8E5m2Max};
}

}  // namespace

Fp8Quantized quantize_fp8(std::string_view tensor_name, std::span<const float> values, int64_t rows, int64_t cols,
                          const Fp8Spec& spec) {
  check_quant_input(tensor_name, values, rows, cols);
  const Fp8Format format = fp8_format(spec.format);
  Fp8Quantized q;
  q.format = spec.format;
  q.rows = rows;
  q.cols = cols;
  float absmax = 0;
  for (float x : values) absmax = std::max(absmax, std::abs(x));
  q.scale = absmax / format.max;
  const float inverse = q.scale == 0.0f ? 0.0f : 1.0f / q.scale;
  q.codes.resize(values.size());
  const auto n = static_cast<int64_t>(values.size());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    q.codes[static_cast<size_t>(i)] = format.encode(values[static_cast<size_t>(i)] * inverse, /*saturate=*/true);
  }
  return q;
}

void dequantize_fp8(const Fp8Quantized& q, std::span<float> out) {
  const Fp8Format format = fp8_format(q.format);
  // 256 possible codes: decode each once.
  float table[256];
  for (int code = 0; code < 256; ++code) table[code] = q.scale * format.decode(static_cast<uint8_t>(code));
  for (size_t i = 0; i < q.codes.size(); ++i) out[i] = table[q.codes[i]];
}

std::vector<GroupRange> representable_ranges(const Fp8Quantized& q) {
  const Fp8Format format = fp8_format(q.format);
  const uint8_t max_code = format.encode(format.max, /*saturate=*/true);
  const float below_max = format.decode(static_cast<uint8_t>(max_code - 1));
  const float limit = q.scale * (format.max + 0.5f * (format.max - below_max));
  return {GroupRange{-limit, limit}};
}

}  // namespace lowbit
