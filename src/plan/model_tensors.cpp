#include "plan/model_tensors.h"

#include <fmt/format.h>

namespace lowbit {

const char* component_name(Component component) {
  switch (component) {
    case Component::embeddings: return "embeddings";
    case Component::attention: return "attention";
    case Component::feed_forward: return "feed-forward";
    case Component::norms: return "norms";
    case Component::output: return "output";
  }
  return "?";
}

Component tensor_component(std::string_view name) {
  if (name.ends_with("_norm.weight")) return Component::norms;
  if (name.starts_with("token_embd.")) return Component::embeddings;
  if (name.starts_with("output.")) return Component::output;
  if (name.find(".ffn_") != std::string_view::npos) return Component::feed_forward;
  return Component::attention;
}

std::vector<TensorTypeRequest> model_tensors(const ModelConfig& c) {
  const int64_t q_rows = c.n_heads * c.head_dim;
  const int64_t kv_rows = c.n_kv_heads * c.head_dim;
  std::vector<TensorTypeRequest> tensors = {{"token_embd.weight", {c.vocab_size, c.dim}},
                                            {"output_norm.weight", {c.dim}}};
  if (!c.tied_embeddings) tensors.push_back({"output.weight", {c.vocab_size, c.dim}});
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    const auto name = [layer](const char* suffix) { return fmt::format("blk.{}.{}", layer, suffix); };
    tensors.push_back({name("attn_norm.weight"), {c.dim}});
    tensors.push_back({name("attn_q.weight"), {q_rows, c.dim}});
    tensors.push_back({name("attn_k.weight"), {kv_rows, c.dim}});
    tensors.push_back({name("attn_v.weight"), {kv_rows, c.dim}});
    if (c.qkv_bias) {
      tensors.push_back({name("attn_q.bias"), {q_rows}});
      tensors.push_back({name("attn_k.bias"), {kv_rows}});
      tensors.push_back({name("attn_v.bias"), {kv_rows}});
    }
    tensors.push_back({name("attn_output.weight"), {c.dim, q_rows}});
    tensors.push_back({name("ffn_norm.weight"), {c.dim}});
    tensors.push_back({name("ffn_gate.weight"), {c.hidden_dim, c.dim}});
    tensors.push_back({name("ffn_up.weight"), {c.hidden_dim, c.dim}});
    tensors.push_back({name("ffn_down.weight"), {c.dim, c.hidden_dim}});
  }
  return tensors;
}

int64_t element_count(const TensorTypeRequest& tensor) {
  int64_t n = 1;
  for (int64_t d : tensor.shape) n *= d;
  return n;
}

ParameterCounts count_parameters(std::span<const TensorTypeRequest> tensors) {
  ParameterCounts counts;
  for (const TensorTypeRequest& tensor : tensors) {
    const int64_t n = element_count(tensor);
    counts.by_component[static_cast<int>(tensor_component(tensor.name))] += n;
    counts.total += n;
  }
  return counts;
}

}  // namespace lowbit
