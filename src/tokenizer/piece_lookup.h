// Helpers over vocabulary pieces shared by the tokenizers and the vocabulary readers.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace lowbit {

// Hash map from piece text to id that can be queried with a string_view (no allocation per lookup).
struct PieceHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
using PieceIds = std::unordered_map<std::string, int32_t, PieceHash, std::equal_to<>>;

// SentencePiece byte-fallback pieces are spelled "<0xHH>" (two upper-case hex digits).
std::optional<uint8_t> parse_byte_piece(std::string_view piece);

}  // namespace lowbit
