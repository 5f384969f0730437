#include "tokenizer/gpt2_pretokenizer.h"

#include <array>

#include "tokenizer/unicode_categories.h"
#include "tokenizer/utf8.h"

namespace lowbit {
namespace {

// The text as characters with their class and byte offset; a sentinel past the end has class kOther
// and is never matched, so lookahead needs no bounds checks.
struct ClassifiedChar {
  size_t offset;
  CharClass kind;
};

std::vector<ClassifiedChar> classify(std::string_view text) {
  std::vector<ClassifiedChar> chars;
  chars.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    const Utf8Char c = decode_utf8(text, pos);
    chars.push_back({pos, classify_codepoint(c.codepoint)});
    pos += c.length;
  }
  chars.push_back({text.size(), CharClass::kOther});
  return chars;
}

// Length in bytes of the contraction ('s 't 're 've 'm 'll 'd) at text[pos], or 0.
size_t contraction_length(std::string_view text, size_t pos) {
  static constexpr std::array<std::string_view, 7> kContractions = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
  for (std::string_view contraction : kContractions) {
    if (text.substr(pos).starts_with(contraction)) return contraction.size();
  }
  return 0;
}

}  // namespace

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
  const std::vector<ClassifiedChar> chars = classify(text);
  const size_t n = chars.size() - 1;  // characters, without the sentinel
  std::vector<std::string_view> words;
  size_t i = 0;
  const auto emit_until = [&](size_t end) {
    words.push_back(text.substr(chars[i].offset, chars[end].offset - chars[i].offset));
    i = end;
  };
  // Extends a run of characters of one class starting at `from`.
  const auto run_end = [&](size_t from, auto in_class) {
    while (from < n && in_class(chars[from].kind)) ++from;
    return from;
  };
  while (i < n) {
    if (const size_t length = contraction_length(text, chars[i].offset)) {
      // Contractions are ASCII, so bytes and characters coincide.
      emit_until(i + length);
      continue;
    }
    // " ?X+" for X in \p{L}, \p{N}, [^\s\p{L}\p{N}] (kOther): an optional ASCII space, then a run of one class.
    const size_t start = text[chars[i].offset] == ' ' ? i + 1 : i;
    if (start < n) {
      const CharClass kind = chars[start].kind;
      if (kind != CharClass::kWhitespace) {
        emit_until(run_end(start, [kind](CharClass k) { return k == kind; }));
        continue;
      }
    }
    // Whitespace. \s+(?!\S): the run, minus its last character when a non-space follows (unless that
    // would leave nothing, in which case \s+ takes the single character).
    const size_t end = run_end(i, [](CharClass k) { return k == CharClass::kWhitespace; });
    if (end < n && end - i > 1) {
      emit_until(end - 1);
    } else {
      emit_until(end);
    }
  }
  return words;
}

}  // namespace lowbit
