#include "quant/quant_input.h"

#include <cmath>

#include "core/error.h"
#include "core/half.h"

namespace lowbit {

void check_quant_input(std::string_view tensor_name, std::span<const float> values, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) throw_error("tensor {}: shape {}x{} has no elements to quantize", tensor_name, rows, cols);
  if (static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols) != values.size()) {
    throw_error("tensor {}: {} values for shape {}x{}", tensor_name, values.size(), rows, cols);
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      const char* what = std::isnan(values[i]) ? "NaN" : values[i] > 0 ? "+Inf" : "-Inf";
      throw_error("tensor {}: element {} (row {}, column {}) is {}; cannot quantize non-finite values", tensor_name,
                  i, static_cast<int64_t>(i) / cols, static_cast<int64_t>(i) % cols, what);
    }
  }
}

int64_t resolve_group_size(const Grouping& grouping, std::string_view tensor_name, int64_t rows, int64_t cols) {
  switch (grouping.kind) {
    case Grouping::Kind::Tensor: return rows * cols;
    case Grouping::Kind::Channel: return cols;
    case Grouping::Kind::Group: break;
  }
  if (grouping.group_size <= 0 || cols % grouping.group_size != 0) {
    throw_error("tensor {}: group size {} does not divide its row length {}; use a divisor of {} or per-channel",
                tensor_name, grouping.group_size, cols, cols);
  }
  return grouping.group_size;
}

float round_scale_to_storage(float scale, ScalePrecision precision) {
  if (precision == ScalePrecision::F32) return scale;
  const float stored = fp16_to_fp32(fp32_to_fp16(scale));
  constexpr uint16_t kSmallestSubnormal = 0x0001;
  if (stored == 0.0f && scale > 0.0f) return fp16_to_fp32(kSmallestSubnormal);
  return stored;
}

}  // namespace lowbit
