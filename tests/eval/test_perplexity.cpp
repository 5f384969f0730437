#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "eval/nll_stats.h"
#include "eval/perplexity.h"
#include "../model/tiny_model.h"

namespace lowbit {
namespace test_perplexity {

// A 2-token bigram model: every block's matrices are zero, so the residual stream is the token's
// embedding; norm weights are 1; token 0 embeds as (1, 0), token 1 as (0, 1); RMSNorm (eps 0) scales either to length
// sqrt(2) along its axis, and output.weight turns that into
//   after token 0: logits (0, ln 3)  -> p(0) = 1/4, p(1) = 3/4
//   after token 1: logits (0, 0)     -> p(0) = 1/2, p(1) = 1/2
class BigramModel : public testing::TinyModel {
 public:
  BigramModel() : TinyModel(config()) {
    for (const TensorView& t : tensors()) {
      const float value = t.shape.size() == 2 ? 0.0f : 1.0f;  // zero matrices, unit norm weights
      set_values(t.name, std::vector<float>(static_cast<size_t>(t.elements()), value));
    }
    set_values("token_embd.weight", {1, 0, 0, 1});
    set_values("output.weight", {0, 0, static_cast<float>(std::log(3.0) / std::sqrt(2.0)), 0});
  }

 private:
  static ModelConfig config() {
    ModelConfig c;
    c.dim = 2;
    c.hidden_dim = 2;
    c.n_layers = 1;
    c.n_heads = 1;
    c.n_kv_heads = 1;
    c.head_dim = 2;
    c.vocab_size = 2;
    c.context_length = 8;
    c.norm_eps = 0.0f;
    return c;
  }
};

TEST(Perplexity, HandComputedOnABigramModel) {
  BigramModel model;
  Transformer engine(model, 6);
  // ctx 6: positions 3 and 4 predict tokens 4 and 5 of each chunk. BOS is 1; the trailing token 0 is
  // left over (not a whole chunk).
  const std::vector<int32_t> text = {1, 0, 0, 1, 1, 0,   // scored: after 1 -> 1 (1/2), after 1 -> 0 (1/2)
                                     0, 1, 0, 0, 0, 1,   // scored: after 0 -> 0 (1/4), after 0 -> 1 (3/4)
                                     0};
  const std::vector<int32_t> chunks = make_chunks(text, 1, 6, 0);
  ASSERT_EQ(chunks.size(), 12u);
  EXPECT_EQ(chunks[6], 1);  // the second chunk starts with BOS instead of 0

  const PerplexityResult r = evaluate_perplexity(engine, chunks, 6);
  const std::vector<double> nll = {std::log(2.0), std::log(2.0), std::log(4.0), std::log(4.0 / 3.0)};
  double mean = 0, mean_sq = 0;
  for (double v : nll) mean += v / 4, mean_sq += v * v / 4;
  EXPECT_EQ(r.chunks, 2);
  EXPECT_EQ(r.tokens_scored, 4);
  EXPECT_NEAR(r.mean_nll, mean, 1e-6);
  EXPECT_NEAR(r.ppl, std::exp(mean), 1e-5);  // = (2 * 2 * 4 * 4/3)^(1/4)
  EXPECT_NEAR(r.ppl, std::pow(64.0 / 3.0, 0.25), 1e-5);
  EXPECT_NEAR(r.ppl_error, std::exp(mean) * std::sqrt((mean_sq - mean * mean) / 3), 1e-5);
  ASSERT_EQ(r.running_ppl.size(), 2u);
  EXPECT_NEAR(r.running_ppl[0], 2.0, 1e-5);
}

TEST(Perplexity, ObserverSeesLogProbabilitiesAndTargets) {
  BigramModel model;
  Transformer engine(model, 6);
  const std::vector<int32_t> chunks = make_chunks(std::vector<int32_t>{1, 0, 0, 0, 1, 1}, 1, 6, 0);
  int calls = 0;
  evaluate_perplexity(engine, chunks, 6, [&](const ScoredChunk& chunk) {
    ++calls;
    ASSERT_EQ(chunk.targets.size(), 2u);
    EXPECT_EQ(chunk.targets[0], 1);
    EXPECT_EQ(chunk.targets[1], 1);
    ASSERT_EQ(chunk.log_probs.size(), 4u);
    EXPECT_NEAR(chunk.log_probs[0], std::log(0.25), 1e-5);  // after token 0 (position 3)
    EXPECT_NEAR(chunk.log_probs[1], std::log(0.75), 1e-5);
    EXPECT_NEAR(chunk.log_probs[2], std::log(0.5), 1e-5);   // after token 1 (position 4)
  });
  EXPECT_EQ(calls, 1);
}

TEST(Perplexity, ChunkingFollowsLlamaCpp) {
  std::vector<int32_t> tokens(1000);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(i % 7 + 3);
  EXPECT_EQ(make_chunks(tokens, 1, 128, 0).size(), 7u * 128);  // floor(1000 / 128)
  EXPECT_EQ(make_chunks(tokens, 1, 128, 3).size(), 3u * 128);
  EXPECT_EQ(make_chunks(tokens, 1, 128, 0)[128], 1);
  EXPECT_EQ(make_chunks(tokens, -1, 128, 0)[128], tokens[128]);  // no BOS: chunks start as the text does
  EXPECT_EQ(scored_per_chunk(128), 63);
  EXPECT_THROW(make_chunks(tokens, 1, 2, 0), Error);
  EXPECT_THROW(make_chunks(std::vector<int32_t>(10, 3), 1, 128, 0), Error);
}

TEST(Perplexity, ChunksLongerThanTheCacheAreAnError) {
  testing::TinyModel model(testing::tiny_config());
  Transformer engine(model, 8);
  const std::vector<int32_t> chunks = make_chunks(std::vector<int32_t>(16, 3), 1, 16, 0);
  EXPECT_THROW(evaluate_perplexity(engine, chunks, 16), Error);
}

TEST(NllStats, PerplexityAndErrorOfKnownValues) {
  NllStats stats;
  EXPECT_EQ(stats.perplexity_error(), 0.0);
  for (double v : {1.0, 2.0, 3.0}) stats.add(v);
  EXPECT_DOUBLE_EQ(stats.mean(), 2.0);
  EXPECT_NEAR(stats.perplexity(), std::exp(2.0), 1e-12);
  // mean(x^2) - mean^2 = 14/3 - 4 = 2/3; / (n-1) = 1/3
  EXPECT_NEAR(stats.perplexity_error(), std::exp(2.0) * std::sqrt(1.0 / 3.0), 1e-12);
}

}  // namespace test_perplexity
}  // namespace lowbit
