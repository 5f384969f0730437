// Tokenizers against reference outputs: llama.cpp's tokenizer test vectors (llama-spm, gpt-2),
// llama.cpp's tokenization of the evaluation text with the stories260K vocabulary (both the GGUF and
// the llama2.c tokenizer.bin), llama2.c's decoding, and TinyStories-656K's tokenizer.json.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/sha256.h"
#include "io/gguf.h"
#include "io/vocab_readers.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {
namespace test_tokenizer_reference {

const std::string kData = LOWBIT_SOURCE_DIR "/testdata/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

std::unique_ptr<Tokenizer> gguf_tokenizer(const std::string& path) {
  return Tokenizer::create(read_gguf_vocab(GgufFile::open(path)));
}

std::unique_ptr<Tokenizer> tok512_tokenizer() {
  return Tokenizer::create(read_llama2c_tokenizer(kData + "stories260K/tok512.bin", 512));
}

// llama.cpp's test-tokenizer-0 format: strings separated by "\n__ggml_vocab_test__\n" in .inp, one
// line of " id id ..." per string in .out.
struct VocabTestCase {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<VocabTestCase> read_vocab_tests(const std::string& gguf_path) {
  const std::string inp = read_file(gguf_path + ".inp");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<VocabTestCase> cases;
  for (size_t pos = 0, next; (next = inp.find(separator, pos)) != std::string::npos; pos = next + separator.size()) {
    cases.push_back({inp.substr(pos, next - pos), {}});
  }
  std::istringstream out(read_file(gguf_path + ".out"));
  std::string line;
  for (VocabTestCase& test : cases) {
    EXPECT_TRUE(std::getline(out, line));
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) test.ids.push_back(id);
  }
  EXPECT_FALSE(std::getline(out, line)) << "more expected lines than test strings";
  return cases;
}

void check_vocab_tests(const std::string& name) {
  const std::string path = kData + "tokenizer-tests/" + name;
  const auto tokenizer = gguf_tokenizer(path);
  const std::vector<VocabTestCase> cases = read_vocab_tests(path);
  ASSERT_EQ(cases.size(), 46u);
  for (const VocabTestCase& test : cases) {
    const std::vector<int32_t> ids = tokenizer->encode(test.text, /*add_special=*/false);
    EXPECT_EQ(ids, test.ids) << "text: \"" << test.text << "\"";
    EXPECT_EQ(tokenizer->decode(ids), test.text);
  }
}

TEST(TokenizerReference, LlamaSpmVocabMatchesLlamaCpp) { check_vocab_tests("ggml-vocab-llama-spm.gguf"); }

TEST(TokenizerReference, Gpt2VocabMatchesLlamaCpp) { check_vocab_tests("ggml-vocab-gpt-2.gguf"); }

std::vector<int32_t> json_ids(const nlohmann::json& array) { return array.get<std::vector<int32_t>>(); }

// tokenize_eval_head.json: llama.cpp's ids for the first 300 bytes of the evaluation text, and the
// count and SHA-256 (of the int32 little-endian ids) of the whole text minus its final newline.
void check_eval_text(const Tokenizer& tokenizer) {
  const nlohmann::json reference = read_json(kData + "reference/tokenize_eval_head.json");
  const std::string text = read_file(kData + "text/tinystories_valid_eval.txt");
  const std::string head = text.substr(0, 300);
  ASSERT_EQ(head, reference["text"].get<std::string>());
  EXPECT_EQ(tokenizer.encode(head, true), json_ids(reference["all_ids"]));
  const std::vector<int32_t> head_without_bos = tokenizer.encode(head, false);
  ASSERT_GE(head_without_bos.size(), 64u);
  EXPECT_EQ(std::vector<int32_t>(head_without_bos.begin(), head_without_bos.begin() + 64),
            json_ids(reference["ids_without_bos"]["first_64_ids"]));

  const nlohmann::json& full = reference["full_eval_text_as_llama_perplexity_tokenizes_it"];
  ASSERT_TRUE(text.ends_with('\n'));
  const std::string_view whole(text.data(), text.size() - 1);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> ids = tokenizer.encode(whole, true);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 1.0) << "tokenizing " << whole.size() << " bytes";
  EXPECT_EQ(static_cast<int64_t>(ids.size()), full["n_tokens"].get<int64_t>());
  EXPECT_EQ(sha256_hex(ids.data(), ids.size() * sizeof(int32_t)), full["ids_int32le_sha256"].get<std::string>());
  EXPECT_EQ(tokenizer.decode(ids), whole);
}

TEST(TokenizerReference, Stories260KGgufMatchesLlamaCppOnEvalText) {
  check_eval_text(*gguf_tokenizer(kData + "stories260K/stories260K.gguf"));
}

TEST(TokenizerReference, Tok512BinMatchesLlamaCppOnEvalText) { check_eval_text(*tok512_tokenizer()); }

TEST(TokenizerReference, Tok512DecodesGreedyOutputLikeLlama2c) {
  const nlohmann::json reference = read_json(kData + "reference/stories260K_greedy_256.json");
  const auto tokenizer = tok512_tokenizer();
  // llama2.c prints each generated token after the previous one, starting after BOS.
  std::string text;
  int32_t previous = tokenizer->bos_id();
  for (const int32_t id : json_ids(reference["ids"])) {
    text += tokenizer->decode_token(previous, id);
    previous = id;
  }
  EXPECT_EQ(text, reference["text"].get<std::string>());
}

TEST(TokenizerReference, TinyStoriesTokenizerJsonDecodesGreedyOutput) {
  const nlohmann::json reference = read_json(kData + "reference/tinystories-656K_greedy_64.json");
  const auto tokenizer = Tokenizer::create(read_hf_tokenizer(kData + "tinystories-656K"));
  const std::vector<int32_t> ids = json_ids(reference["ids"]);
  // The reference text is the pieces joined with '▁' -> ' ' (no decoder post-processing). The model
  // began its story with "Once" (no '▁'), so the text has no leading space for the decoder's Strip.
  const std::string expected = reference["text"].get<std::string>();
  ASSERT_FALSE(expected.starts_with(' '));
  EXPECT_EQ(tokenizer->decode(ids), expected);
  // Encoding prepends the '▁' the normalizer adds, which has a token of its own here.
  const std::vector<int32_t> encoded = tokenizer->encode(expected, false);
  ASSERT_FALSE(encoded.empty());
  EXPECT_EQ(tokenizer->decode_token(-1, encoded[0]), "");
  EXPECT_EQ(std::vector<int32_t>(encoded.begin() + 1, encoded.end()), ids);
  EXPECT_EQ(tokenizer->decode(encoded), expected);
  EXPECT_EQ(tokenizer->encode(expected, true).front(), tokenizer->bos_id());
}

}  // namespace test_tokenizer_reference
}  // namespace lowbit
