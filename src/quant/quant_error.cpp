#include "quant/quant_error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lowbit {

QuantError measure_quant_error(std::span<const float> original, std::span<const float> reconstructed,
                               int64_t group_size, std::span<const GroupRange> ranges, double bits_per_weight) {
  const auto groups = static_cast<int64_t>(ranges.size());
  double signal = 0, clip = 0, rounding = 0, max_abs = 0;
#pragma omp parallel for reduction(+ : signal, clip, rounding) reduction(max : max_abs) schedule(static)
  for (int64_t g = 0; g < groups; ++g) {
    const GroupRange range = ranges[static_cast<size_t>(g)];
    for (int64_t i = g * group_size; i < (g + 1) * group_size; ++i) {
      const double x = original[static_cast<size_t>(i)];
      const double error = x - static_cast<double>(reconstructed[static_cast<size_t>(i)]);
      const double squared = error * error;
      signal += x * x;
      if (x < range.lo || x > range.hi) {
        clip += squared;
      } else {
        rounding += squared;
      }
      max_abs = std::max(max_abs, std::abs(error));
    }
  }
  const auto n = static_cast<double>(original.size());
  QuantError result;
  result.bits_per_weight = bits_per_weight;
  result.max_abs_error = max_abs;
  result.clip_mse = clip / n;
  result.rounding_mse = rounding / n;
  result.mse = (clip + rounding) / n;
  result.sqnr_db = result.mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(signal / n / result.mse);
  return result;
}

}  // namespace lowbit
