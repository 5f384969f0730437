// The yardstick of `lowbit plan --fit`: the mean KL divergence KL(original || variant) of the
// next-token distributions over the scored positions of calibration chunks (scored as
// eval/perplexity.h scores them). The original model's log-probabilities are computed once and kept,
// so each variant (one tensor quantized, or a whole candidate mix) costs one pass over the chunks.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "io/model_file.h"

namespace lowbit {

class CalibrationKld {
 public:
  // `tokens`: the calibration text's tokens (with BOS as the model wants); `max_chunks` 0: all of them.
  // Throws lowbit::Error naming the model for a text shorter than one chunk.
  CalibrationKld(const ModelFile& model, std::span<const int32_t> tokens, int64_t context, int64_t max_chunks);

  // `variant` has the original's shapes (other tensor types or values).
  double mean_kld(const ModelFile& variant) const;

  int64_t positions() const { return positions_; }

 private:
  int64_t context_;
  int64_t vocab_;
  std::vector<int32_t> chunks_;   // [chunks * context]
  std::vector<float> base_;       // [positions][vocab]: the original's log-probabilities
  int64_t positions_ = 0;
};

}  // namespace lowbit
