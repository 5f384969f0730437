// Perplexity as llama.cpp's llama-perplexity computes it, so numbers compare with its reports:
// the text's tokens are cut into chunks of ctx tokens, each chunk is evaluated from an empty KV cache with
// its first token replaced by BOS, and only its second half is scored: the logits at positions
// ctx/2 .. ctx-2 predict the tokens at ctx/2+1 .. ctx-1 (ctx - ctx/2 - 1 predictions per chunk).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/transformer.h"

namespace lowbit {

// Scored predictions per chunk of ctx tokens.
inline int64_t scored_per_chunk(int64_t ctx) { return ctx - ctx / 2 - 1; }

// The tokens the chunks evaluate, [n_chunks][ctx] flattened: chunk i = tokens[i*ctx, (i+1)*ctx) with its
// first token replaced by bos (kept when bos_id < 0: a model without BOS). n_chunks = floor(tokens / ctx), capped at max_chunks when > 0. Throws
// lowbit::Error when ctx < 3 (nothing to score) or the text is shorter than one chunk.
std::vector<int32_t> make_chunks(std::span<const int32_t> tokens, int32_t bos_id, int64_t ctx, int64_t max_chunks);

// What a chunk leaves for observers (saving log-probabilities, KL divergence against a base model).
struct ScoredChunk {
  int64_t index = 0;
  std::span<const float> log_probs;  // [scored_per_chunk(ctx)][vocab], log-softmax of the scored logits
  std::span<const int32_t> targets;  // [scored_per_chunk(ctx)], the token each row predicts
};

struct PerplexityResult {
  int64_t ctx = 0;
  int64_t chunks = 0;
  int64_t tokens_scored = 0;
  double mean_nll = 0.0;
  double ppl = 0.0;
  double ppl_error = 0.0;           // llama.cpp's "+/-" (see NllStats)
  std::vector<double> running_ppl;  // PPL over chunks 0..i, per chunk i
  double seconds = 0.0;
};

using ChunkObserver = std::function<void(const ScoredChunk&)>;
using ProgressCallback = std::function<void(int64_t chunks_done, int64_t chunks_total, double seconds)>;

// Evaluates `chunks` (from make_chunks; its size a multiple of ctx). model.context() must be >= ctx.
PerplexityResult evaluate_perplexity(Transformer& model, std::span<const int32_t> chunks, int64_t ctx,
                                     const ChunkObserver& observer = {}, const ProgressCallback& progress = {});

// out[n] = log-softmax(logits[n]), accumulated in double.
void log_softmax(const float* logits, int64_t n, float* out);

}  // namespace lowbit
