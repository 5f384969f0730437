// SentencePiece-style BPE on small hand-made vocabularies, where every expected id is worked out by
// hand from the merge rules.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {
namespace test_llama_tokenizer {

struct Piece {
  std::string text;
  float score = 0;
  TokenType type = TokenType::kNormal;
};

// ids: 0 <unk>, 1 <s>, 2 </s>, then `pieces` from 3 on.
Vocab make_vocab(const std::vector<Piece>& pieces) {
  Vocab vocab;
  vocab.model = "llama";
  const std::vector<Piece> specials = {{"<unk>", 0, TokenType::kUnknown}, {"<s>", 0, TokenType::kControl},
                                       {"</s>", 0, TokenType::kControl}};
  for (const auto* list : {&specials, &pieces}) {
    for (const Piece& piece : *list) {
      vocab.tokens.push_back(piece.text);
      vocab.scores.push_back(piece.score);
      vocab.token_types.push_back(piece.type);
    }
  }
  vocab.unk_id = 0;
  vocab.bos_id = 1;
  vocab.eos_id = 2;
  return vocab;
}

using Ids = std::vector<int32_t>;

// 3 ▁, 4 a, 5 b, 6 c, 7 ab, 8 bc, 9 ▁a
const std::vector<Piece> kPieces = {{"▁", -1}, {"a", -2}, {"b", -2}, {"c", -2}, {"ab", -5}, {"bc", -1}, {"▁a", -9}};

TEST(LlamaTokenizer, HighestScoreMergesFirst) {
  const auto tokenizer = Tokenizer::create(make_vocab(kPieces));
  // "▁abc": bc (-1) beats ab (-5) and ▁a (-9); then ▁a (-9) is the only pair left.
  EXPECT_EQ(tokenizer->encode("abc", false), (Ids{9, 8}));
  EXPECT_EQ(tokenizer->encode("abc", true), (Ids{1, 9, 8}));
  EXPECT_EQ(tokenizer->encode("", false), Ids{});
  EXPECT_EQ(tokenizer->encode("", true), Ids{1});
}

TEST(LlamaTokenizer, MergeRanksReplaceScoresWhenGiven) {
  Vocab vocab = make_vocab(kPieces);
  vocab.scores.clear();
  vocab.merges = {"a b", "b c"};  // a+b is merged first, then nothing else applies
  const auto tokenizer = Tokenizer::create(vocab);
  EXPECT_EQ(tokenizer->encode("abc", false), (Ids{3, 7, 6}));
}

TEST(LlamaTokenizer, TiesMergeLeftmostFirst) {
  const auto tokenizer = Tokenizer::create(make_vocab({{"▁", -1}, {"a", -1}, {"aa", -1}}));
  EXPECT_EQ(tokenizer->encode("aaa", false), (Ids{3, 5, 4}));
}

TEST(LlamaTokenizer, MissingCharactersUseByteTokensOrOneUnknownPerRun) {
  std::vector<Piece> pieces = kPieces;
  for (const char* byte : {"<0xC3>", "<0xA9>"}) pieces.push_back({byte, 0, TokenType::kByte});  // ids 10, 11
  const auto with_bytes = Tokenizer::create(make_vocab(pieces));
  EXPECT_EQ(with_bytes->encode("a\xC3\xA9", false), (Ids{9, 10, 11}));
  EXPECT_EQ(with_bytes->decode({9, 10, 11}), "a\xC3\xA9");

  const auto without_bytes = Tokenizer::create(make_vocab(kPieces));
  EXPECT_EQ(without_bytes->encode("a\xC3\xA9\xC3\xA9 b", false), (Ids{9, 0, 3, 5}));
}

TEST(LlamaTokenizer, SpecialTokensAndTheDummyPrefix) {
  std::vector<Piece> pieces = kPieces;
  pieces.push_back({"<sep>", 0, TokenType::kUserDefined});  // id 10
  const auto tokenizer = Tokenizer::create(make_vocab(pieces));
  // Control text is only a token with parse_special; user-defined text always is. Raw text after a
  // special token gets the dummy prefix again (llama.cpp's rule).
  EXPECT_EQ(tokenizer->encode("a<s>a", false, true), (Ids{9, 1, 9}));
  EXPECT_EQ(tokenizer->encode("a<sep>a", false, false), (Ids{9, 10, 9}));
  EXPECT_EQ(tokenizer->encode("<s>", false, true), Ids{1});
}

TEST(LlamaTokenizer, DecodeDropsTheDummyPrefixAtTheStartAndAfterBos) {
  const auto tokenizer = Tokenizer::create(make_vocab(kPieces));
  EXPECT_EQ(tokenizer->decode_token(-1, 9), "a");
  EXPECT_EQ(tokenizer->decode_token(1, 9), "a");
  EXPECT_EQ(tokenizer->decode_token(4, 9), " a");
  EXPECT_EQ(tokenizer->decode_token(4, 1), "");  // control tokens print nothing
  EXPECT_EQ(tokenizer->decode({1, 9, 8, 9, 2}), "abc a");
  EXPECT_EQ(tokenizer->decode(tokenizer->encode(" a  b", false)), " a  b");
  EXPECT_THROW(tokenizer->decode_token(-1, 100), Error);
}

TEST(LlamaTokenizer, LongTextIsFast) {
  // One 600 KB "word" (no pre-tokenizer): the merge loop must not be quadratic.
  const auto tokenizer = Tokenizer::create(make_vocab(kPieces));
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "abc";
  const Ids ids = tokenizer->encode(text, false);
  EXPECT_EQ(ids.size(), 400000u);  // ▁a, bc, then (a, bc) 199999 times
  EXPECT_EQ(tokenizer->decode(ids), text);
}

TEST(Tokenizer, CreateRejectsInconsistentVocabularies) {
  const auto expect_error = [](const Vocab& vocab, const std::string& part) {
    try {
      Tokenizer::create(vocab);
      ADD_FAILURE() << "no error for " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  Vocab vocab = make_vocab(kPieces);
  vocab.model = "wordpiece";
  expect_error(vocab, "\"wordpiece\" is not supported");
  vocab = make_vocab(kPieces);
  vocab.scores.pop_back();
  expect_error(vocab, "9 scores for 10 tokens");
  vocab = make_vocab(kPieces);
  vocab.bos_id = 10;
  expect_error(vocab, "BOS token id 10 is out of range");
  vocab = make_vocab(kPieces);
  vocab.scores.clear();
  expect_error(vocab, "neither scores nor merges");
  vocab = make_vocab(kPieces);
  vocab.merges = {"a c"};
  expect_error(vocab, "merge 0 \"a c\"");
  vocab = make_vocab(kPieces);
  vocab.model = "gpt2";
  expect_error(vocab, "gpt2 vocabulary has no token for byte 0x00");
  vocab = Vocab();
  vocab.model = "llama";
  expect_error(vocab, "no tokens");
}

}  // namespace test_llama_tokenizer
}  // namespace lowbit
