// UTF-8 helpers shared by the tokenizers. Malformed text is never rejected: a byte that does not start
// a valid sequence is treated as a one-byte character, so every input splits into characters that
// cover it exactly and round-trips through byte tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lowbit {

struct Utf8Char {
  uint32_t codepoint;  // U+FFFD for a malformed sequence
  size_t length;       // bytes consumed, >= 1
};

// Decodes the character starting at text[pos] (pos < text.size()).
Utf8Char decode_utf8(std::string_view text, size_t pos);

void append_utf8(std::string& out, uint32_t codepoint);

// The SentencePiece space marker U+2581 '▁'.
inline constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";

// Every ' ' replaced by '▁' (and back).
std::string spaces_to_markers(std::string_view text);
std::string markers_to_spaces(std::string_view text);

}  // namespace lowbit
