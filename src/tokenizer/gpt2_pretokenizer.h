// GPT-2's pre-tokenizer: splits text into the words that byte-level BPE then merges inside, matching
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// by hand (std::regex has no Unicode classes). Words are byte spans covering the text exactly.
#pragma once

#include <string_view>
#include <vector>

namespace lowbit {

std::vector<std::string_view> gpt2_pretokenize(std::string_view text);

}  // namespace lowbit
