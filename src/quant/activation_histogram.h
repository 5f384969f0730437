// A fixed-size histogram of activation values whose range grows with the data, for calibration
// observers that pick a clipping range from the distribution (percentile, KL, MSE).
//
// The bins lie on a grid aligned to zero: bin k (a signed integer) holds values in [k*w, (k+1)*w).
// When new values fall outside the bins, the width grows by the smallest integer factor m that fits
// them (m = 1: the window only slides) and bin k's count moves to bin floor(k/m), which contains it
// exactly, so re-binning never smears counts. Because zero is a
// bin edge, the histogram of |x| is exact too: magnitude bin j = signed bins j and -j-1.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lowbit {

// Counts of |x|: counts[j] holds values with |x| in [j*bin_width, (j+1)*bin_width). The last bin is
// the one holding max_magnitude (trailing empty bins are dropped).
struct MagnitudeHistogram {
  std::vector<double> counts;  // [bins]
  double bin_width = 0;
  double max_magnitude = 0;
};

class ActivationHistogram {
 public:
  explicit ActivationHistogram(int bins);  // bins >= 3

  // values must be finite (observers check, naming the tensor).
  void add(std::span<const float> values);

  uint64_t total() const { return total_; }
  float min() const { return min_; }  // exact extremes of everything added; 0 while empty
  float max() const { return max_; }
  double bin_width() const { return width_; }
  int64_t first_bin() const { return first_; }  // counts()[i] is grid bin first_bin() + i
  const std::vector<uint64_t>& counts() const { return counts_; }

  MagnitudeHistogram magnitudes() const;

  // The value below which a fraction q (0 <= q <= 1) of the values lie, interpolating linearly inside
  // a bin and clamped to [min, max]: quantile(0) == min, quantile(1) == max.
  float quantile(double q) const;

 private:
  int64_t grid_index(double value) const;
  void start_grid(double low, double high);
  void widen_to(double low, double high);

  std::vector<uint64_t> counts_;  // [bins]
  double width_ = 0;
  int64_t first_ = 0;
  uint64_t total_ = 0;
  float min_ = 0;
  float max_ = 0;
};

}  // namespace lowbit
