#include "quant/activation_histogram.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace lowbit {

ActivationHistogram::ActivationHistogram(int bins) {
  if (bins < 3) throw_error("activation histogram: needs at least 3 bins, got {}", bins);
  counts_.assign(static_cast<size_t>(bins), 0);
}

// Grid bin of `value`, clamped into the current window: the extremes fit the window in exact
// arithmetic, so the clamp only absorbs floating-point rounding at the window's edges.
int64_t ActivationHistogram::grid_index(double value) const {
  const auto index = static_cast<int64_t>(std::floor(value / width_));
  return std::clamp<int64_t>(index, first_, first_ + static_cast<int64_t>(counts_.size()) - 1);
}

void ActivationHistogram::start_grid(double low, double high) {
  const auto bins = static_cast<double>(counts_.size());
  // Spanning bins-2 widths, [low, high] touches at most bins grid bins wherever zero falls. A single
  // value fits any width; the grid restarts when a second distinct value arrives (add()).
  const double span = high - low;
  width_ = span > 0 ? span / (bins - 2) : (low != 0 ? std::fabs(low) : 1.0);
  first_ = static_cast<int64_t>(std::floor(low / width_));
  std::fill(counts_.begin(), counts_.end(), 0);
}

void ActivationHistogram::widen_to(double low, double high) {
  const auto bins = static_cast<double>(counts_.size());
  auto fits = [&](double width) { return std::floor(high / width) - std::floor(low / width) + 1 <= bins; };
  // The smallest integer factor that fits lies within 2/bins of the span's estimate; past a few thousand
  // the search steps by 1/bins of the factor, which costs less than one bin of resolution.
  double factor = std::max(1.0, std::floor((high - low) / (width_ * bins)));
  while (!fits(width_ * factor)) factor = std::max(factor + 1, std::ceil(factor * (1 + 1 / bins)));

  std::vector<uint64_t> old_counts(counts_.size(), 0);
  old_counts.swap(counts_);
  const int64_t old_first = first_;
  width_ *= factor;
  first_ = static_cast<int64_t>(std::floor(low / width_));
  const int64_t last = first_ + static_cast<int64_t>(counts_.size()) - 1;
  for (size_t i = 0; i < old_counts.size(); ++i) {
    if (old_counts[i] == 0) continue;
    const double old_bin = static_cast<double>(old_first + static_cast<int64_t>(i));
    const int64_t bin = std::clamp(static_cast<int64_t>(std::floor(old_bin / factor)), first_, last);
    counts_[static_cast<size_t>(bin - first_)] += old_counts[i];
  }
}

void ActivationHistogram::add(std::span<const float> values) {
  if (values.empty()) return;
  const auto [low_it, high_it] = std::minmax_element(values.begin(), values.end());
  const double low = std::min<double>(*low_it, total_ ? min_ : *low_it);
  const double high = std::max<double>(*high_it, total_ ? max_ : *high_it);
  if (total_ == 0 || min_ == max_) {
    // Empty, or every value so far is min_: restart the grid on the new extent and put them back.
    const uint64_t repeated = total_;
    start_grid(low, high);
    if (repeated) counts_[static_cast<size_t>(grid_index(min_) - first_)] += repeated;
  } else if (low < min_ || high > max_) {
    widen_to(low, high);
  }
  for (float v : values) ++counts_[static_cast<size_t>(grid_index(v) - first_)];
  total_ += values.size();
  min_ = static_cast<float>(low);
  max_ = static_cast<float>(high);
}

MagnitudeHistogram ActivationHistogram::magnitudes() const {
  MagnitudeHistogram result;
  result.bin_width = width_;
  result.max_magnitude = std::max(std::fabs(static_cast<double>(min_)), std::fabs(static_cast<double>(max_)));
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const int64_t bin = first_ + static_cast<int64_t>(i);
    const auto magnitude_bin = static_cast<size_t>(bin >= 0 ? bin : -bin - 1);
    if (magnitude_bin >= result.counts.size()) result.counts.resize(magnitude_bin + 1, 0.0);
    result.counts[magnitude_bin] += static_cast<double>(counts_[i]);
  }
  return result;
}

float ActivationHistogram::quantile(double q) const {
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total_);
  double below = 0;  // values in the bins before bin i
  for (size_t i = 0; i < counts_.size(); ++i) {
    const auto count = static_cast<double>(counts_[i]);
    if (count == 0) continue;
    if (below + count >= rank) {
      const double left_edge = static_cast<double>(first_ + static_cast<int64_t>(i)) * width_;
      const double value = left_edge + width_ * (rank - below) / count;
      return static_cast<float>(std::clamp(value, static_cast<double>(min_), static_cast<double>(max_)));
    }
    below += count;
  }
  return max_;
}

}  // namespace lowbit
