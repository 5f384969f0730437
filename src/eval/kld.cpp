#include "eval/kld.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace lowbit {

void KldAccumulator::add(std::span<const float> base, std::span<const float> model, std::span<const int32_t> targets) {
  const size_t n = targets.size();
  if (base.size() != n * static_cast<size_t>(vocab_) || model.size() != base.size()) {
    throw_error("KL divergence: {} and {} log-probabilities for {} positions of vocabulary {}", base.size(), model.size(),
                n, vocab_);
  }
  for (size_t i = 0; i < n; ++i) {
    const std::span<const float> p = base.subspan(i * vocab_, vocab_);
    const std::span<const float> q = model.subspan(i * vocab_, vocab_);
    double kld = 0.0;
    for (int64_t v = 0; v < vocab_; ++v) kld += std::exp(static_cast<double>(p[v])) * (static_cast<double>(p[v]) - q[v]);
    kld_.push_back(kld);
    if (std::max_element(p.begin(), p.end()) - p.begin() == std::max_element(q.begin(), q.end()) - q.begin()) {
      ++agreements_;
    }
    base_nll_.add(-static_cast<double>(p[targets[i]]));
    model_nll_.add(-static_cast<double>(q[targets[i]]));
  }
}

KldResult KldAccumulator::result() const {
  KldResult r;
  r.positions = static_cast<int64_t>(kld_.size());
  if (kld_.empty()) return r;
  std::vector<double> sorted = kld_;
  std::sort(sorted.begin(), sorted.end());
  const auto quantile = [&](double q) {
    return sorted[static_cast<size_t>(std::llround(q * static_cast<double>(sorted.size() - 1)))];
  };
  double sum = 0.0;
  for (double v : sorted) sum += v;
  r.mean = sum / static_cast<double>(sorted.size());
  r.median = quantile(0.5);
  r.p99 = quantile(0.99);
  r.max = sorted.back();
  r.top1_agreement = static_cast<double>(agreements_) / static_cast<double>(sorted.size());
  r.base_ppl = base_nll_.perplexity();
  r.base_ppl_error = base_nll_.perplexity_error();
  r.ppl = model_nll_.perplexity();
  r.ppl_error = model_nll_.perplexity_error();
  return r;
}

}  // namespace lowbit
