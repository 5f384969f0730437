#include "tokenizer/gpt2_tokenizer.h"

#include "core/error.h"
#include "tokenizer/gpt2_pretokenizer.h"
#include "tokenizer/piece_lookup.h"
#include "tokenizer/utf8.h"

namespace lowbit {
namespace {

// GPT-2's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the other 68 bytes map
// in order to U+0100, U+0101, ...
std::array<uint32_t, 256> byte_to_codepoint() {
  std::array<uint32_t, 256> table{};
  uint32_t next_extra = 0x100;
  for (uint32_t byte = 0; byte < 256; ++byte) {
    const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
    table[byte] = printable ? byte : next_extra++;
  }
  return table;
}

}  // namespace

Gpt2Tokenizer::Gpt2Tokenizer(const Vocab& vocab) : vocab_(vocab), specials_(vocab) {
  PieceIds ids;
  for (size_t id = 0; id < vocab_.tokens.size(); ++id) ids.emplace(vocab_.tokens[id], static_cast<int32_t>(id));
  const auto id_of = [&](std::string_view piece) {
    const auto found = ids.find(piece);
    return found == ids.end() ? -1 : found->second;
  };

  const std::array<uint32_t, 256> codepoints = byte_to_codepoint();
  std::unordered_map<uint32_t, uint8_t> byte_of_codepoint;
  for (uint32_t byte = 0; byte < 256; ++byte) {
    std::string piece;
    append_utf8(piece, codepoints[byte]);
    byte_ids_[byte] = id_of(piece);
    if (byte_ids_[byte] < 0) throw_error("gpt2 vocabulary has no token for byte 0x{:02X} (\"{}\")", byte, piece);
    byte_of_codepoint.emplace(codepoints[byte], static_cast<uint8_t>(byte));
  }

  merges_ = MergeRanks(vocab_.merges, id_of, "gpt2");

  token_bytes_.resize(vocab_.tokens.size());
  for (size_t id = 0; id < vocab_.tokens.size(); ++id) {
    if (!vocab_.token_types.empty() && vocab_.token_types[id] == TokenType::kControl) continue;
    const std::string& piece = vocab_.tokens[id];
    // Pieces outside the byte alphabet (added tokens such as "<|endoftext|>") print as they are.
    for (size_t pos = 0; pos < piece.size();) {
      const Utf8Char c = decode_utf8(piece, pos);
      const auto byte = byte_of_codepoint.find(c.codepoint);
      if (byte != byte_of_codepoint.end()) {
        token_bytes_[id] += static_cast<char>(byte->second);
      } else {
        token_bytes_[id] += piece.substr(pos, c.length);
      }
      pos += c.length;
    }
  }
}

std::vector<int32_t> Gpt2Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> ids;
  if (add_special && vocab_.add_bos && vocab_.bos_id >= 0) ids.push_back(vocab_.bos_id);
  for (const TextFragment& fragment : specials_.split(text, parse_special)) {
    if (fragment.token >= 0) {
      ids.push_back(fragment.token);
      continue;
    }
    for (std::string_view word : gpt2_pretokenize(fragment.text)) encode_word(word, ids);
  }
  if (add_special && vocab_.add_eos && vocab_.eos_id >= 0) ids.push_back(vocab_.eos_id);
  return ids;
}

void Gpt2Tokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() > UINT32_MAX) throw_error("a word of {} bytes is too long to tokenize", word.size());
  std::vector<BpeSymbol> symbols(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    symbols[i] = {static_cast<uint32_t>(i), 1, byte_ids_[static_cast<uint8_t>(word[i])]};
  }
  const auto find_merge = [this](const BpeSymbol& left, const BpeSymbol& right) { return merges_.find(left, right); };
  for (const BpeSymbol& symbol : merge_symbols(symbols, find_merge)) out.push_back(symbol.id);
}

std::string Gpt2Tokenizer::decode_token(int32_t /*previous*/, int32_t id) const {
  if (id < 0 || id >= vocab_size()) throw_error("token id {} is out of range [0, {})", id, vocab_size());
  return token_bytes_[id];
}

}  // namespace lowbit
