// The generation loop shared by `lowbit run` and the tests: prefill the prompt in one batch, then
// sample and feed back one token at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "model/sampler.h"
#include "model/transformer.h"

namespace lowbit {

struct GenerationStats {
  int64_t prompt_tokens = 0;
  double prompt_seconds = 0.0;     // the prefill forward pass
  int64_t generated_tokens = 0;
  double generation_seconds = 0.0; // sampling and decode forward passes after the prefill
};

// Generates up to `max_new_tokens` after `prompt` (non-empty), from an empty cache. Calls on_token for
// every sampled token; stops after it returns false, after `stop_id` was sampled (-1: never), or when
// the context is full.
GenerationStats generate(Transformer& model, Sampler& sampler, std::span<const int32_t> prompt,
                         int64_t max_new_tokens, int32_t stop_id, const std::function<bool(int32_t)>& on_token);

}  // namespace lowbit
