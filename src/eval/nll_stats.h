// Running sums of negative log-likelihoods, and the perplexity they give.
#pragma once

#include <cstdint>

namespace lowbit {

class NllStats {
 public:
  void add(double nll) {
    sum_ += nll;
    sum_squares_ += nll * nll;
    ++count_;
  }
  int64_t count() const { return count_; }
  double mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }
  double perplexity() const;
  // llama.cpp's "+/-": PPL * sqrt((mean(nll^2) - mean(nll)^2) / (count - 1)), the delta-method standard
  // error of exp(mean nll). 0 with fewer than two values.
  double perplexity_error() const;

 private:
  double sum_ = 0.0;
  double sum_squares_ = 0.0;
  int64_t count_ = 0;
};

}  // namespace lowbit
