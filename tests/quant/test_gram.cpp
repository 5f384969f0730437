#include "quant/gram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"

namespace lowbit {
namespace test_gram {

std::vector<float> random_activations(int64_t tokens, int64_t channels, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(tokens * channels));  // [tokens][channels]
  for (int64_t t = 0; t < tokens; ++t) {
    const float common = dist(rng);  // correlates the channels, as real activations are
    for (int64_t c = 0; c < channels; ++c) x[t * channels + c] = dist(rng) + 0.5f * common + 0.01f * c;
  }
  return x;
}

// X^T X / tokens in double, entry by entry.
std::vector<double> naive_mean_gram(const std::vector<float>& x, int64_t tokens, int64_t channels) {
  std::vector<double> g(static_cast<size_t>(channels * channels));
  for (int64_t i = 0; i < channels; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      double sum = 0;
      for (int64_t t = 0; t < tokens; ++t) sum += double{x[t * channels + i]} * x[t * channels + j];
      g[i * channels + j] = g[j * channels + i] = sum / static_cast<double>(tokens);
    }
  }
  return g;
}

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tolerance * (1.0 + std::fabs(want[i]))) << i;
}

TEST(Gram, MatchesNaiveReferenceInUnevenBatches) {
  // 530 channels: two 512-wide tiles, the second partial; 1300 tokens: a full chunk and a partial one.
  const int64_t channels = 530, tokens = 1300;
  const std::vector<float> x = random_activations(tokens, channels, 1);
  GramAccumulator gram(channels);
  const int64_t batches[] = {1, 7, 1000, 292};
  int64_t offset = 0;
  for (int64_t batch : batches) {
    gram.add(x.data() + offset * channels, batch);
    offset += batch;
  }
  ASSERT_EQ(offset, tokens);
  EXPECT_EQ(gram.tokens(), tokens);
  EXPECT_EQ(gram.channels(), channels);
  expect_close(gram.mean(), naive_mean_gram(x, tokens, channels), 1e-5);
}

TEST(Gram, MeanDoesNotConsumeBufferedTokens) {
  const int64_t channels = 5;
  const std::vector<float> x = random_activations(40, channels, 2);
  GramAccumulator gram(channels);
  gram.add(x.data(), 20);
  expect_close(gram.mean(), naive_mean_gram(std::vector<float>(x.begin(), x.begin() + 20 * channels), 20, channels),
               1e-6);
  gram.add(x.data() + 20 * channels, 20);
  expect_close(gram.mean(), naive_mean_gram(x, 40, channels), 1e-6);
}

TEST(Gram, StaysAccurateOverManyTokens) {
  // 100K tokens of a constant vector plus small noise: a plain float running sum would drift by
  // about 1e-3 relative; chunked sums folded into double stay at float precision.
  const int64_t channels = 3, tokens = 100000;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> noise(-0.01f, 0.01f);
  std::vector<float> x(static_cast<size_t>(tokens * channels));
  for (float& v : x) v = 1.0f + noise(rng);
  GramAccumulator gram(channels);
  for (int64_t t = 0; t < tokens; t += 333) gram.add(x.data() + t * channels, std::min<int64_t>(333, tokens - t));
  expect_close(gram.mean(), naive_mean_gram(x, tokens, channels), 2e-6);
}

TEST(Gram, EmptyIsZero) {
  GramAccumulator gram(4);
  EXPECT_EQ(gram.tokens(), 0);
  EXPECT_EQ(gram.mean(), std::vector<float>(16, 0.0f));
}

TEST(Gram, RejectsBadChannelCount) {
  EXPECT_THROW(GramAccumulator(0), Error);
  EXPECT_THROW(GramAccumulator(-3), Error);
}

}  // namespace test_gram
}  // namespace lowbit
