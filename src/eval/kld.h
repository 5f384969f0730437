// How far a model's next-token distributions are from a base model's on the same scored positions:
// KL(base || model) per position, top-1 agreement, and both perplexities.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eval/nll_stats.h"

namespace lowbit {

struct KldResult {
  int64_t positions = 0;
  double mean = 0.0, median = 0.0, p99 = 0.0, max = 0.0;  // KL(base || model) in nats
  double top1_agreement = 0.0;  // share of positions where both models' most likely token is the same
  double base_ppl = 0.0, base_ppl_error = 0.0;
  double ppl = 0.0, ppl_error = 0.0;
  double delta_ppl() const { return ppl - base_ppl; }
};

class KldAccumulator {
 public:
  explicit KldAccumulator(int64_t vocab_size) : vocab_(vocab_size) {}

  // base and model: log-probabilities [n][vocab] of the same n positions; targets [n]: the actual next tokens.
  void add(std::span<const float> base, std::span<const float> model, std::span<const int32_t> targets);

  // Quantiles are nearest-rank on the sorted per-position values.
  KldResult result() const;

 private:
  int64_t vocab_;
  std::vector<double> kld_;  // per position
  int64_t agreements_ = 0;
  NllStats base_nll_, model_nll_;
};

}  // namespace lowbit
