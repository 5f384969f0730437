#include "io/hf_config.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include "core/error.h"

namespace lowbit {
namespace {

using nlohmann::json;

struct Architecture {
  const char* hf_class;
  const char* name;  // ModelConfig::architecture
  bool qkv_bias;
};
constexpr Architecture kArchitectures[] = {
    {"LlamaForCausalLM", "llama", false},
    {"MistralForCausalLM", "mistral", false},
    {"Qwen2ForCausalLM", "qwen2", true},
};

// A present, non-null value of `key` (null counts as absent, as transformers treats it).
const json* find_value(const json& config, const char* key) {
  const auto it = config.find(key);
  return it == config.end() || it->is_null() ? nullptr : &*it;
}

std::optional<int64_t> positive_int(const json& config, const std::string& name, const char* key) {
  const json* value = find_value(config, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_integer() || value->get<int64_t>() <= 0 || value->get<int64_t>() > std::numeric_limits<int32_t>::max()) {
    throw_error("{}: {} is {}, expected a positive integer", name, key, value->dump());
  }
  return value->get<int64_t>();
}

int64_t required_positive_int(const json& config, const std::string& name, const char* key) {
  const std::optional<int64_t> value = positive_int(config, name, key);
  if (!value) throw_error("{}: {} is missing", name, key);
  return *value;
}

float positive_float(const json& config, const std::string& name, const char* key, float fallback) {
  const json* value = find_value(config, key);
  if (value == nullptr) return fallback;
  if (!value->is_number() || !(value->get<double>() > 0.0)) throw_error("{}: {} is {}, expected a positive number", name, key, value->dump());
  return static_cast<float>(value->get<double>());
}

bool flag(const json& config, const std::string& name, const char* key, bool fallback) {
  const json* value = find_value(config, key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) throw_error("{}: {} is {}, expected true or false", name, key, value->dump());
  return value->get<bool>();
}

const Architecture& find_architecture(const json& config, const std::string& name) {
  const json* list = find_value(config, "architectures");
  if (list == nullptr || !list->is_array() || list->size() != 1 || !(*list)[0].is_string()) {
    throw_error("{}: architectures must list exactly one model class", name);
  }
  const std::string hf_class = (*list)[0].get<std::string>();
  for (const Architecture& architecture : kArchitectures) {
    if (hf_class == architecture.hf_class) return architecture;
  }
  throw_error("{}: unsupported architecture {} (lowbit reads LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)", name, hf_class);
}

}  // namespace

ModelConfig parse_hf_config(const std::string& json_text, const std::string& name) {
  json config;
  try {
    config = json::parse(json_text);
  } catch (const json::exception& e) {
    throw_error("{}: not valid JSON: {}", name, e.what());
  }
  if (!config.is_object()) throw_error("{}: not a JSON object", name);

  const Architecture& architecture = find_architecture(config, name);
  if (const json* act = find_value(config, "hidden_act"); act != nullptr && *act != "silu") {
    throw_error("{}: hidden_act {} is not supported (only silu)", name, act->dump());
  }
  // Llama/Mistral with attention_bias also bias o_proj, and mlp_bias biases the MLP: not in lowbit's model.
  if (!architecture.qkv_bias && flag(config, name, "attention_bias", false)) throw_error("{}: attention_bias is not supported", name);
  if (flag(config, name, "mlp_bias", false)) throw_error("{}: mlp_bias is not supported", name);

  ModelConfig c;
  c.architecture = architecture.name;
  c.dim = required_positive_int(config, name, "hidden_size");
  c.hidden_dim = required_positive_int(config, name, "intermediate_size");
  c.n_layers = required_positive_int(config, name, "num_hidden_layers");
  c.n_heads = required_positive_int(config, name, "num_attention_heads");
  c.n_kv_heads = positive_int(config, name, "num_key_value_heads").value_or(c.n_heads);
  c.vocab_size = required_positive_int(config, name, "vocab_size");
  c.context_length = required_positive_int(config, name, "max_position_embeddings");
  c.rope_theta = positive_float(config, name, "rope_theta", 10000.0f);
  c.norm_eps = positive_float(config, name, "rms_norm_eps", 1e-6f);
  c.rope_style = RopeStyle::kRotateHalf;
  c.tied_embeddings = flag(config, name, "tie_word_embeddings", false);
  c.qkv_bias = architecture.qkv_bias;

  if (const std::optional<int64_t> head_dim = positive_int(config, name, "head_dim")) {
    c.head_dim = *head_dim;
  } else {
    if (c.dim % c.n_heads != 0) throw_error("{}: hidden_size {} is not a multiple of num_attention_heads {}", name, c.dim, c.n_heads);
    c.head_dim = c.dim / c.n_heads;
  }
  if (c.head_dim % 2 != 0) throw_error("{}: head_dim {} is odd; RoPE rotates pairs", name, c.head_dim);
  if (c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0) {
    throw_error("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", name, c.n_heads, c.n_kv_heads);
  }
  return c;
}

ModelConfig read_hf_config(const std::string& folder) {
  const std::string path = folder + "/config.json";
  std::ifstream in(path);
  if (!in) throw_error("{}: cannot open", path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_hf_config(text.str(), path);
}

}  // namespace lowbit
