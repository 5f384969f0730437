#include "plan/inference.h"

#include "core/error.h"
#include "formats/type_traits.h"

namespace lowbit {

uint64_t kv_cache_bytes(const ModelConfig& c, const InferenceSettings& s) {
  const TypeTraits& traits = type_traits(s.kv_type);
  const int64_t row = c.n_kv_heads * c.head_dim;  // one position's K (or V) of one layer
  if (row % traits.block_size != 0) {
    throw_error("KV type {}: rows of {} elements (n_kv_heads * head_dim) do not fill its {}-element blocks", traits.name,
                row, traits.block_size);
  }
  const uint64_t rows = 2 * static_cast<uint64_t>(c.n_layers) * static_cast<uint64_t>(s.context) *
                        static_cast<uint64_t>(s.batch);
  return rows * traits.row_bytes(row);
}

uint64_t activation_bytes(const ModelConfig& c, const InferenceSettings& s) {
  const int64_t per_sequence = 3 * c.dim + (c.n_heads + 2 * c.n_kv_heads) * c.head_dim + c.n_heads * s.context +
                               2 * c.hidden_dim + c.vocab_size;
  return static_cast<uint64_t>(per_sequence) * static_cast<uint64_t>(s.batch) * sizeof(float);
}

InferenceMemory inference_memory(const ModelConfig& config, const InferenceSettings& settings, uint64_t weight_bytes) {
  return {weight_bytes, kv_cache_bytes(config, settings), activation_bytes(config, settings)};
}

FlopCounts flops_per_token(const ModelConfig& c, int64_t context) {
  const double dim = static_cast<double>(c.dim);
  const double q_rows = static_cast<double>(c.n_heads * c.head_dim);
  const double kv_rows = static_cast<double>(c.n_kv_heads * c.head_dim);
  const double per_layer = dim * (q_rows + 2 * kv_rows) + q_rows * dim + 3.0 * dim * static_cast<double>(c.hidden_dim);
  FlopCounts flops;
  flops.output = 2.0 * static_cast<double>(c.vocab_size) * dim;
  flops.matmul = 2.0 * static_cast<double>(c.n_layers) * per_layer + flops.output;
  // Scores q.k and the weighted sum of v: each head_dim * positions multiply-adds per head.
  const double attention_per_position = 4.0 * static_cast<double>(c.n_layers) * q_rows;
  const double n = static_cast<double>(context);
  flops.attention = attention_per_position * n;
  flops.prefill_total = flops.matmul * n + attention_per_position * n * (n + 1) / 2;
  flops.prefill_per_token = n > 0 ? flops.prefill_total / n : 0.0;
  return flops;
}

uint64_t decode_bytes_per_step(const InferenceMemory& memory) { return memory.weights + memory.kv_cache; }

double roofline_decode_tokens_per_s(const InferenceMemory& memory, int64_t batch, double bandwidth_bytes_per_s) {
  return static_cast<double>(batch) * bandwidth_bytes_per_s / static_cast<double>(decode_bytes_per_step(memory));
}

}  // namespace lowbit
