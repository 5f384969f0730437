// Replays the fuzzers' corpora (fuzz/corpus/<target>/) through the same parsers in the normal test
// suite: every input must either parse or throw lowbit::Error, under the sanitizers too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "core/error.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "io/vocab_readers.h"

namespace lowbit {
namespace test_fuzz_corpus {

namespace fs = std::filesystem;

const fs::path kCorpora = LOWBIT_SOURCE_DIR "/fuzz/corpus";

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Runs `parse` on every file of the corpus; returns how many parsed without error.
size_t replay(const std::string& corpus, const std::function<void(const std::vector<uint8_t>&, const std::string&)>& parse) {
  size_t files = 0, parsed = 0;
  for (const auto& entry : fs::directory_iterator(kCorpora / corpus)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string name = entry.path().filename().string();
    try {
      parse(read_bytes(entry.path()), name);
      ++parsed;
    } catch (const Error&) {
      // Rejected with a message: allowed. Any other exception fails the test.
    } catch (const std::exception& e) {
      ADD_FAILURE() << corpus << "/" << name << " threw a non-lowbit exception: " << e.what();
    }
  }
  EXPECT_GT(files, 0u) << "empty corpus " << corpus;
  return parsed;
}

TEST(FuzzCorpus, Gguf) {
  const size_t parsed = replay("gguf", [](const std::vector<uint8_t>& bytes, const std::string& name) {
    const GgufFile file = GgufFile::parse(bytes, name);
    for (const auto& [key, value] : file.metadata()) {
      try {
        file.get_string_array(key);
        file.get_int(key);
      } catch (const Error&) {
        // A type mismatch is an expected outcome.
      }
    }
  });
  EXPECT_GT(parsed, 0u);  // the seed files include valid GGUFs
}

TEST(FuzzCorpus, Safetensors) {
  EXPECT_GT(replay("safetensors", [](const std::vector<uint8_t>& bytes, const std::string& name) { parse_safetensors(bytes, name); }), 0u);
}

TEST(FuzzCorpus, TokenizerJson) {
  if (!fs::is_directory(kCorpora / "tokenizer_json")) GTEST_SKIP() << "no tokenizer_json corpus";
  replay("tokenizer_json", [](const std::vector<uint8_t>& bytes, const std::string& name) {
    parse_hf_tokenizer_json(std::string(bytes.begin(), bytes.end()), name);
  });
}

}  // namespace test_fuzz_corpus
}  // namespace lowbit
