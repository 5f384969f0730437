#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace lowbit {

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> recent, float penalty) {
  if (penalty == 1.0f) return;
  const std::unordered_set<int32_t> distinct(recent.begin(), recent.end());
  for (int32_t id : distinct) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
    float& logit = logits[static_cast<size_t>(id)];
    logit = logit > 0.0f ? logit / penalty : logit * penalty;
  }
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

std::vector<Candidate> sorted_candidates(std::span<const float> logits) {
  std::vector<Candidate> candidates;
  candidates.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) candidates.push_back({static_cast<int32_t>(i), logits[i]});
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; });
  return candidates;
}

void keep_top_k(std::vector<Candidate>& candidates, int32_t k) {
  if (k > 0 && static_cast<size_t>(k) < candidates.size()) candidates.resize(static_cast<size_t>(k));
}

void softmax_candidates(std::vector<Candidate>& candidates, float temperature) {
  if (candidates.empty()) return;
  const float max_logit = candidates.front().logit;
  double sum = 0.0;
  for (Candidate& c : candidates) {
    c.prob = std::exp((c.logit - max_logit) / temperature);
    sum += c.prob;
  }
  for (Candidate& c : candidates) c.prob = static_cast<float>(c.prob / sum);
}

void keep_top_p(std::vector<Candidate>& candidates, float p) {
  if (p >= 1.0f) return;
  double mass = 0.0;
  size_t keep = 0;
  while (keep < candidates.size()) {
    mass += candidates[keep++].prob;
    if (mass >= p) break;
  }
  candidates.resize(std::max<size_t>(keep, 1));
}

void keep_min_p(std::vector<Candidate>& candidates, float min_p) {
  if (min_p <= 0.0f || candidates.empty()) return;
  const float threshold = min_p * candidates.front().prob;
  size_t keep = 1;
  while (keep < candidates.size() && candidates[keep].prob >= threshold) ++keep;
  candidates.resize(keep);
}

Sampler::Sampler(const SamplerConfig& config) : config_(config), rng_(config.seed) {}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  std::vector<float> adjusted(logits.begin(), logits.end());
  if (config_.repeat_last_n != 0) {
    const size_t window = config_.repeat_last_n < 0 ? history.size()
                                                    : std::min(history.size(), static_cast<size_t>(config_.repeat_last_n));
    apply_repetition_penalty(adjusted, history.last(window), config_.repeat_penalty);
  }
  if (config_.temperature <= 0.0f) return argmax(adjusted);

  std::vector<Candidate> candidates = sorted_candidates(adjusted);
  keep_top_k(candidates, config_.top_k);
  softmax_candidates(candidates, 1.0f);
  keep_top_p(candidates, config_.top_p);
  keep_min_p(candidates, config_.min_p);
  softmax_candidates(candidates, config_.temperature);

  const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  double cumulative = 0.0;
  for (const Candidate& c : candidates) {
    cumulative += c.prob;
    if (draw < cumulative) return c.id;
  }
  return candidates.back().id;  // rounding left the total a hair under the draw
}

}  // namespace lowbit
