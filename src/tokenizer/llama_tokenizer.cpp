#include "tokenizer/llama_tokenizer.h"

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace lowbit {

LlamaTokenizer::LlamaTokenizer(const Vocab& vocab) : vocab_(vocab), specials_(vocab) {
  byte_ids_.fill(-1);
  const int32_t n = vocab_size();
  display_text_.resize(n);
  for (int32_t id = 0; id < n; ++id) {
    const std::string& piece = vocab_.tokens[id];
    const TokenType type = type_of(id);
    if (type == TokenType::kByte) {
      if (auto byte = parse_byte_piece(piece)) {
        if (byte_ids_[*byte] < 0) byte_ids_[*byte] = id;
        display_text_[id] = std::string(1, static_cast<char>(*byte));
        continue;
      }
    }
    if (type == TokenType::kControl) continue;  // prints nothing
    display_text_[id] = markers_to_spaces(piece);
    // Text never turns into a control, unknown, byte or unused token by merging (SentencePiece's rule).
    if (type == TokenType::kNormal || type == TokenType::kUserDefined || type == TokenType::kUndefined) {
      mergeable_ids_.emplace(piece, id);
    }
  }
  merges_ = MergeRanks(vocab_.merges, [&](std::string_view piece) {
    const auto found = mergeable_ids_.find(piece);
    return found == mergeable_ids_.end() ? -1 : found->second;
  }, "llama");
}

TokenType LlamaTokenizer::type_of(int32_t id) const {
  return vocab_.token_types.empty() ? TokenType::kNormal : vocab_.token_types[id];
}

std::vector<int32_t> LlamaTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> ids;
  if (add_special && vocab_.add_bos && vocab_.bos_id >= 0) ids.push_back(vocab_.bos_id);
  bool after_special = true;  // the dummy prefix goes at the start and after every special token
  for (const TextFragment& fragment : specials_.split(text, parse_special)) {
    if (fragment.token >= 0) {
      ids.push_back(fragment.token);
      after_special = true;
      continue;
    }
    std::string normalized;
    if (vocab_.add_space_prefix && after_special) normalized = kSpaceMarker;
    normalized += spaces_to_markers(fragment.text);
    encode_normalized(normalized, ids);
    after_special = false;
  }
  if (add_special && vocab_.add_eos && vocab_.eos_id >= 0) ids.push_back(vocab_.eos_id);
  return ids;
}

std::vector<BpeSymbol> LlamaTokenizer::initial_symbols(std::string_view text) const {
  std::vector<BpeSymbol> symbols;
  symbols.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = decode_utf8(text, pos).length;
    const auto found = mergeable_ids_.find(text.substr(pos, length));
    const int32_t id = found == mergeable_ids_.end() ? -1 : found->second;
    if (id < 0 && !merges_.empty()) {
      // Hugging Face BPE falls back to bytes before merging (merges may then use byte tokens).
      for (size_t i = pos; i < pos + length; ++i) {
        symbols.push_back({static_cast<uint32_t>(i), 1, byte_ids_[static_cast<uint8_t>(text[i])]});
      }
    } else {
      symbols.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(length), id});
    }
    pos += length;
  }
  return symbols;
}

std::optional<BpeMerge> LlamaTokenizer::find_merge(std::string_view text, const BpeSymbol& left,
                                                   const BpeSymbol& right) const {
  if (!merges_.empty()) return merges_.find(left, right);
  const auto found = mergeable_ids_.find(text.substr(left.begin, left.length + right.length));
  if (found == mergeable_ids_.end()) return std::nullopt;
  return BpeMerge{-static_cast<double>(vocab_.scores[found->second]), found->second};
}

void LlamaTokenizer::encode_normalized(std::string_view text, std::vector<int32_t>& out) const {
  if (text.size() > UINT32_MAX) throw_error("text of {} bytes is too long to tokenize in one call", text.size());
  const std::vector<BpeSymbol> merged = merge_symbols(
      initial_symbols(text),
      [&](const BpeSymbol& left, const BpeSymbol& right) { return find_merge(text, left, right); });
  bool previous_was_unknown = false;
  for (const BpeSymbol& symbol : merged) {
    if (symbol.id >= 0) {
      out.push_back(symbol.id);
      previous_was_unknown = false;
      continue;
    }
    for (uint32_t i = symbol.begin; i < symbol.begin + symbol.length; ++i) {
      const int32_t byte_id = byte_ids_[static_cast<uint8_t>(text[i])];
      if (byte_id >= 0) {
        out.push_back(byte_id);
        previous_was_unknown = false;
      } else if (vocab_.unk_id < 0) {
        throw_error("text byte 0x{:02X} is not in the vocabulary, which has neither a byte token for it nor an "
                    "unknown token", static_cast<uint8_t>(text[i]));
      } else if (!previous_was_unknown) {
        out.push_back(vocab_.unk_id);
        previous_was_unknown = true;
      }
    }
  }
}

std::string LlamaTokenizer::decode_token(int32_t previous, int32_t id) const {
  if (id < 0 || id >= vocab_size()) throw_error("token id {} is out of range [0, {})", id, vocab_size());
  const std::string& text = display_text_[id];
  // The dummy prefix space is not part of the text: drop it at the start and after BOS.
  const bool at_start = previous < 0 || previous == vocab_.bos_id;
  if (vocab_.add_space_prefix && at_start && type_of(id) != TokenType::kByte && text.starts_with(' ')) {
    return text.substr(1);
  }
  return text;
}

}  // namespace lowbit
