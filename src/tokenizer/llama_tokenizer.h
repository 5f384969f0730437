// SentencePiece-style BPE ("llama" vocabularies: GGUF tokenizer.ggml.model=llama, llama2.c
// tokenizer.bin, Hugging Face BPE over '▁'-normalized text).
//
// Text is normalized the SentencePiece way (a '▁' dummy prefix, every ' ' becomes '▁'), split into
// UTF-8 characters, and adjacent symbols are merged best-first:
//   - score-driven (SentencePiece / llama.cpp): a pair merges when its concatenation is a vocabulary
//     piece; the highest-scoring piece merges first;
//   - merge-driven (Hugging Face BPE, when Vocab::merges is not empty): a pair merges when it is
//     listed in the merges; the lowest rank merges first.
// Leftmost first on ties. Characters the vocabulary lacks become <0xXX> byte tokens, or the unknown
// token (one for a run of unknown characters) when the vocabulary has no byte tokens.
#pragma once

#include <array>
#include <optional>

#include "tokenizer/bpe_merger.h"
#include "tokenizer/piece_lookup.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {

class LlamaTokenizer final : public Tokenizer {
 public:
  // `vocab` has been checked by Tokenizer::create (ids in range, per-id arrays of the right size).
  explicit LlamaTokenizer(const Vocab& vocab);

  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const override;
  std::string decode_token(int32_t previous, int32_t id) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos_id() const override { return vocab_.bos_id; }
  int32_t eos_id() const override { return vocab_.eos_id; }

 private:
  // Appends the tokens of text that is already normalized ('▁' for spaces, dummy prefix added).
  void encode_normalized(std::string_view text, std::vector<int32_t>& out) const;
  std::vector<BpeSymbol> initial_symbols(std::string_view text) const;
  std::optional<BpeMerge> find_merge(std::string_view text, const BpeSymbol& left, const BpeSymbol& right) const;
  TokenType type_of(int32_t id) const;

  Vocab vocab_;
  PieceIds mergeable_ids_;                           // normal and user-defined pieces
  MergeRanks merges_;                                // empty when scores drive the merging
  std::array<int32_t, 256> byte_ids_;                // <0xXX> token per byte, -1 when absent
  std::vector<std::string> display_text_;            // per id: what decode prints ('▁' -> ' ', bytes raw)
  SpecialTokenMatcher specials_;
};

}  // namespace lowbit
