// The hand-written GPT-2 pre-tokenizer against splits worked out from the pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
#include <gtest/gtest.h>

#include "tokenizer/gpt2_pretokenizer.h"
#include "tokenizer/unicode_categories.h"

namespace lowbit {
namespace test_gpt2_pretokenizer {

using Words = std::vector<std::string_view>;

TEST(Gpt2Pretokenizer, LettersNumbersAndPunctuationTakeOneLeadingSpace) {
  EXPECT_EQ(gpt2_pretokenize("Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(gpt2_pretokenize("Hello, world!"), (Words{"Hello", ",", " world", "!"}));
  EXPECT_EQ(gpt2_pretokenize("w048 7tuijk"), (Words{"w", "048", " 7", "tuijk"}));
  EXPECT_EQ(gpt2_pretokenize("3.3 3...3"), (Words{"3", ".", "3", " 3", "...", "3"}));
  EXPECT_EQ(gpt2_pretokenize(" this is 🦙.cpp"), (Words{" this", " is", " 🦙.", "cpp"}));
}

TEST(Gpt2Pretokenizer, ContractionsAreLowerCaseOnly) {
  EXPECT_EQ(gpt2_pretokenize("I've he's"), (Words{"I", "'ve", " he", "'s"}));
  EXPECT_EQ(gpt2_pretokenize("'RE 'll"), (Words{"'", "RE", " '", "ll"}));
}

TEST(Gpt2Pretokenizer, WhitespaceRunsLeaveTheirLastSpaceToTheNextWord) {
  EXPECT_EQ(gpt2_pretokenize("   Hello"), (Words{"  ", " Hello"}));
  EXPECT_EQ(gpt2_pretokenize("a \n\n b"), (Words{"a", " \n\n", " b"}));
  EXPECT_EQ(gpt2_pretokenize("a\nb"), (Words{"a", "\n", "b"}));
  EXPECT_EQ(gpt2_pretokenize("end  \t\n"), (Words{"end", "  \t\n"}));
  EXPECT_EQ(gpt2_pretokenize(" "), (Words{" "}));
  EXPECT_EQ(gpt2_pretokenize(""), Words{});
}

TEST(Gpt2Pretokenizer, NonAsciiLettersNumbersAndMarks) {
  EXPECT_EQ(gpt2_pretokenize("Äpfel нещо 天～"), (Words{"Äpfel", " нещо", " 天", "～"}));
  EXPECT_EQ(gpt2_pretokenize("x½²"), (Words{"x", "½²"}));  // No (other number) is \p{N}
  // Khmer vowel signs are marks (Mn/Mc), neither letters nor numbers.
  EXPECT_EQ(gpt2_pretokenize("កា"), (Words{"ក", "ា"}));
  // A no-break space is whitespace but not the optional ASCII space.
  EXPECT_EQ(gpt2_pretokenize("a\u00A0b"), (Words{"a", "\u00A0", "b"}));
}

TEST(Gpt2Pretokenizer, MalformedUtf8StaysCoveredByteForByte) {
  const std::string text = "ab\xFF\xC3 cd\xE2\x82";
  std::string joined;
  for (std::string_view word : gpt2_pretokenize(text)) joined += word;
  EXPECT_EQ(joined, text);
}

TEST(UnicodeCategories, Classes) {
  EXPECT_EQ(classify_codepoint('a'), CharClass::kLetter);
  EXPECT_EQ(classify_codepoint('7'), CharClass::kNumber);
  EXPECT_EQ(classify_codepoint(' '), CharClass::kWhitespace);
  EXPECT_EQ(classify_codepoint(0x3000), CharClass::kWhitespace);
  EXPECT_EQ(classify_codepoint('!'), CharClass::kOther);
  EXPECT_EQ(classify_codepoint(0x4E00), CharClass::kLetter);   // CJK ideograph
  EXPECT_EQ(classify_codepoint(0x2164), CharClass::kNumber);   // Roman numeral five (Nl)
  EXPECT_EQ(classify_codepoint(0x1F999), CharClass::kOther);   // emoji
  EXPECT_EQ(classify_codepoint(0x10FFFF), CharClass::kOther);
}

}  // namespace test_gpt2_pretokenizer
}  // namespace lowbit
