// The tokenizer.ggml.* keys of a GGUF file (llama.cpp's names and conventions).
#include "core/error.h"
#include "io/vocab_readers.h"

namespace lowbit {
namespace {

// Special token ids: absent, or not a token id (llama.cpp writes 4294967295 for "none"), means unset.
int32_t special_id(const GgufFile& file, std::string_view key, size_t n_tokens) {
  const std::optional<int64_t> id = file.get_int(key);
  if (!id || *id < 0 || static_cast<uint64_t>(*id) >= n_tokens) return -1;
  return static_cast<int32_t>(*id);
}

}  // namespace

Vocab read_gguf_vocab(const GgufFile& file) {
  const std::string& path = file.path();
  Vocab vocab;
  const std::optional<std::string> model = file.get_string("tokenizer.ggml.model");
  if (!model) throw_error("{}: no tokenizer.ggml.model (the file has no vocabulary)", path);
  vocab.model = *model;
  if (vocab.model != "llama" && vocab.model != "gpt2") {
    throw_error("{}: tokenizer.ggml.model \"{}\" is not supported (supported: llama, gpt2)", path, vocab.model);
  }
  vocab.pre = file.get_string("tokenizer.ggml.pre").value_or("");

  std::optional<std::vector<std::string>> tokens = file.get_string_array("tokenizer.ggml.tokens");
  if (!tokens || tokens->empty()) throw_error("{}: tokenizer.ggml.tokens is missing or empty", path);
  vocab.tokens = std::move(*tokens);
  const size_t n = vocab.tokens.size();
  if (n > INT32_MAX) throw_error("{}: {} tokens is more than int32 token ids allow", path, n);

  if (auto scores = file.get_float_array("tokenizer.ggml.scores")) {
    if (scores->size() != n) throw_error("{}: tokenizer.ggml.scores has {} entries for {} tokens", path, scores->size(), n);
    vocab.scores = std::move(*scores);
  } else if (vocab.model == "llama") {
    throw_error("{}: a llama vocabulary needs tokenizer.ggml.scores", path);
  }
  if (auto types = file.get_int_array("tokenizer.ggml.token_type")) {
    if (types->size() != n) throw_error("{}: tokenizer.ggml.token_type has {} entries for {} tokens", path, types->size(), n);
    vocab.token_types.reserve(n);
    for (size_t id = 0; id < n; ++id) {
      const int64_t type = (*types)[id];
      if (type < 0 || type > static_cast<int64_t>(TokenType::kByte)) {
        throw_error("{}: tokenizer.ggml.token_type of token {} is {}, not a known type (0..6)", path, id, type);
      }
      vocab.token_types.push_back(static_cast<TokenType>(type));
    }
  }
  if (auto merges = file.get_string_array("tokenizer.ggml.merges")) {
    vocab.merges = std::move(*merges);
  } else if (vocab.model == "gpt2") {
    throw_error("{}: a gpt2 vocabulary needs tokenizer.ggml.merges", path);
  }

  vocab.bos_id = special_id(file, "tokenizer.ggml.bos_token_id", n);
  vocab.eos_id = special_id(file, "tokenizer.ggml.eos_token_id", n);
  vocab.unk_id = special_id(file, "tokenizer.ggml.unknown_token_id", n);
  vocab.pad_id = special_id(file, "tokenizer.ggml.padding_token_id", n);
  // Defaults as llama.cpp's: SentencePiece vocabularies add BOS and the dummy prefix, GPT-2 neither.
  const bool is_llama = vocab.model == "llama";
  vocab.add_bos = file.get_bool("tokenizer.ggml.add_bos_token").value_or(is_llama);
  vocab.add_eos = file.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  vocab.add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix").value_or(is_llama);
  return vocab;
}

}  // namespace lowbit
