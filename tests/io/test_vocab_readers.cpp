// Vocabulary readers: what each file format yields, the llama2.c quirks undone, and clear errors for
// malformed or unsupported files. A SentencePiece tokenizer.model is trained at test time.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "io/gguf.h"
#include "io/vocab_readers.h"
#include "tokenizer/tokenizer.h"

#ifdef LOWBIT_HAVE_SENTENCEPIECE_TRAINER
#include <sentencepiece_trainer.h>
#endif

namespace lowbit {
namespace test_vocab_readers {

const std::string kData = LOWBIT_SOURCE_DIR "/testdata/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A fresh folder per test under the build tree (tests may run in parallel).
std::filesystem::path scratch_folder() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path folder =
      std::filesystem::path(LOWBIT_BINARY_DIR) / "test-scratch" / "vocab_readers" / info->name();
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  return folder;
}

// Expects a lowbit::Error whose message contains `part`.
template <typename F>
void expect_error(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(VocabReaders, GgufLlamaVocabulary) {
  const Vocab vocab = read_gguf_vocab(GgufFile::open(kData + "tokenizer-tests/ggml-vocab-llama-spm.gguf"));
  EXPECT_EQ(vocab.model, "llama");
  EXPECT_EQ(vocab.pre, "default");
  ASSERT_EQ(vocab.tokens.size(), 32000u);
  EXPECT_EQ(vocab.scores.size(), 32000u);
  EXPECT_EQ(vocab.token_types.size(), 32000u);
  EXPECT_EQ(vocab.tokens[1], "<s>");
  EXPECT_EQ(vocab.token_types[1], TokenType::kControl);
  EXPECT_EQ(vocab.tokens[3], "<0x00>");
  EXPECT_EQ(vocab.token_types[3], TokenType::kByte);
  EXPECT_EQ(vocab.bos_id, 1);
  EXPECT_EQ(vocab.eos_id, 2);
  EXPECT_EQ(vocab.unk_id, 0);
  EXPECT_TRUE(vocab.add_bos);
  EXPECT_FALSE(vocab.add_eos);
  EXPECT_TRUE(vocab.add_space_prefix);
}

TEST(VocabReaders, GgufGpt2Vocabulary) {
  const Vocab vocab = read_gguf_vocab(GgufFile::open(kData + "tokenizer-tests/ggml-vocab-gpt-2.gguf"));
  EXPECT_EQ(vocab.model, "gpt2");
  EXPECT_EQ(vocab.pre, "gpt-2");
  EXPECT_EQ(vocab.tokens.size(), 50257u);
  EXPECT_EQ(vocab.merges.size(), 50000u);
  EXPECT_EQ(vocab.bos_id, 50256);
  EXPECT_EQ(vocab.eos_id, 50256);
  EXPECT_FALSE(vocab.add_space_prefix);
}

TEST(VocabReaders, Tok512BinEqualsTheGgufVocabulary) {
  // tokenizer.bin spells '▁' as ' ' and BOS/EOS as "\n<s>\n"/"\n</s>\n"; the reader undoes both.
  const Vocab bin = read_llama2c_tokenizer(kData + "stories260K/tok512.bin", 512);
  const Vocab gguf = read_gguf_vocab(GgufFile::open(kData + "stories260K/stories260K.gguf"));
  EXPECT_EQ(bin.model, "llama");
  EXPECT_EQ(bin.tokens, gguf.tokens);
  EXPECT_EQ(bin.scores, gguf.scores);
  EXPECT_EQ(bin.token_types, gguf.token_types);
  EXPECT_EQ(bin.bos_id, gguf.bos_id);
  EXPECT_EQ(bin.eos_id, gguf.eos_id);
  EXPECT_EQ(bin.unk_id, gguf.unk_id);
  EXPECT_EQ(bin.add_bos, gguf.add_bos);
  EXPECT_EQ(bin.add_space_prefix, gguf.add_space_prefix);
}

TEST(VocabReaders, Llama2cTokenizerRejectsWrongVocabSizeAndTruncation) {
  const std::string path = kData + "stories260K/tok512.bin";
  expect_error([&] { read_llama2c_tokenizer(path, 511); }, "bytes follow the 511 tokens");
  expect_error([&] { read_llama2c_tokenizer(path, 513); }, "file ends");
  expect_error([&] { read_llama2c_tokenizer(path, int64_t{1} << 40); }, "does not fit");
  const std::filesystem::path truncated = scratch_folder() / "tok.bin";
  write_file(truncated, read_file(path).substr(0, 1000));
  expect_error([&] { read_llama2c_tokenizer(truncated.string(), 512); }, truncated.string());
}

TEST(VocabReaders, TinyStoriesTokenizerJson) {
  const Vocab vocab = read_hf_tokenizer(kData + "tinystories-656K");
  EXPECT_EQ(vocab.model, "llama");
  ASSERT_EQ(vocab.tokens.size(), 2048u);
  EXPECT_EQ(vocab.merges.size(), 1967u);
  EXPECT_TRUE(vocab.scores.empty());
  EXPECT_EQ(vocab.tokens[1], "<|start_story|>");
  EXPECT_EQ(vocab.token_types[1], TokenType::kControl);
  EXPECT_EQ(vocab.token_types[0], TokenType::kUnknown);
  EXPECT_EQ(vocab.tokens[3], "\n");
  EXPECT_EQ(vocab.token_types[3], TokenType::kNormal);
  EXPECT_EQ(vocab.unk_id, 0);
  EXPECT_EQ(vocab.bos_id, 1);  // from the post-processor
  EXPECT_EQ(vocab.eos_id, 2);  // from tokenizer_config.json
  EXPECT_TRUE(vocab.add_bos);
  EXPECT_FALSE(vocab.add_eos);
  EXPECT_TRUE(vocab.add_space_prefix);

  const auto tokenizer = Tokenizer::create(vocab);
  const std::string text = "Once upon a time,\nthere was a dog.";
  const std::vector<int32_t> ids = tokenizer->encode(text, true);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(tokenizer->decode(ids), text);
  // parse_special turns the control text into its token; without it the text is spelled out.
  EXPECT_EQ(tokenizer->encode("<|end_story|>", false, true), std::vector<int32_t>{2});
  EXPECT_GT(tokenizer->encode("<|end_story|>", false, false).size(), 1u);
  // No byte tokens in this vocabulary: characters it lacks become one <unk> per run.
  const std::vector<int32_t> unknown = tokenizer->encode("a \xE2\x82\xAC\xE2\x82\xAC b", false);
  EXPECT_EQ(std::count(unknown.begin(), unknown.end(), 0), 1);
}

// The TinyStories tokenizer.json with one edit, parsed.
Vocab parse_edited(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json root = nlohmann::json::parse(read_file(kData + "tinystories-656K/tokenizer.json"));
  edit(root);
  return parse_hf_tokenizer_json(root.dump(), "edited.json");
}

TEST(VocabReaders, TokenizerJsonRejectsWhatItDoesNotSupport) {
  expect_error([] { parse_hf_tokenizer_json("{\"model\": ", "cut.json"); }, "cut.json");
  expect_error([] { parse_hf_tokenizer_json("[1, 2]", "array.json"); }, "array.json: not a tokenizer.json object");
  expect_error([] { parse_edited([](auto& j) { j["model"]["type"] = "WordPiece"; }); }, "\"WordPiece\" is not supported");
  expect_error([] { parse_edited([](auto& j) { j["pre_tokenizer"] = {{"type", "ByteLevel"}}; }); },
               "pre-tokenizer \"ByteLevel\" is not supported");
  expect_error([] { parse_edited([](auto& j) { j["normalizer"] = {{"type", "NFKC"}}; }); }, "NFKC");
  expect_error([] { parse_edited([](auto& j) { j["model"]["dropout"] = 0.1; }); }, "dropout");
  expect_error([] { parse_edited([](auto& j) { j["model"]["vocab"]["extra"] = 5000; }); }, "outside the");
  expect_error([] { parse_edited([](auto& j) { j["model"]["vocab"].erase("!"); }); }, "no token has id 4");
  expect_error([] { parse_edited([](auto& j) { j["model"]["merges"] = nlohmann::json::array(); }); }, "no merges");
  expect_error([] { parse_edited([](auto& j) { j["model"]["vocab"]["\n"] = "three"; }); }, "id \"three\" is not an integer");
  expect_error([] { parse_edited([](auto& j) { j["model"]["vocab"]["\n"] = 4.4e64; }); }, "is not an integer");
  // A merge that names no pieces is caught when the tokenizer is built.
  const Vocab bad_merge = parse_edited([](auto& j) { j["model"]["merges"][0] = "no-such-piece e"; });
  expect_error([&] { Tokenizer::create(bad_merge); }, "merge 0 \"no-such-piece e\"");
}

TEST(VocabReaders, TokenizerJsonMergesAsPairs) {
  // Newer tokenizer.json files write merges as ["left", "right"]; both forms give the same vocabulary.
  const Vocab strings = parse_edited([](auto&) {});
  const Vocab pairs = parse_edited([](auto& j) {
    for (auto& merge : j["model"]["merges"]) {
      const std::string text = merge.template get<std::string>();
      const size_t space = text.find(' ');
      merge = nlohmann::json::array({text.substr(0, space), text.substr(space + 1)});
    }
  });
  EXPECT_EQ(pairs.merges, strings.merges);
}

TEST(VocabReaders, FolderWithoutTokenizer) {
  const std::filesystem::path folder = scratch_folder();
  expect_error([&] { read_hf_tokenizer(folder.string()); }, "no tokenizer.json or tokenizer.model");
}

#ifdef LOWBIT_HAVE_SENTENCEPIECE_TRAINER
// Trains a small byte-fallback BPE SentencePiece model on a few KB of the calibration text, with
// LLaMA's settings (no normalization, whitespace kept) so that decoding gives the text back.
std::filesystem::path train_sentencepiece_model(const std::filesystem::path& folder) {
  const std::string text = read_file(kData + "text/tinystories_valid_calib.txt").substr(0, 8000);
  const std::filesystem::path corpus = folder / "corpus.txt";
  write_file(corpus, text);
  const std::string args = "--input=" + corpus.string() + " --model_prefix=" + (folder / "tokenizer").string() +
                           " --vocab_size=400 --model_type=bpe --byte_fallback=true --character_coverage=1.0"
                           " --normalization_rule_name=identity --remove_extra_whitespaces=false"
                           " --control_symbols=<ctrl> --user_defined_symbols=<user> --minloglevel=2";
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return folder / "tokenizer.model";
}

TEST(VocabReaders, SentencePieceModelFolder) {
  const std::filesystem::path folder = scratch_folder();
  train_sentencepiece_model(folder);
  write_file(folder / "tokenizer_config.json", R"({"add_bos_token": true, "add_eos_token": true})");
  const Vocab vocab = read_hf_tokenizer(folder.string());
  EXPECT_EQ(vocab.model, "sentencepiece");
  EXPECT_EQ(vocab.sentencepiece_model_path, (folder / "tokenizer.model").string());
  ASSERT_EQ(vocab.tokens.size(), 400u);
  EXPECT_TRUE(vocab.add_eos);

  const auto tokenizer = Tokenizer::create(vocab);
  EXPECT_EQ(tokenizer->vocab_size(), 400);
  const std::string text = "Once upon a time, Lily saw a \xE2\x82\xAC coin.\nShe smiled.";
  const std::vector<int32_t> ids = tokenizer->encode(text, true);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), tokenizer->bos_id());
  EXPECT_EQ(ids.back(), tokenizer->eos_id());
  EXPECT_EQ(tokenizer->decode(ids), text);  // the euro sign goes through byte fallback
  EXPECT_EQ(tokenizer->decode(tokenizer->encode(text, false)), text);

  const auto id_of = [&](const std::string& piece) {
    return static_cast<int32_t>(std::find(vocab.tokens.begin(), vocab.tokens.end(), piece) - vocab.tokens.begin());
  };
  const int32_t control = id_of("<ctrl>");
  const int32_t user = id_of("<user>");
  ASSERT_LT(control, 400);
  ASSERT_LT(user, 400);
  const std::vector<int32_t> parsed = tokenizer->encode("a<ctrl>b<user>c", false, true);
  EXPECT_EQ(std::count(parsed.begin(), parsed.end(), control), 1);
  EXPECT_EQ(std::count(parsed.begin(), parsed.end(), user), 1);
  const std::vector<int32_t> plain = tokenizer->encode("a<ctrl>b<user>c", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), control), 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), user), 1);  // user-defined text is always its token
}
#else
TEST(VocabReaders, SentencePieceModelFolder) { GTEST_SKIP() << "libsentencepiece_train was not found"; }
#endif

}  // namespace test_vocab_readers
}  // namespace lowbit
