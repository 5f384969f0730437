// Picking the next token from logits: repetition penalty, then greedy (temperature 0) or
// top-k -> top-p -> min-p -> temperature -> a draw from a seeded std::mt19937, in llama.cpp's default order
// (top-p and min-p see the distribution before temperature).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace lowbit {

struct SamplerConfig {
  float temperature = 0.8f;     // <= 0: greedy (argmax), no randomness
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int32_t repeat_last_n = 64;   // how many recent tokens the penalty covers; 0: off, -1: all of them
  uint32_t seed = 0;
};

// A token still in the running; `prob` is filled by softmax_candidates.
struct Candidate {
  int32_t id;
  float logit;
  float prob = 0.0f;
};

// llama.cpp's repetition penalty: every distinct token of `recent` has its logit divided by `penalty` when
// positive and multiplied by it when negative (once, however often the token occurs).
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> recent, float penalty);

// Index of the largest logit (the lowest index among equals).
int32_t argmax(std::span<const float> logits);

// All tokens as candidates, sorted by descending logit (ties: lower id first).
std::vector<Candidate> sorted_candidates(std::span<const float> logits);

// The stages below take candidates sorted by descending logit and keep at least one.
void keep_top_k(std::vector<Candidate>& candidates, int32_t k);
// prob = softmax(logit / temperature) over the candidates.
void softmax_candidates(std::vector<Candidate>& candidates, float temperature);
// Keeps the shortest prefix whose probability mass reaches p (needs prob).
void keep_top_p(std::vector<Candidate>& candidates, float p);
// Keeps the tokens whose probability is at least min_p times the largest (needs prob).
void keep_min_p(std::vector<Candidate>& candidates, float min_p);

class Sampler {
 public:
  explicit Sampler(const SamplerConfig& config);

  const SamplerConfig& config() const { return config_; }

  // The next token given logits[vocab] and the tokens so far (prompt and generated, oldest first).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

 private:
  SamplerConfig config_;
  std::mt19937 rng_;
};

}  // namespace lowbit
