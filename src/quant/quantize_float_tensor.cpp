#include "quant/quantize_float_tensor.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace lowbit {
namespace {

// Below this many elements one thread is faster than waking the others.
constexpr int64_t kParallelElements = int64_t{1} << 16;

void quantize_rows(const float* values, int64_t rows, int64_t cols, const TypeTraits& target, const std::vector<float>& importance,
                   uint8_t* dst) {
  const size_t row_bytes = target.row_bytes(cols);
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    if (importance.empty()) {
      target.from_float(values + r * cols, dst + r * row_bytes, cols);
    } else {
      target.from_float_weighted(values + r * cols, importance.data(), dst + r * row_bytes, cols);
    }
  }
}

ErrorSums measure(const float* values, int64_t rows, int64_t cols, const TypeTraits& target, const uint8_t* quantized) {
  ErrorSums total;
  if (target.to_float == nullptr) return total;
  const size_t row_bytes = target.row_bytes(cols);
  std::vector<ErrorSums> row_sums(static_cast<size_t>(rows));  // [rows]
#pragma omp parallel if (rows * cols >= kParallelElements)
  {
    std::vector<float> reconstructed(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      target.to_float(quantized + r * row_bytes, reconstructed.data(), cols);
      ErrorSums& sums = row_sums[r];
      for (int64_t i = 0; i < cols; ++i) {
        const double x = values[r * cols + i];
        const double error = static_cast<double>(reconstructed[i]) - x;
        sums.source_sq += x * x;
        sums.error_sq += error * error;
        sums.max_abs = std::max(sums.max_abs, std::abs(error));
      }
      sums.elements = static_cast<double>(cols);
    }
  }
  // Summed in row order so the figures do not depend on the thread count.
  for (const ErrorSums& sums : row_sums) total.add(sums);
  return total;
}

}  // namespace

std::vector<float> tensor_to_float(const TensorJob& job) {
  const TensorView& src = *job.source;
  const TypeTraits& traits = type_traits(src.type);
  if (traits.to_float == nullptr) throw_error("tensor {}: lowbit cannot read {} values", src.name, traits.name);
  const int64_t rows = src.rows(), cols = src.cols();
  const size_t row_bytes = traits.row_bytes(cols);
  std::vector<float> values(static_cast<size_t>(rows * cols));  // [rows][cols]
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t source_row = job.row_order.empty() ? r : job.row_order[r];
    traits.to_float(static_cast<const uint8_t*>(src.data) + source_row * row_bytes, values.data() + r * cols, cols);
  }
  return values;
}

QuantizedBytes quantize_float_tensor(const std::string& name, std::span<const float> values, int64_t rows, int64_t cols,
                                     const TypeTraits& target, const SiteStats* site, TensorQuantizer quantizer,
                                     const MethodOptions& options) {
  if (site != nullptr && site->channels != cols) {
    throw_error("tensor {}: rows of {} elements, but the statistics of its input {} have {} channels", name, cols, site->name, site->channels);
  }
  QuantizedBytes out;
  out.bytes.resize(static_cast<size_t>(rows) * target.row_bytes(cols));
  if (target.is_quantized && quantizer != nullptr) {
    quantizer(values.data(), rows, cols, target, site, options, out.bytes.data());
  } else {
    std::vector<float> importance;  // [cols]
    if (site != nullptr && target.from_float_weighted != nullptr) importance.assign(site->mean_square.begin(), site->mean_square.end());
    quantize_rows(values.data(), rows, cols, target, importance, out.bytes.data());
  }
  out.error = measure(values.data(), rows, cols, target, out.bytes.data());
  return out;
}

}  // namespace lowbit
