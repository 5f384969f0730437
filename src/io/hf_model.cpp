// Hugging Face folder -> ModelFile: config.json, model.safetensors or the shards that
// model.safetensors.index.json lists, and the tokenizer. Tensor names are mapped to GGUF's.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/text_file.h"
#include "io/hf_config.h"
#include "io/model_loaders.h"
#include "io/safetensors.h"
#include "io/vocab_readers.h"

namespace lowbit {
namespace {

constexpr const char* kIndexFile = "model.safetensors.index.json";

// model.layers.N.<suffix> -> blk.N.<GGUF suffix>
constexpr std::pair<const char*, const char*> kLayerNames[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};
constexpr std::pair<const char*, const char*> kGlobalNames[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

// The GGUF name of a Hugging Face tensor; empty for tensors the model does not use (RoPE caches that
// old checkpoints saved); an error for anything else.
std::string gguf_name(const std::string& file, const std::string& hf_name) {
  for (const auto& [hf, gguf] : kGlobalNames) {
    if (hf_name == hf) return gguf;
  }
  constexpr std::string_view kLayerPrefix = "model.layers.";
  if (hf_name.starts_with(kLayerPrefix)) {
    const size_t digits_end = hf_name.find_first_not_of("0123456789", kLayerPrefix.size());
    if (digits_end != kLayerPrefix.size() && digits_end != std::string::npos && hf_name[digits_end] == '.') {
      const std::string layer = hf_name.substr(kLayerPrefix.size(), digits_end - kLayerPrefix.size());
      const std::string suffix = hf_name.substr(digits_end + 1);
      if (suffix == "self_attn.rotary_emb.inv_freq") return "";
      for (const auto& [hf, gguf] : kLayerNames) {
        if (suffix == hf) return fmt::format("blk.{}.{}", layer, gguf);
      }
    }
  }
  throw_error("{}: unexpected tensor {}", file, hf_name);
}

// The safetensors files holding the weights: the shards the index names, or model.safetensors.
std::vector<std::string> weight_files(const std::filesystem::path& folder) {
  const std::filesystem::path index_path = folder / kIndexFile;
  if (!std::filesystem::exists(index_path)) {
    if (!std::filesystem::exists(folder / "model.safetensors")) {
      throw_error("{}: no model.safetensors or {} in the folder", folder.string(), kIndexFile);
    }
    return {(folder / "model.safetensors").string()};
  }
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(read_text_file(index_path.string()));
  } catch (const nlohmann::json::exception& e) {
    throw_error("{}: not valid JSON: {}", index_path.string(), e.what());
  }
  const auto map = index.find("weight_map");
  if (!index.is_object() || map == index.end() || !map->is_object()) throw_error("{}: no weight_map object", index_path.string());
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : map->items()) {
    if (!shard.is_string() || shard.get<std::string>().find('/') != std::string::npos) {
      throw_error("{}: weight_map entry for {} is not a file name in the folder", index_path.string(), tensor);
    }
    shards.insert(shard.get<std::string>());
  }
  std::vector<std::string> paths;
  for (const std::string& shard : shards) paths.push_back((folder / shard).string());
  return paths;
}

}  // namespace

std::unique_ptr<LoadedModel> load_hf_model(const std::string& folder) {
  auto model = std::make_unique<LoadedModel>(folder, "huggingface");
  ModelConfig& config = model->mutable_config();
  config = read_hf_config(folder);

  std::vector<TensorView> tensors;  // file order, GGUF names; add_tensor rejects duplicates
  for (const std::string& path : weight_files(folder)) {
    SafetensorsFile file = open_safetensors(path);
    for (TensorView& view : file.tensors) {
      std::string name = gguf_name(path, view.name);
      if (name.empty()) continue;
      view.name = std::move(name);
      tensors.push_back(std::move(view));
    }
    model->keep_alive(std::move(file.map));
  }

  // Tied embeddings are stored once, under either name (TinyStories-656K keeps only lm_head.weight).
  auto find = [&](const std::string& name) {
    return std::find_if(tensors.begin(), tensors.end(), [&](const TensorView& v) { return v.name == name; });
  };
  const auto embedding = find("token_embd.weight");
  const auto output = find("output.weight");
  if (embedding == tensors.end() && output != tensors.end()) output->name = "token_embd.weight";
  config.tied_embeddings = embedding == tensors.end() || output == tensors.end();
  for (TensorView& view : tensors) model->add_tensor(std::move(view));

  const std::filesystem::path dir(folder);
  if (std::filesystem::exists(dir / "tokenizer.json") || std::filesystem::exists(dir / "tokenizer.model")) {
    model->mutable_vocab() = read_hf_tokenizer(folder);
  }
  return model;
}

}  // namespace lowbit
