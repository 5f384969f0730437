#include "quant/clipping_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>

#include "core/error.h"

namespace lowbit {
namespace {

void check_bits(int bits, const char* search) {
  if (bits < 2 || bits > 16) throw_error("{}: bit width must be in [2, 16], got {}", search, bits);
}

// KL(P || Q) for the candidate keeping the first kept_bins bins (see kl_divergence_threshold);
// +infinity when Q has no mass where P has some.
double candidate_divergence(std::span<const double> counts, size_t kept_bins, size_t levels, double total,
                            double kept) {
  const double clipped = total - kept;
  auto reference = [&](size_t bin) { return counts[bin] + (bin + 1 == kept_bins ? clipped : 0.0); };
  double divergence = 0;
  for (size_t level = 0; level < levels; ++level) {
    const size_t begin = level * kept_bins / levels;
    const size_t end = (level + 1) * kept_bins / levels;
    double level_count = 0;
    size_t occupied = 0;
    for (size_t bin = begin; bin < end; ++bin) {
      level_count += counts[bin];
      if (reference(bin) > 0) ++occupied;
    }
    if (occupied == 0) continue;
    const double q = level_count / static_cast<double>(occupied) / kept;
    for (size_t bin = begin; bin < end; ++bin) {
      const double p = reference(bin) / total;
      if (p == 0) continue;
      if (q == 0) return std::numeric_limits<double>::infinity();
      divergence += p * std::log(p / q);
    }
  }
  return divergence;
}

double cube(double x) { return x * x * x; }

}  // namespace

double kl_divergence_threshold(const MagnitudeHistogram& histogram, int bits) {
  check_bits(bits, "KL calibration");
  const std::vector<double>& counts = histogram.counts;
  const size_t levels = size_t{1} << (bits - 1);
  const size_t bins = counts.size();
  if (bins <= levels) return histogram.max_magnitude;  // no candidate would clip anything

  std::vector<double> kept_by_bins(bins + 1, 0.0);  // [bins + 1] counts of the first i bins
  std::partial_sum(counts.begin(), counts.end(), kept_by_bins.begin() + 1);
  const double total = kept_by_bins[bins];
  double best_divergence = std::numeric_limits<double>::infinity();
  size_t best_bins = bins;
  for (size_t kept_bins = levels; kept_bins <= bins; ++kept_bins) {
    const double kept = kept_by_bins[kept_bins];
    if (kept == 0) continue;
    const double divergence = candidate_divergence(counts, kept_bins, levels, total, kept);
    if (divergence < best_divergence) {
      best_divergence = divergence;
      best_bins = kept_bins;
    }
  }
  return std::min(static_cast<double>(best_bins) * histogram.bin_width, histogram.max_magnitude);
}

double mean_squared_quantization_error(double low, double high, double step, int max_level) {
  const double top = max_level;
  auto level_of = [&](double x) { return std::min(std::floor(x / step + 0.5), top); };
  if (high <= low) return std::pow(low - level_of(low) * step, 2);
  double integral = 0;  // of (x - level*step)^2 over each piece [a, b] of [low, high] with one level
  double a = low;
  for (double level = level_of(low); a < high; ++level) {
    const double boundary = level < top ? (level + 0.5) * step : high;
    const double b = std::max(a, std::min(high, boundary));
    integral += (cube(b - level * step) - cube(a - level * step)) / 3;
    a = b;
  }
  return integral / (high - low);
}

double mse_optimal_threshold(const MagnitudeHistogram& histogram, int bits) {
  check_bits(bits, "MSE calibration");
  const int max_level = (1 << (bits - 1)) - 1;
  const std::vector<double>& counts = histogram.counts;
  const double width = histogram.bin_width;
  const double max_magnitude = histogram.max_magnitude;
  if (max_magnitude == 0) return 0;
  double best_error = std::numeric_limits<double>::infinity();
  double best_threshold = max_magnitude;
  for (size_t edge = 1; edge <= counts.size(); ++edge) {
    const double threshold = std::min(static_cast<double>(edge) * width, max_magnitude);
    const double step = threshold / max_level;
    double error = 0;
    for (size_t bin = 0; bin < counts.size(); ++bin) {
      if (counts[bin] == 0) continue;
      const double low = static_cast<double>(bin) * width;
      const double high = std::min(low + width, max_magnitude);  // the last bin ends at the largest value
      error += counts[bin] * mean_squared_quantization_error(low, high, step, max_level);
    }
    if (error < best_error) {
      best_error = error;
      best_threshold = threshold;
    }
  }
  return best_threshold;
}

}  // namespace lowbit
