// The few Unicode character properties the GPT-2 pre-tokenizer pattern needs (\p{L}, \p{N}, \s).
#pragma once

#include <cstdint>

namespace lowbit {

enum class CharClass : uint8_t { kOther, kLetter, kNumber, kWhitespace };

// General category L* -> kLetter, N* -> kNumber, White_Space property -> kWhitespace, else kOther.
CharClass classify_codepoint(uint32_t codepoint);

}  // namespace lowbit
