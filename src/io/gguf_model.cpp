// GGUF -> ModelFile: hyper-parameters from the "<arch>.*" keys, tensors used in place from the map.
#include <cmath>

#include "core/error.h"
#include "io/gguf.h"
#include "io/model_loaders.h"
#include "io/vocab_readers.h"

namespace lowbit {
namespace {

struct GgufArchitecture {
  const char* name;
  RopeStyle rope_style;  // llama.cpp's LLAMA rope pairs adjacent values; Qwen2 uses NEOX (rotate-half)
  bool qkv_bias;
};
constexpr GgufArchitecture kArchitectures[] = {
    {"llama", RopeStyle::kInterleaved, false},
    {"qwen2", RopeStyle::kRotateHalf, true},
};

int64_t positive(const GgufFile& file, const std::string& key, std::optional<uint64_t> value) {
  if (!value) throw_error("{}: metadata key {} is missing", file.path(), key);
  if (*value == 0 || *value > static_cast<uint64_t>(INT32_MAX)) throw_error("{}: metadata key {} is {}", file.path(), key, *value);
  return static_cast<int64_t>(*value);
}

ModelConfig read_config(const GgufFile& file) {
  const std::optional<std::string> arch = file.get_string("general.architecture");
  if (!arch) throw_error("{}: metadata key general.architecture is missing", file.path());
  const GgufArchitecture* architecture = nullptr;
  for (const GgufArchitecture& candidate : kArchitectures) {
    if (*arch == candidate.name) architecture = &candidate;
  }
  if (architecture == nullptr) throw_error("{}: unsupported architecture {} (lowbit runs llama and qwen2)", file.path(), *arch);

  const std::string prefix = *arch + ".";
  auto required = [&](const char* key) { return positive(file, prefix + key, file.get_uint(prefix + key)); };
  auto optional = [&](const char* key) -> std::optional<int64_t> {
    const std::optional<uint64_t> value = file.get_uint(prefix + key);
    if (!value) return std::nullopt;
    return positive(file, prefix + key, value);
  };
  auto positive_float = [&](const char* key, double fallback) {
    const double value = file.get_float(prefix + key).value_or(fallback);
    if (!(value > 0.0) || !std::isfinite(value)) throw_error("{}: metadata key {}{} is {}", file.path(), prefix, key, value);
    return static_cast<float>(value);
  };

  ModelConfig c;
  c.architecture = *arch;
  c.dim = required("embedding_length");
  c.hidden_dim = required("feed_forward_length");
  c.n_layers = required("block_count");
  c.n_heads = required("attention.head_count");
  c.n_kv_heads = optional("attention.head_count_kv").value_or(c.n_heads);
  c.context_length = required("context_length");
  c.rope_theta = positive_float("rope.freq_base", 10000.0);
  c.norm_eps = positive_float("attention.layer_norm_rms_epsilon", 1e-5);
  c.rope_style = architecture->rope_style;
  c.qkv_bias = architecture->qkv_bias;
  if (const std::optional<int64_t> key_length = optional("attention.key_length")) {
    c.head_dim = *key_length;
  } else {
    if (c.dim % c.n_heads != 0) throw_error("{}: embedding_length {} is not a multiple of head_count {}", file.path(), c.dim, c.n_heads);
    c.head_dim = c.dim / c.n_heads;
  }
  if (c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0) {
    throw_error("{}: head_count {} is not a multiple of head_count_kv {}", file.path(), c.n_heads, c.n_kv_heads);
  }
  if (const std::optional<int64_t> rope_dims = optional("rope.dimension_count"); rope_dims && *rope_dims != c.head_dim) {
    throw_error("{}: rope.dimension_count {} differs from the head size {} (partial RoPE is not supported)", file.path(),
                *rope_dims, c.head_dim);
  }
  return c;
}

}  // namespace

std::unique_ptr<LoadedModel> load_gguf_model(const std::string& path) {
  const GgufFile file = GgufFile::open(path);
  auto model = std::make_unique<LoadedModel>(path, "gguf");
  ModelConfig& config = model->mutable_config();
  config = read_config(file);

  const GgufTensorInfo* embedding = file.find_tensor("token_embd.weight");
  if (embedding == nullptr) throw_error("{}: tensor token_embd.weight is missing", path);
  if (embedding->view.shape.size() != 2) throw_error("{}: tensor token_embd.weight is not a matrix", path);
  config.vocab_size = embedding->view.shape.front();
  config.tied_embeddings = file.find_tensor("output.weight") == nullptr;
  for (const GgufTensorInfo& info : file.tensors()) model->add_tensor(info.view);

  if (file.find("tokenizer.ggml.model") != nullptr) model->mutable_vocab() = read_gguf_vocab(file);
  model->keep_alive(file.mapped_file());
  return model;
}

}  // namespace lowbit
