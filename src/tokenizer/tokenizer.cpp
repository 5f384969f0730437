#include "tokenizer/tokenizer.h"

#include "core/error.h"
#include "tokenizer/gpt2_tokenizer.h"
#include "tokenizer/llama_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"

namespace lowbit {
namespace {

// The consistency every tokenizer relies on, so that no id or per-id array is ever out of range.
void check_vocab(const Vocab& vocab) {
  const size_t n = vocab.tokens.size();
  if (n == 0) throw_error("{} vocabulary has no tokens", vocab.model);
  if (n > INT32_MAX) throw_error("{} vocabulary has {} tokens, more than int32 ids allow", vocab.model, n);
  if (!vocab.scores.empty() && vocab.scores.size() != n) {
    throw_error("{} vocabulary has {} scores for {} tokens", vocab.model, vocab.scores.size(), n);
  }
  if (!vocab.token_types.empty() && vocab.token_types.size() != n) {
    throw_error("{} vocabulary has {} token types for {} tokens", vocab.model, vocab.token_types.size(), n);
  }
  for (const TokenType type : vocab.token_types) {
    if (static_cast<int32_t>(type) < 0 || static_cast<int32_t>(type) > static_cast<int32_t>(TokenType::kByte)) {
      throw_error("{} vocabulary has an invalid token type {}", vocab.model, static_cast<int32_t>(type));
    }
  }
  const std::pair<const char*, int32_t> special_ids[] = {
      {"BOS", vocab.bos_id}, {"EOS", vocab.eos_id}, {"unknown", vocab.unk_id}, {"padding", vocab.pad_id}};
  for (const auto& [what, id] : special_ids) {
    if (id < -1 || id >= static_cast<int64_t>(n)) {
      throw_error("{} vocabulary: {} token id {} is out of range [0, {})", vocab.model, what, id, n);
    }
  }
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::create(const Vocab& vocab) {
  if (!vocab.sentencepiece_model_path.empty()) return std::make_unique<SentencePieceTokenizer>(vocab);
  check_vocab(vocab);
  if (vocab.model == "llama") {
    if (vocab.merges.empty() && vocab.scores.empty()) throw_error("llama vocabulary has neither scores nor merges");
    return std::make_unique<LlamaTokenizer>(vocab);
  }
  if (vocab.model == "gpt2") return std::make_unique<Gpt2Tokenizer>(vocab);
  throw_error("tokenizer model \"{}\" is not supported (supported: llama, gpt2, a SentencePiece model file)",
              vocab.model);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string text;
  int32_t previous = -1;
  for (const int32_t id : ids) {
    text += decode_token(previous, id);
    previous = id;
  }
  return text;
}

}  // namespace lowbit
