#include "plan/model_source.h"

#include <array>
#include <filesystem>

#include "core/error.h"
#include "core/text_file.h"
#include "io/hf_config.h"

namespace lowbit {
namespace {

// Each row restates the model's published Hugging Face config.json (hidden_size, intermediate_size,
// num_hidden_layers, num_attention_heads, num_key_value_heads, vocab_size, max_position_embeddings).
const std::array kNamedShapes = {
    NamedShape{"llama-7b", "LLaMA 7B (Touvron et al. 2023, Table 2; huggyllama/llama-7b config.json)",
               llama_model_config(4096, 11008, 32, 32, 32, 32000, 2048, 10000.0f)},
    NamedShape{"llama-13b", "LLaMA 13B (Touvron et al. 2023, Table 2; huggyllama/llama-13b config.json)",
               llama_model_config(5120, 13824, 40, 40, 40, 32000, 2048, 10000.0f)},
    NamedShape{"llama2-7b", "Llama 2 7B (meta-llama/Llama-2-7b-hf config.json)",
               llama_model_config(4096, 11008, 32, 32, 32, 32000, 4096, 10000.0f)},
    NamedShape{"llama-70b", "Llama 2 70B (meta-llama/Llama-2-70b-hf config.json; grouped-query attention)",
               llama_model_config(8192, 28672, 80, 64, 8, 32000, 4096, 10000.0f)},
    NamedShape{"tinyllama-1.1b", "TinyLlama 1.1B (TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json)",
               llama_model_config(2048, 5632, 22, 32, 4, 32000, 2048, 10000.0f)},
    NamedShape{"llama3-8b", "Llama 3 8B (meta-llama/Meta-Llama-3-8B config.json)",
               llama_model_config(4096, 14336, 32, 32, 8, 128256, 8192, 500000.0f)},
    NamedShape{"mistral-7b", "Mistral 7B v0.1 (mistralai/Mistral-7B-v0.1 config.json)",
               llama_model_config(4096, 14336, 32, 32, 8, 32000, 32768, 10000.0f)},
};

}  // namespace

std::span<const NamedShape> named_shapes() { return kNamedShapes; }

void check_plan_config(const ModelConfig& c, const std::string& source) {
  const std::pair<const char*, int64_t> dimensions[] = {
      {"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers}, {"n_heads", c.n_heads},
      {"n_kv_heads", c.n_kv_heads}, {"head_dim", c.head_dim}, {"vocab_size", c.vocab_size}};
  for (const auto& [name, value] : dimensions) {
    if (value <= 0) throw_error("{}: {} is {}, expected a positive number", source, name, value);
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    throw_error("{}: n_heads {} is not a multiple of n_kv_heads {}", source, c.n_heads, c.n_kv_heads);
  }
}

PlanModel load_plan_model(const std::string& spec) {
  for (const NamedShape& shape : kNamedShapes) {
    if (spec == shape.name) return {spec, "named shape", shape.config};
  }
  namespace fs = std::filesystem;
  PlanModel model{spec, "config.json", {}};
  std::error_code error;
  if (spec.ends_with(".json")) {
    model.config = parse_hf_config(read_text_file(spec), spec);
  } else if (fs::is_directory(spec, error) && fs::exists(fs::path(spec) / "config.json", error)) {
    model.config = read_hf_config(spec);  // the weights, if any, are not needed
  } else if (fs::exists(spec, error)) {
    const std::unique_ptr<ModelFile> file = open_model(spec);
    model.kind = file->format();
    model.config = file->config();
  } else {
    std::string names;
    for (const NamedShape& shape : kNamedShapes) names += fmt::format(" {}", shape.name);
    throw_error("{}: no such file, folder or named shape (named shapes:{})", spec, names);
  }
  check_plan_config(model.config, spec);
  return model;
}

}  // namespace lowbit
