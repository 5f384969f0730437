// The tensors of a Llama-family model, found by their GGUF names and checked against the config.
// Matrices stay views into the model file (no copy); the small 1-D vectors (norms, biases) are
// converted to float once, so the forward pass reads them directly whatever their stored type.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "io/model_file.h"

namespace lowbit {

struct LayerWeights {
  std::vector<float> attn_norm;            // [dim]
  const TensorView* attn_q = nullptr;      // [n_heads*head_dim, dim]
  const TensorView* attn_k = nullptr;      // [n_kv_heads*head_dim, dim]
  const TensorView* attn_v = nullptr;      // [n_kv_heads*head_dim, dim]
  const TensorView* attn_output = nullptr; // [dim, n_heads*head_dim]
  std::vector<float> q_bias, k_bias, v_bias;  // empty unless config.qkv_bias
  std::vector<float> ffn_norm;             // [dim]
  const TensorView* ffn_gate = nullptr;    // [hidden_dim, dim]
  const TensorView* ffn_up = nullptr;      // [hidden_dim, dim]
  const TensorView* ffn_down = nullptr;    // [dim, hidden_dim]
};

struct ModelWeights {
  const TensorView* token_embd = nullptr;  // [vocab, dim]
  std::vector<float> output_norm;          // [dim]
  const TensorView* output = nullptr;      // [vocab, dim]; token_embd when the embeddings are tied
  std::vector<LayerWeights> layers;
  // Static int8 activation scale of a matrix above, from its "<name>.act_scale" tensor (F32 [1]) when
  // the file has one (SmoothQuant W8A8, kernels/w8a8_matmul.h).
  std::unordered_map<const TensorView*, float> act_scales;
};

// Checks the config (positive sizes, whole heads, n_heads a multiple of n_kv_heads, even head_dim)
// and that every tensor exists with its expected shape and a readable type, and every activation scale
// is a positive finite number. The returned pointers
// point into `tensors`, which must outlive the result. `source` names the model in errors.
ModelWeights bind_weights(const ModelConfig& config, const std::vector<TensorView>& tensors, const std::string& source);

// The matrices the forward pass multiplies activations by: output, then each layer's attn_q, attn_k,
// attn_v, attn_output, ffn_gate, ffn_up, ffn_down.
std::vector<const TensorView*> linear_matrices(const ModelWeights& weights);

}  // namespace lowbit
