#include "io/gguf_metadata.h"

#include <string_view>
#include <unordered_map>

#include "core/error.h"
#include "io/gguf_writer.h"

namespace lowbit {
namespace {

GgufValue gguf_array(GgufValueType element_type, std::vector<GgufValue> items) {
  return GgufValue{GgufValueType::ARRAY, GgufArray{element_type, std::move(items)}};
}

GgufValue string_array(const std::vector<std::string>& strings) {
  std::vector<GgufValue> items;
  items.reserve(strings.size());
  for (const std::string& s : strings) items.push_back(gguf_string(s));
  return gguf_array(GgufValueType::STRING, std::move(items));
}

GgufValue uint32_of(int64_t value, const char* what) {
  if (value < 0 || value > static_cast<int64_t>(UINT32_MAX)) throw_error("model {} {} does not fit a GGUF uint32", what, value);
  return gguf_uint32(static_cast<uint32_t>(value));
}

void add_hyper_parameters(const ModelConfig& c, GgufMetadata& out) {
  const std::string arch = gguf_architecture(c);
  const std::string p = arch + ".";
  out.emplace_back("general.architecture", gguf_string(arch));
  out.emplace_back(p + "context_length", uint32_of(c.context_length, "context length"));
  out.emplace_back(p + "embedding_length", uint32_of(c.dim, "dim"));
  out.emplace_back(p + "block_count", uint32_of(c.n_layers, "layer count"));
  out.emplace_back(p + "feed_forward_length", uint32_of(c.hidden_dim, "hidden dim"));
  out.emplace_back(p + "attention.head_count", uint32_of(c.n_heads, "head count"));
  out.emplace_back(p + "attention.head_count_kv", uint32_of(c.n_kv_heads, "KV head count"));
  // llama.cpp derives the head size from embedding_length / head_count unless these keys say otherwise.
  if (c.head_dim * c.n_heads != c.dim) {
    out.emplace_back(p + "attention.key_length", uint32_of(c.head_dim, "head dim"));
    out.emplace_back(p + "attention.value_length", uint32_of(c.head_dim, "head dim"));
  }
  out.emplace_back(p + "rope.dimension_count", uint32_of(c.head_dim, "head dim"));
  out.emplace_back(p + "rope.freq_base", gguf_float32(c.rope_theta));
  out.emplace_back(p + "attention.layer_norm_rms_epsilon", gguf_float32(c.norm_eps));
  out.emplace_back(p + "vocab_size", uint32_of(c.vocab_size, "vocabulary size"));
}

// A Hugging Face BPE vocabulary of the "llama" kind is driven by merge ranks and has no scores, but
// llama.cpp's SentencePiece-style tokenizer (and lowbit's GGUF reader) need one score per token. The
// token a merge of rank r produces scores -r, so merging by highest score follows the ranks; tokens no
// merge produces score below every merge.
std::vector<float> scores_from_merges(const Vocab& vocab) {
  std::unordered_map<std::string_view, size_t> ids;
  for (size_t id = 0; id < vocab.tokens.size(); ++id) ids.emplace(vocab.tokens[id], id);
  const float unmerged = -static_cast<float>(vocab.merges.size()) - 1.0f;
  std::vector<float> scores(vocab.tokens.size(), unmerged);
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    std::string merged = vocab.merges[rank];
    const size_t space = merged.find(' ');
    if (space == std::string::npos) continue;
    merged.erase(space, 1);
    const auto found = ids.find(merged);
    if (found != ids.end() && scores[found->second] == unmerged) scores[found->second] = -static_cast<float>(rank);
  }
  return scores;
}

void add_tokenizer(const Vocab& vocab, GgufMetadata& out) {
  if (vocab.tokens.empty()) return;  // a model without tokenizer data stays without
  const size_t n = vocab.tokens.size();
  out.emplace_back("tokenizer.ggml.model", gguf_string(vocab.model));
  if (!vocab.pre.empty()) out.emplace_back("tokenizer.ggml.pre", gguf_string(vocab.pre));
  out.emplace_back("tokenizer.ggml.tokens", string_array(vocab.tokens));
  const std::vector<float> token_scores =
      vocab.scores.empty() && vocab.model == "llama" && !vocab.merges.empty() ? scores_from_merges(vocab) : vocab.scores;
  if (!token_scores.empty()) {
    std::vector<GgufValue> scores;
    scores.reserve(n);
    for (float score : token_scores) scores.push_back(gguf_float32(score));
    out.emplace_back("tokenizer.ggml.scores", gguf_array(GgufValueType::FLOAT32, std::move(scores)));
  }
  // llama.cpp needs a type per token; a vocabulary without types has only normal tokens.
  std::vector<GgufValue> types;
  types.reserve(n);
  for (size_t id = 0; id < n; ++id) {
    const TokenType type = id < vocab.token_types.size() ? vocab.token_types[id] : TokenType::kNormal;
    GgufValue& value = types.emplace_back();
    value.type = GgufValueType::INT32;
    value.value = static_cast<int64_t>(type);
  }
  out.emplace_back("tokenizer.ggml.token_type", gguf_array(GgufValueType::INT32, std::move(types)));
  if (!vocab.merges.empty()) out.emplace_back("tokenizer.ggml.merges", string_array(vocab.merges));
  const std::pair<const char*, int32_t> special_ids[] = {
      {"tokenizer.ggml.bos_token_id", vocab.bos_id},
      {"tokenizer.ggml.eos_token_id", vocab.eos_id},
      {"tokenizer.ggml.unknown_token_id", vocab.unk_id},
      {"tokenizer.ggml.padding_token_id", vocab.pad_id},
  };
  for (const auto& [key, id] : special_ids) {
    if (id >= 0) out.emplace_back(key, gguf_uint32(static_cast<uint32_t>(id)));
  }
  out.emplace_back("tokenizer.ggml.add_bos_token", gguf_bool(vocab.add_bos));
  out.emplace_back("tokenizer.ggml.add_eos_token", gguf_bool(vocab.add_eos));
  if (vocab.model == "llama") out.emplace_back("tokenizer.ggml.add_space_prefix", gguf_bool(vocab.add_space_prefix));
}

}  // namespace

std::string gguf_architecture(const ModelConfig& config) {
  return config.architecture == "qwen2" ? "qwen2" : "llama";
}

RopeStyle gguf_rope_style(const std::string& gguf_architecture) {
  return gguf_architecture == "qwen2" ? RopeStyle::kRotateHalf : RopeStyle::kInterleaved;
}

GgufMetadata model_metadata(const ModelFile& model) {
  if (model.format() == "gguf") return GgufFile::open(model.path()).metadata();
  return build_model_metadata(model.config(), model.vocab());
}

GgufMetadata build_model_metadata(const ModelConfig& config, const Vocab& vocab) {
  GgufMetadata out;
  add_hyper_parameters(config, out);
  add_tokenizer(vocab, out);
  return out;
}

}  // namespace lowbit
