#include "model/generate.h"

#include <chrono>
#include <vector>

#include "core/error.h"

namespace lowbit {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

GenerationStats generate(Transformer& model, Sampler& sampler, std::span<const int32_t> prompt,
                         int64_t max_new_tokens, int32_t stop_id, const std::function<bool(int32_t)>& on_token) {
  if (prompt.empty()) throw_error("generate: the prompt needs at least one token (BOS)");
  GenerationStats stats;
  std::vector<int32_t> history(prompt.begin(), prompt.end());

  model.reset();
  auto start = std::chrono::steady_clock::now();
  std::span<const float> logits = model.forward(prompt);
  stats.prompt_tokens = static_cast<int64_t>(prompt.size());
  stats.prompt_seconds = seconds_since(start);

  start = std::chrono::steady_clock::now();
  while (stats.generated_tokens < max_new_tokens) {
    const int32_t token = sampler.sample(logits, history);
    history.push_back(token);
    ++stats.generated_tokens;
    const bool wants_more = on_token(token);
    if (!wants_more || token == stop_id || stats.generated_tokens == max_new_tokens ||
        model.position() >= model.context()) {
      break;
    }
    logits = model.forward(std::span<const int32_t>(&history.back(), 1));
  }
  stats.generation_seconds = seconds_since(start);
  return stats;
}

}  // namespace lowbit
