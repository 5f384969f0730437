#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace lowbit {

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab) {
  for (size_t id = 0; id < vocab.token_types.size() && id < vocab.tokens.size(); ++id) {
    const TokenType type = vocab.token_types[id];
    const bool user_defined = type == TokenType::kUserDefined;
    if (!user_defined && type != TokenType::kControl && type != TokenType::kUnknown) continue;
    const std::string& text = vocab.tokens[id];
    if (text.empty()) continue;
    by_first_byte_[static_cast<uint8_t>(text[0])].push_back({text, static_cast<int32_t>(id), !user_defined});
  }
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(),
                     [](const Special& a, const Special& b) { return a.text.size() > b.text.size(); });
  }
}

std::vector<TextFragment> SpecialTokenMatcher::split(std::string_view text, bool parse_special) const {
  std::vector<TextFragment> fragments;
  size_t raw_begin = 0;
  for (size_t pos = 0; pos < text.size();) {
    const Special* found = nullptr;
    for (const Special& special : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
      if ((parse_special || !special.needs_parse_special) && text.substr(pos).starts_with(special.text)) {
        found = &special;
        break;
      }
    }
    if (!found) {
      ++pos;
      continue;
    }
    if (pos > raw_begin) fragments.push_back({text.substr(raw_begin, pos - raw_begin)});
    fragments.push_back({text.substr(pos, found->text.size()), found->id});
    pos += found->text.size();
    raw_begin = pos;
  }
  if (raw_begin < text.size()) fragments.push_back({text.substr(raw_begin)});
  return fragments;
}

}  // namespace lowbit
