// How much each tensor of a model minds being quantized: for every matrix and candidate type, the mean
// KL divergence KL(original || model with only that tensor quantized) of the next-token distributions
// on calibration text, scored as eval/perplexity.h scores chunks. Feeds plan/mix_choice.h.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/model_file.h"
#include "plan/mix_choice.h"

namespace lowbit {

struct SensitivityOptions {
  std::vector<TensorType> candidate_types;  // each matrix gets those whose blocks divide its rows
  int64_t context = 128;                    // tokens per chunk
  int64_t max_chunks = 4;                   // of calibration text; 0: all of it
  std::function<void(size_t done, size_t total)> progress;  // after each measured (tensor, type)
};

struct SensitivityReport {
  std::vector<TensorCandidates> matrices;  // the tensors a choice is made for, in file order
  uint64_t fixed_bytes = 0;                // everything else (norms, biases), kept as stored
  int64_t positions = 0;                   // scored positions per measurement
};

// `tokens`: the calibration text's tokens (with BOS as the model wants). Throws lowbit::Error naming the
// model for a matrix no candidate type can hold, or a text shorter than one chunk.
SensitivityReport measure_sensitivity(const ModelFile& model, std::span<const int32_t> tokens,
                                      const SensitivityOptions& options);

}  // namespace lowbit
