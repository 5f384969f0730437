// What running a model costs beyond its stored weights: the KV cache and activation buffers for a
// context and batch, the floating-point operations per token, and the roofline estimate of decoding
// speed from memory bandwidth.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "io/model_file.h"

namespace lowbit {

struct InferenceSettings {
  int64_t context = 0;                  // positions per sequence
  int64_t batch = 1;                    // sequences decoded together
  TensorType kv_type = TensorType::F16;  // element type of the K and V caches
};

struct InferenceMemory {
  uint64_t weights = 0;
  uint64_t kv_cache = 0;
  uint64_t activations = 0;
  uint64_t total() const { return weights + kv_cache + activations; }
};

// K and V for every layer, position and sequence: 2 * n_layers * context * batch * n_kv_heads * head_dim
// elements in kv_type (each cached head row is whole blocks of the type; throws lowbit::Error if not).
uint64_t kv_cache_bytes(const ModelConfig& config, const InferenceSettings& settings);

// FP32 working buffers of one decoding step per sequence, as a llama2.c-style forward pass holds them:
// the residual and its normed copy and attention output (3 * dim), q, k and v (n_heads + 2 * n_kv_heads
// head rows), attention scores (n_heads * context), the feed-forward's gate and up (2 * hidden_dim),
// and the logits (vocab_size).
uint64_t activation_bytes(const ModelConfig& config, const InferenceSettings& settings);

InferenceMemory inference_memory(const ModelConfig& config, const InferenceSettings& settings, uint64_t weight_bytes);

// Floating-point operations (a multiply-add is 2), counting the matrix products, attention's scores and
// weighted sum, and the output layer; norms, RoPE, softmax and activations (O(dim) per token) are left
// out. Per token of one sequence.
struct FlopCounts {
  double matmul = 0;      // 2 * (every weight matrix but the embedding table), the output layer included
  double output = 0;      // 2 * vocab_size * dim, part of matmul
  double attention = 0;   // decode at `context`: 4 * n_layers * n_heads * head_dim * context
  double decode_per_token() const { return matmul + attention; }
  // A prompt of `context` tokens: every position t = 1..context attends to t positions.
  double prefill_total = 0;
  double prefill_per_token = 0;
};

FlopCounts flops_per_token(const ModelConfig& config, int64_t context);

// Bytes one decoding step reads: every weight once, and each sequence's KV cache up to `context`.
uint64_t decode_bytes_per_step(const InferenceMemory& memory);

// Memory-bound ceiling of decoding: batch tokens per step, a step limited by reading
// decode_bytes_per_step at `bandwidth_bytes_per_s`.
double roofline_decode_tokens_per_s(const InferenceMemory& memory, int64_t batch, double bandwidth_bytes_per_s);

}  // namespace lowbit
