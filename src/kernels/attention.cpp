#include "kernels/attention.h"

#include <cblas.h>

#include <algorithm>

#include "kernels/single_threaded_blas.h"
#include "kernels/vector_ops.h"

namespace lowbit {

void attend_causal_tokens(const float* queries, int64_t row_stride, int64_t tokens, int64_t heads, const float* keys,
                          const float* values, int64_t kv_stride, int64_t first_position, int64_t head_dim,
                          float scale, std::vector<float>& scratch, float* out) {
  use_single_threaded_blas();
  // Row r = t * heads + h of the packed queries, scores and outputs.
  const int64_t rows = tokens * heads, positions = first_position + tokens;
  scratch.resize(static_cast<size_t>(rows * (2 * head_dim + positions)));
  float* packed = scratch.data();            // [rows][head_dim]: the queries, then the outputs
  float* scores = packed + rows * head_dim;  // [rows][positions]
  for (int64_t t = 0; t < tokens; ++t) {
    const float* token_queries = queries + t * row_stride;
    std::copy(token_queries, token_queries + heads * head_dim, packed + t * heads * head_dim);
  }
  const auto blas = [](int64_t v) { return static_cast<blasint>(v); };
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas(rows), blas(positions), blas(head_dim), scale, packed,
              blas(head_dim), keys, blas(kv_stride), 0.0f, scores, blas(positions));
  const VectorOps& ops = vector_ops();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t seen = first_position + r / heads + 1;
    float* row = scores + r * positions;
    ops.softmax(row, seen);
    std::fill(row + seen, row + positions, 0.0f);  // the positions after the token's own
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas(rows), blas(head_dim), blas(positions), 1.0f, scores,
              blas(positions), values, blas(kv_stride), 0.0f, packed, blas(head_dim));
  for (int64_t t = 0; t < tokens; ++t) {
    const float* mixed = packed + t * heads * head_dim;
    std::copy(mixed, mixed + heads * head_dim, out + t * row_stride);
  }
}

}  // namespace lowbit
