#include "plan/calibration_kld.h"

#include "eval/kld.h"
#include "eval/perplexity.h"
#include "model/transformer.h"

namespace lowbit {

CalibrationKld::CalibrationKld(const ModelFile& model, std::span<const int32_t> tokens, int64_t context,
                               int64_t max_chunks)
    : context_(context),
      vocab_(model.config().vocab_size),
      chunks_(make_chunks(tokens, model.vocab().bos_id, context, max_chunks)) {
  Transformer transformer(model, context_);
  evaluate_perplexity(transformer, chunks_, context_, [&](const ScoredChunk& chunk) {
    base_.insert(base_.end(), chunk.log_probs.begin(), chunk.log_probs.end());
  });
  positions_ = static_cast<int64_t>(base_.size()) / vocab_;
}

double CalibrationKld::mean_kld(const ModelFile& variant) const {
  Transformer transformer(variant, context_);
  KldAccumulator kld(vocab_);
  size_t offset = 0;
  const std::span<const float> base = base_;
  evaluate_perplexity(transformer, chunks_, context_, [&](const ScoredChunk& chunk) {
    kld.add(base.subspan(offset, chunk.log_probs.size()), chunk.log_probs, chunk.targets);
    offset += chunk.log_probs.size();
  });
  return kld.result().mean;
}

}  // namespace lowbit
