#include "eval/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "eval/nll_stats.h"

namespace lowbit {

std::vector<int32_t> make_chunks(std::span<const int32_t> tokens, int32_t bos_id, int64_t ctx, int64_t max_chunks) {
  if (ctx < 3) throw_error("perplexity: context {} is too short; it needs at least 3 tokens to score one", ctx);
  int64_t n_chunks = static_cast<int64_t>(tokens.size()) / ctx;
  if (n_chunks == 0) {
    throw_error("perplexity: the text has {} tokens, fewer than one chunk of {}", tokens.size(), ctx);
  }
  if (max_chunks > 0) n_chunks = std::min(n_chunks, max_chunks);
  std::vector<int32_t> chunks(tokens.begin(), tokens.begin() + n_chunks * ctx);
  if (bos_id >= 0) {
    for (int64_t i = 0; i < n_chunks; ++i) chunks[i * ctx] = bos_id;
  }
  return chunks;
}

void log_softmax(const float* logits, int64_t n, float* out) {
  const float max_logit = *std::max_element(logits, logits + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max_logit);
  const double log_normalizer = max_logit + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(logits[i] - log_normalizer);
}

PerplexityResult evaluate_perplexity(Transformer& model, std::span<const int32_t> chunks, int64_t ctx,
                                     const ChunkObserver& observer, const ProgressCallback& progress) {
  if (ctx < 3 || chunks.empty() || chunks.size() % static_cast<size_t>(ctx) != 0) {
    throw_error("perplexity: {} tokens do not form whole chunks of {}", chunks.size(), ctx);
  }
  if (model.context() < ctx) {
    throw_error("perplexity: chunks of {} tokens do not fit the model's context of {}", ctx, model.context());
  }
  const auto start = std::chrono::steady_clock::now();
  const int64_t vocab = model.config().vocab_size;
  const int64_t first = ctx / 2;
  const int64_t n_scored = scored_per_chunk(ctx);
  PerplexityResult result;
  result.ctx = ctx;
  result.chunks = static_cast<int64_t>(chunks.size()) / ctx;

  NllStats stats;
  std::vector<float> log_probs(static_cast<size_t>(n_scored * vocab));  // [n_scored][vocab]
  for (int64_t c = 0; c < result.chunks; ++c) {
    const std::span<const int32_t> chunk = chunks.subspan(static_cast<size_t>(c * ctx), static_cast<size_t>(ctx));
    model.reset();
    const std::span<const float> logits = model.forward(chunk, LogitsFor::kAllTokens);  // [ctx][vocab]
    for (int64_t j = 0; j < n_scored; ++j) {
      float* row = log_probs.data() + j * vocab;
      log_softmax(logits.data() + (first + j) * vocab, vocab, row);
      stats.add(-static_cast<double>(row[chunk[first + j + 1]]));
    }
    result.running_ppl.push_back(stats.perplexity());
    if (observer) observer({c, log_probs, chunk.subspan(static_cast<size_t>(first + 1))});
    if (progress) {
      progress(c + 1, result.chunks, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  result.tokens_scored = stats.count();
  result.mean_nll = stats.mean();
  result.ppl = stats.perplexity();
  result.ppl_error = stats.perplexity_error();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace lowbit
