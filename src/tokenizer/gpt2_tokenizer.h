// GPT-2 byte-level BPE ("gpt2" vocabularies: GGUF tokenizer.ggml.model=gpt2 with tokenizer.ggml.merges).
//
// Pieces are spelled in GPT-2's byte-to-unicode alphabet (every byte is a printable character, e.g.
// ' ' is 'Ġ'). Text is split by the GPT-2 pre-tokenizer; inside each word, bytes start as their
// one-character tokens and adjacent pairs merge lowest merge rank first (leftmost on ties).
#pragma once

#include <array>

#include "tokenizer/bpe_merger.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {

class Gpt2Tokenizer final : public Tokenizer {
 public:
  // `vocab` has been checked by Tokenizer::create. Throws lowbit::Error when a byte has no token or a
  // merge does not name vocabulary pieces.
  explicit Gpt2Tokenizer(const Vocab& vocab);

  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const override;
  std::string decode_token(int32_t previous, int32_t id) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos_id() const override { return vocab_.bos_id; }
  int32_t eos_id() const override { return vocab_.eos_id; }

 private:
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  Vocab vocab_;
  std::array<int32_t, 256> byte_ids_;               // the one-character token of each byte
  MergeRanks merges_;
  std::vector<std::string> token_bytes_;            // per id: the bytes it stands for ("" for control)
  SpecialTokenMatcher specials_;
};

}  // namespace lowbit
