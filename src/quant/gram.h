// The Gram matrix X^T X of a layer input's activations, streamed in batches of tokens: GPTQ's Hessian
// (2 X^T X up to the token count) and the raw material of calibration's per-site statistics.
//
// Tokens are buffered into chunks and each chunk's X^T X is one symmetric rank-k update (OpenBLAS
// ssyrk/sgemm on lower-triangle tiles, split over OpenMP threads). Float chunk products are summed in
// float over at most kFoldTokens tokens, then folded into a double total, so the result stays accurate
// to about float precision after millions of tokens.
#pragma once

#include <cstdint>
#include <vector>

namespace lowbit {

class GramAccumulator {
 public:
  // Throws lowbit::Error when channels is not positive or too large for BLAS indices.
  explicit GramAccumulator(int64_t channels);

  // x [n_tokens][channels], row-major.
  void add(const float* x, int64_t n_tokens);

  int64_t channels() const { return channels_; }
  int64_t tokens() const { return tokens_; }

  // [channels][channels] X^T X / tokens() with both triangles filled; all zero before any token.
  std::vector<float> mean() const;

 private:
  void flush_pending();
  void fold_chunk_sum();

  int64_t channels_;
  int64_t tokens_ = 0;
  std::vector<float> pending_;  // [kChunkTokens][channels] tokens not yet multiplied
  int64_t pending_tokens_ = 0;
  std::vector<float> chunk_sum_;  // [channels][channels] lower triangle: X^T X of the tokens since the last fold
  int64_t chunk_sum_tokens_ = 0;
  std::vector<double> total_;  // [channels][channels] lower triangle: X^T X of the folded tokens
};

}  // namespace lowbit
