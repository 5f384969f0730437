#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/sampler.h"

namespace lowbit {
namespace test_sampler {

std::vector<int32_t> ids(const std::vector<Candidate>& candidates) {
  std::vector<int32_t> out;
  for (const Candidate& c : candidates) out.push_back(c.id);
  return out;
}

TEST(Sampler, GreedyTakesTheArgmaxWhateverTheSeed) {
  const std::vector<float> logits = {0.1f, 2.5f, -1.0f, 2.4f};
  for (uint32_t seed : {0u, 1u, 99u}) {
    Sampler sampler({.temperature = 0.0f, .seed = seed});
    EXPECT_EQ(sampler.sample(logits, {}), 1);
  }
  EXPECT_EQ(argmax(std::vector<float>{3.0f, 3.0f, 1.0f}), 0);  // ties: the lower id
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeOnce) {
  std::vector<float> logits = {2.0f, -2.0f, 3.0f, 1.0f};
  const std::vector<int32_t> recent = {0, 1, 0, 0, 7 /* out of vocabulary: ignored */};
  apply_repetition_penalty(logits, recent, 2.0f);
  EXPECT_FLOAT_EQ(logits[0], 1.0f);
  EXPECT_FLOAT_EQ(logits[1], -4.0f);
  EXPECT_FLOAT_EQ(logits[2], 3.0f);
  EXPECT_FLOAT_EQ(logits[3], 1.0f);
}

TEST(Sampler, RepetitionPenaltyOnlyCoversTheLastNTokens) {
  // Token 0 leads; with the penalty over the last 2 tokens {2, 0} it falls below token 1.
  const std::vector<float> logits = {2.0f, 1.5f, 0.0f};
  const std::vector<int32_t> history = {1, 2, 0};
  Sampler penalised({.temperature = 0.0f, .repeat_penalty = 2.0f, .repeat_last_n = 2});
  EXPECT_EQ(penalised.sample(logits, history), 1);
  // A window of 3 also covers token 1: 1.0 vs 0.75, token 0 wins again.
  Sampler wider({.temperature = 0.0f, .repeat_penalty = 2.0f, .repeat_last_n = 3});
  EXPECT_EQ(wider.sample(logits, history), 0);
  Sampler off({.temperature = 0.0f, .repeat_penalty = 2.0f, .repeat_last_n = 0});
  EXPECT_EQ(off.sample(logits, history), 0);
}

TEST(Sampler, TopKKeepsTheKBest) {
  std::vector<Candidate> c = sorted_candidates(std::vector<float>{0.5f, 3.0f, -1.0f, 2.0f, 2.0f});
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 3, 4, 0, 2}));
  keep_top_k(c, 3);
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 3, 4}));
  keep_top_k(c, 0);  // off
  EXPECT_EQ(c.size(), 3u);
}

TEST(Sampler, TopPKeepsTheShortestPrefixReachingP) {
  // probabilities 0.5, 0.3, 0.2
  std::vector<Candidate> c = sorted_candidates(std::vector<float>{std::log(0.2f), std::log(0.5f), std::log(0.3f)});
  softmax_candidates(c, 1.0f);
  EXPECT_NEAR(c[0].prob, 0.5f, 1e-6);
  std::vector<Candidate> two = c;
  keep_top_p(two, 0.7f);
  EXPECT_EQ(ids(two), (std::vector<int32_t>{1, 2}));
  std::vector<Candidate> one = c;
  keep_top_p(one, 0.4f);
  EXPECT_EQ(ids(one), (std::vector<int32_t>{1}));
  keep_top_p(c, 1.0f);  // off
  EXPECT_EQ(c.size(), 3u);
}

TEST(Sampler, MinPKeepsTokensAboveAFractionOfTheBest) {
  // probabilities 0.6, 0.3, 0.1 -> min_p 0.4 keeps p >= 0.24
  std::vector<Candidate> c = sorted_candidates(std::vector<float>{std::log(0.1f), std::log(0.6f), std::log(0.3f)});
  softmax_candidates(c, 1.0f);
  keep_min_p(c, 0.4f);
  EXPECT_EQ(ids(c), (std::vector<int32_t>{1, 2}));
}

TEST(Sampler, TemperatureShapesTheDrawnDistribution) {
  // With top-k/top-p/min-p off, draws follow softmax(logits / T).
  const std::vector<float> logits = {1.0f, 0.0f, -1.0f};
  for (float temperature : {0.5f, 1.0f, 2.0f}) {
    Sampler sampler({.temperature = temperature, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = 42});
    std::vector<int> counts(3, 0);
    const int draws = 40000;
    for (int i = 0; i < draws; ++i) ++counts[sampler.sample(logits, {})];
    double z = 0;
    for (float l : logits) z += std::exp(l / temperature);
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(counts[i] / static_cast<double>(draws), std::exp(logits[i] / temperature) / z, 0.01)
          << "T=" << temperature << " token " << i;
    }
  }
}

TEST(Sampler, SameSeedSameTokensOtherSeedOtherTokens) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
  auto run = [&](uint32_t seed) {
    Sampler sampler({.temperature = 1.5f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .seed = seed});
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(sampler.sample(logits, {}));
    return out;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(Sampler, FiltersComposeToTheSurvivingToken) {
  // top-k 2 leaves {0, 1}; min-p 0.9 then leaves only the best, so any seed draws token 0.
  const std::vector<float> logits = {3.0f, 1.0f, 2.9f - 10.0f};
  for (uint32_t seed = 0; seed < 20; ++seed) {
    Sampler sampler({.temperature = 1.0f, .top_k = 2, .top_p = 1.0f, .min_p = 0.9f, .seed = seed});
    EXPECT_EQ(sampler.sample(logits, {}), 0);
  }
}

}  // namespace test_sampler
}  // namespace lowbit
