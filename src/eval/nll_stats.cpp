#include "eval/nll_stats.h"

#include <algorithm>
#include <cmath>

namespace lowbit {

double NllStats::perplexity() const { return std::exp(mean()); }

double NllStats::perplexity_error() const {
  if (count_ < 2) return 0.0;
  const double mean_nll = mean();
  const double variance = std::max(0.0, sum_squares_ / static_cast<double>(count_) - mean_nll * mean_nll);
  return perplexity() * std::sqrt(variance / static_cast<double>(count_ - 1));
}

}  // namespace lowbit
