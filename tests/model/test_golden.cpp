// The engine on the real models in testdata/, against outputs computed independently of lowbit
// (testdata/reference/*.json, see testdata/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/model_file.h"
#include "model/generate.h"
#include "model/transformer.h"

namespace lowbit {
namespace test_golden {

const std::string kData = LOWBIT_SOURCE_DIR "/testdata/";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::vector<int32_t> greedy(const ModelFile& model, int64_t steps) {
  Transformer engine(model, steps + 1);
  Sampler sampler({.temperature = 0.0f});
  std::vector<int32_t> out;
  const std::vector<int32_t> bos = {1};
  generate(engine, sampler, bos, steps, /*stop_id=*/-1, [&](int32_t id) {
    out.push_back(id);
    return true;
  });
  return out;
}

std::vector<float> all_logits(const ModelFile& model, const std::vector<int32_t>& tokens) {
  Transformer engine(model, static_cast<int64_t>(tokens.size()));
  std::span<const float> logits = engine.forward(tokens, LogitsFor::kAllTokens);
  return {logits.begin(), logits.end()};
}

// Logits of token-by-token decoding must equal those of one prefill batch.
void expect_decode_matches_prefill(const ModelFile& model, const std::vector<int32_t>& tokens) {
  const std::vector<float> prefill = all_logits(model, tokens);
  Transformer engine(model, static_cast<int64_t>(tokens.size()));
  const int64_t vocab = model.config().vocab_size;
  float max_diff = 0.0f;
  for (size_t t = 0; t < tokens.size(); ++t) {
    std::span<const float> step = engine.forward(std::span(&tokens[t], 1));
    for (int64_t i = 0; i < vocab; ++i) max_diff = std::max(max_diff, std::fabs(step[i] - prefill[t * vocab + i]));
  }
  EXPECT_LT(max_diff, 1e-4f);
}

class Stories260K : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bin_ = open_model(kData + "stories260K/stories260K.bin", kData + "stories260K/tok512.bin").release();
    gguf_ = open_model(kData + "stories260K/stories260K.gguf").release();
    reference_ = new nlohmann::json(read_json(kData + "reference/stories260K_greedy_256.json"));
  }
  static void TearDownTestSuite() {
    delete bin_;
    delete gguf_;
    delete reference_;
  }
  static std::vector<int32_t> reference_ids() { return (*reference_)["ids"].get<std::vector<int32_t>>(); }

  static inline ModelFile* bin_ = nullptr;
  static inline ModelFile* gguf_ = nullptr;
  static inline nlohmann::json* reference_ = nullptr;
};

TEST_F(Stories260K, GreedyFromBosReproducesTheReference) {
  ASSERT_EQ(reference_ids().size(), 256u);
  EXPECT_EQ(greedy(*bin_, 256), reference_ids());
  EXPECT_EQ(greedy(*gguf_, 256), reference_ids());
}

TEST_F(Stories260K, FirstLogitsMatchTheFloat64Reference) {
  const std::vector<int32_t> ids = reference_ids();
  const std::vector<int32_t> tokens = {1, ids[0], ids[1], ids[2]};  // positions 0..3 of the greedy run
  const auto expected = (*reference_)["logits_pos0_3_first8"].get<std::vector<std::vector<float>>>();
  const int64_t vocab = bin_->config().vocab_size;
  for (const ModelFile* model : {bin_, gguf_}) {
    const std::vector<float> logits = all_logits(*model, tokens);
    for (size_t pos = 0; pos < 4; ++pos)
      for (size_t i = 0; i < 8; ++i) EXPECT_NEAR(logits[pos * vocab + i], expected[pos][i], 1e-4) << model->format();
  }
}

TEST_F(Stories260K, BinAndGgufGiveTheSameLogits) {
  std::vector<int32_t> tokens = {1};
  const std::vector<int32_t> ids = reference_ids();
  tokens.insert(tokens.end(), ids.begin(), ids.begin() + 63);
  const std::vector<float> a = all_logits(*bin_, tokens), b = all_logits(*gguf_, tokens);
  ASSERT_EQ(a.size(), b.size());
  float max_diff = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, std::fabs(a[i] - b[i]));
  EXPECT_LT(max_diff, 1e-5f);
}

TEST_F(Stories260K, DecodeMatchesPrefill) {
  std::vector<int32_t> tokens = {1};
  const std::vector<int32_t> ids = reference_ids();
  tokens.insert(tokens.end(), ids.begin(), ids.begin() + 80);
  expect_decode_matches_prefill(*bin_, tokens);
}

class TinyStories656K : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = open_model(kData + "tinystories-656K").release(); }
  static void TearDownTestSuite() { delete model_; }
  static inline ModelFile* model_ = nullptr;
};

TEST_F(TinyStories656K, GreedyFromBosReproducesTheReference) {
  const auto expected = read_json(kData + "reference/tinystories-656K_greedy_64.json")["ids"].get<std::vector<int32_t>>();
  ASSERT_EQ(expected.size(), 64u);
  EXPECT_EQ(model_->config().rope_style, RopeStyle::kRotateHalf);
  EXPECT_EQ(greedy(*model_, 64), expected);
}

TEST_F(TinyStories656K, DecodeMatchesPrefill) {
  std::vector<int32_t> tokens = {1};
  const auto ids = read_json(kData + "reference/tinystories-656K_greedy_64.json")["ids"].get<std::vector<int32_t>>();
  tokens.insert(tokens.end(), ids.begin(), ids.end());
  expect_decode_matches_prefill(*model_, tokens);
}

}  // namespace test_golden
}  // namespace lowbit
