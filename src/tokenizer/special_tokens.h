// Finding control and user-defined token text inside the input, before the text is tokenized.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace lowbit {

// A piece of the input: raw text to tokenize (token == -1), or a special token found in it.
struct TextFragment {
  std::string_view text;
  int32_t token = -1;
};

class SpecialTokenMatcher {
 public:
  // User-defined tokens are always matched; control and unknown tokens only with parse_special (as
  // llama.cpp does). Tokens with empty text are ignored.
  explicit SpecialTokenMatcher(const Vocab& vocab);

  // Splits text at special tokens, scanning left to right and taking the longest token that starts at
  // each position (Hugging Face's added-token rule).
  std::vector<TextFragment> split(std::string_view text, bool parse_special) const;

 private:
  struct Special {
    std::string text;
    int32_t id;
    bool needs_parse_special;
  };
  std::vector<Special> by_first_byte_[256];  // each list longest first
};

}  // namespace lowbit
