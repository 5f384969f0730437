// A SentencePiece model file (tokenizer.model) run through libsentencepiece, for Hugging Face folders
// that ship no tokenizer.json. The model is used whole (normalizer included) rather than converted.
#pragma once

#include <memory>

#include "tokenizer/special_tokens.h"
#include "tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace lowbit {

// The vocabulary of a SentencePiece model file: model "sentencepiece", its pieces (with '▁'), scores,
// token types and special ids, and sentencepiece_model_path set. Throws lowbit::Error naming the path
// when the file cannot be loaded.
Vocab read_sentencepiece_vocab(const std::string& model_path);

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // Loads vocab.sentencepiece_model_path. BOS/EOS ids and add_bos/add_eos come from `vocab` (a reader
  // may have taken them from tokenizer_config.json); its pieces, when given, must match the model's.
  explicit SentencePieceTokenizer(const Vocab& vocab);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const override;
  std::string decode_token(int32_t previous, int32_t id) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos_id() const override { return vocab_.bos_id; }
  int32_t eos_id() const override { return vocab_.eos_id; }

 private:
  std::string piece_text(int32_t id) const;  // what the piece stands for, before the dummy-prefix rule

  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  Vocab vocab_;
  SpecialTokenMatcher specials_;
  bool adds_dummy_prefix_ = false;
};

}  // namespace lowbit
