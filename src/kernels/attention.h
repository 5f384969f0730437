// Causal attention of a batch of consecutive tokens (prefill) as two matrix products.
#pragma once

#include <cstdint>
#include <vector>

namespace lowbit {

// Grouped-query causal attention of `tokens` consecutive tokens for the `heads` query heads that share one
// key/value head: scores = scale * Q K^T over the positions the last token sees, each token's rows cut at
// its own position (token t sees key rows 0 .. first_position + t), softmax per row, then scores V, as two
// single-threaded OpenBLAS sgemm calls (the caller splits the work over its threads). Query head h of
// token t is at queries + t * row_stride + h * head_dim and its output at out + the same offset; key and
// value row p at keys and values + p * kv_stride. Equals vector_ops().attend_heads per token up to the
// order of the sums; one query at a time, that loop ran at about a quarter of the FMA units' rate (TinyLlama
// pp512: 17% of the samples). `scratch` grows as needed.
void attend_causal_tokens(const float* queries, int64_t row_stride, int64_t tokens, int64_t heads, const float* keys,
                          const float* values, int64_t kv_stride, int64_t first_position, int64_t head_dim,
                          float scale, std::vector<float>& scratch, float* out);

}  // namespace lowbit
