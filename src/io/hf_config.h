// Hugging Face config.json -> ModelConfig for the decoder-only architectures lowbit runs:
// LlamaForCausalLM, MistralForCausalLM ("llama" / "mistral") and Qwen2ForCausalLM ("qwen2", with q/k/v
// biases). All three use rotate-half RoPE. Defaults follow transformers: num_key_value_heads =
// num_attention_heads, head_dim = hidden_size / num_attention_heads, rope_theta 10000, rms_norm_eps 1e-6.
#pragma once

#include <string>

#include "io/model_file.h"

namespace lowbit {

// `name` is used in error messages (the config.json path).
ModelConfig parse_hf_config(const std::string& json_text, const std::string& name);

// Reads `folder`/config.json.
ModelConfig read_hf_config(const std::string& folder);

}  // namespace lowbit
