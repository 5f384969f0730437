// The tensors a Llama-family model of a given shape holds, derived from its dimensions alone, and its
// parameter count split by component. Names and shapes are model_file.h's (llama.cpp's GGUF names,
// outermost-first), so the list feeds quant/mix_policy.h exactly as a real file's tensors would.
#pragma once

#include <cstdint>
#include <iterator>
#include <span>
#include <string_view>
#include <vector>

#include "io/model_file.h"
#include "quant/mix_policy.h"

namespace lowbit {

enum class Component { embeddings, attention, feed_forward, norms, output };
const char* component_name(Component component);  // "embeddings", "attention", "feed-forward", ...
inline constexpr Component kComponents[] = {Component::embeddings, Component::attention, Component::feed_forward,
                                            Component::norms, Component::output};

// Which component a tensor (by GGUF name) belongs to; q/k/v biases count as attention.
Component tensor_component(std::string_view name);

// token_embd, output_norm, output (unless tied), then per block: attn_norm, attn_q, attn_k, attn_v,
// attn_{q,k,v}.bias (qkv_bias), attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down.
std::vector<TensorTypeRequest> model_tensors(const ModelConfig& config);

struct ParameterCounts {
  int64_t by_component[std::size(kComponents)] = {};
  int64_t total = 0;

  int64_t operator[](Component component) const { return by_component[static_cast<int>(component)]; }
};

ParameterCounts count_parameters(std::span<const TensorTypeRequest> tensors);

int64_t element_count(const TensorTypeRequest& tensor);

}  // namespace lowbit
