// Activation observers on distributions with known answers (fixed-seed samples), checked against the
// exact sample statistics or a brute-force search on the samples themselves.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/observers.h"

namespace lowbit {
namespace test_observers {

std::vector<float> gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> distribution(0.0f, 1.0f);
  std::vector<float> values(n);
  for (float& v : values) v = distribution(rng);
  return values;
}

std::vector<float> uniform(size_t n, float low, float high, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> distribution(low, high);
  std::vector<float> values(n);
  for (float& v : values) v = distribution(rng);
  return values;
}

// Feeds values in batches, as calibration would.
Range observe_in_batches(Observer& observer, const std::vector<float>& values, size_t batch = 10000) {
  for (size_t start = 0; start < values.size(); start += batch) {
    observer.observe(std::span<const float>(values).subspan(start, std::min(batch, values.size() - start)));
  }
  return observer.range();
}

Range observe_with(std::string_view method, const std::vector<float>& values, ObserverOptions options = {}) {
  auto observer = make_observer(method, "blk.0.attn_q.input", options);
  return observe_in_batches(*observer, values);
}

// Mean squared error of round-to-nearest onto {-q..q} * T/q with clamping, q = 2^(bits-1) - 1.
double symmetric_quantization_mse(const std::vector<float>& values, double threshold, int bits) {
  const double max_level = (1 << (bits - 1)) - 1;
  const double step = threshold / max_level;
  double sum = 0;
  for (float v : values) {
    const double scaled = v / step;
    const auto nearest = static_cast<double>(static_cast<int64_t>(scaled + (scaled >= 0 ? 0.5 : -0.5)));
    const double level = std::clamp(nearest, -max_level, max_level);
    sum += (v - level * step) * (v - level * step);
  }
  return sum / static_cast<double>(values.size());
}

// The brute-force reference: the MSE-minimizing T evaluated on the samples themselves, on a grid of
// 100 steps over [from, to], then 100 finer steps around the best of those.
double brute_force_mse_threshold(const std::vector<float>& values, int bits, double from, double to) {
  double best_threshold = from;
  double best_error = std::numeric_limits<double>::infinity();
  auto search = [&](double low, double high) {
    for (int i = 0; i <= 100; ++i) {
      const double threshold = low + (high - low) * i / 100;
      const double error = symmetric_quantization_mse(values, threshold, bits);
      if (error < best_error) {
        best_error = error;
        best_threshold = threshold;
      }
    }
  };
  search(from, to);
  const double coarse_step = (to - from) / 100;
  search(std::max(from, best_threshold - 2 * coarse_step), best_threshold + 2 * coarse_step);
  return best_threshold;
}

TEST(Observers, MinMaxIsExactOnUniformData) {
  const std::vector<float> values = uniform(100000, -2.0f, 3.0f, 1);
  const Range range = observe_with("minmax", values);
  EXPECT_EQ(range.min, *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(range.max, *std::max_element(values.begin(), values.end()));
}

TEST(Observers, PercentileOfUniformDataIsNearTheEnds) {
  const Range range = observe_with("percentile", uniform(200000, -2.0f, 3.0f, 2));
  // 99.99% keeps all but 0.005% at each end: 2.5e-4 inside [a, b].
  EXPECT_NEAR(range.min, -2.0f + 2.5e-4f, 2e-3);
  EXPECT_NEAR(range.max, 3.0f - 2.5e-4f, 2e-3);
}

TEST(Observers, MseOfUniformDataAt8BitsIsNearTheLargerEnd) {
  const std::vector<float> values = uniform(200000, -2.0f, 3.0f, 3);
  ObserverOptions options;
  options.bits = 8;
  const Range range = observe_with("mse", values, options);
  EXPECT_EQ(range.min, -range.max);
  EXPECT_NEAR(range.max, 3.0f, 0.03f);
  EXPECT_NEAR(range.max, brute_force_mse_threshold(values, 8, 2.0, 3.5), 0.01);
}

TEST(Observers, PercentileOfGaussianMatchesTheSampleAndTheNormalQuantile) {
  std::vector<float> values = gaussian(1000000, 4);
  const Range range = observe_with("percentile", values);
  std::sort(values.begin(), values.end());
  const auto tail = static_cast<size_t>(0.00005 * static_cast<double>(values.size()));  // 50 values per side
  EXPECT_NEAR(range.max, values[values.size() - 1 - tail], 0.01);
  EXPECT_NEAR(range.min, values[tail], 0.01);
  // Phi^-1(1 - 0.00005) = 3.8906; the sample quantile of 1M values scatters by about 0.04.
  EXPECT_NEAR(range.max, 3.8906, 0.12);
  EXPECT_NEAR(range.min, -3.8906, 0.12);
}

TEST(Observers, KlThresholdOfGaussianAt8BitsClipsBetween2_5And5Sigma) {
  const std::vector<float> values = gaussian(1000000, 5);
  const Range range = observe_with("kl", values);
  EXPECT_EQ(range.min, -range.max);
  EXPECT_GT(range.max, 2.5f);
  EXPECT_LT(range.max, 5.0f);
  EXPECT_LT(range.max, *std::max_element(values.begin(), values.end()));  // it does clip
}

TEST(Observers, MseThresholdOfGaussianAt4BitsMatchesBruteForce) {
  const std::vector<float> values = gaussian(200000, 6);
  ObserverOptions options;
  options.bits = 4;
  const Range range = observe_with("mse", values, options);
  const double reference = brute_force_mse_threshold(values, 4, 1.0, 4.0);
  EXPECT_NEAR(range.max, reference, 0.05);
  EXPECT_LE(symmetric_quantization_mse(values, range.max, 4), 1.01 * symmetric_quantization_mse(values, reference, 4));
  EXPECT_LT(range.max, 0.7f * *std::max_element(values.begin(), values.end()));
}

TEST(Observers, OutliersMoveMinMaxButNotTheHistogramMethods) {
  std::vector<float> values = gaussian(1000000, 7);
  values[1234] = 60.0f;
  values[567890] = -40.0f;
  const Range minmax = observe_with("minmax", values);
  EXPECT_EQ(minmax.max, 60.0f);
  EXPECT_EQ(minmax.min, -40.0f);
  const Range percentile = observe_with("percentile", values);
  EXPECT_LT(percentile.max, 4.5f);
  EXPECT_GT(percentile.min, -4.5f);
  EXPECT_LT(observe_with("kl", values).max, 8.0f);
  // MSE weighs the two outliers' clipping error against everyone's rounding error: at 4 bits it clips
  // near the Gaussian's own optimum; at 8 bits rounding is so fine that the optimum clips them only
  // partly (about 14 here), which the brute-force search on the samples confirms.
  for (auto [bits, limit] : {std::pair{4, 4.0}, {8, 20.0}}) {
    ObserverOptions options;
    options.bits = bits;
    const float threshold = observe_with("mse", values, options).max;
    EXPECT_LT(threshold, limit) << bits << " bits";
    EXPECT_NEAR(threshold, brute_force_mse_threshold(values, bits, 1.0, 30.0), 0.1) << bits << " bits";
  }
}

TEST(Observers, MovingAverageFollowsTheEmaArithmetic) {
  ObserverOptions options;
  options.momentum = 0.25;
  auto observer = make_observer("moving-average", "t", options);
  observer->observe(std::vector<float>{1, 5, 3});
  EXPECT_EQ(observer->range().min, 1.0f);  // the first batch as is
  EXPECT_EQ(observer->range().max, 5.0f);
  observer->observe(std::vector<float>{-3, 9});
  EXPECT_EQ(observer->range().min, 0.0f);  // 1 + 0.25 * (-3 - 1)
  EXPECT_EQ(observer->range().max, 6.0f);  // 5 + 0.25 * (9 - 5)
  observer->observe(std::vector<float>{4, 2});
  EXPECT_EQ(observer->range().min, 0.5f);  // 0 + 0.25 * (2 - 0)
  EXPECT_EQ(observer->range().max, 5.5f);  // 6 + 0.25 * (4 - 6)
}

TEST(Observers, RunningMinMaxKeepsExtremesAcrossBatches) {
  auto observer = make_observer("minmax", "t");
  observer->observe(std::vector<float>{1, 2});
  observer->observe(std::vector<float>{-1, 0.5f});
  observer->observe(std::vector<float>{0, 1.5f});
  EXPECT_EQ(observer->range().min, -1.0f);
  EXPECT_EQ(observer->range().max, 2.0f);
}

TEST(Observers, RejectNanAndInfNamingTheTensor) {
  for (const std::string& method : observer_methods()) {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
      auto observer = make_observer(method, "blk.3.ffn_up.input");
      try {
        observer->observe(std::vector<float>{1.0f, bad, 2.0f});
        ADD_FAILURE() << method << " accepted " << bad;
      } catch (const Error& error) {
        EXPECT_NE(std::string(error.what()).find("blk.3.ffn_up.input"), std::string::npos) << error.what();
        EXPECT_NE(std::string(error.what()).find("index 1"), std::string::npos) << error.what();
      }
    }
  }
}

TEST(Observers, RangeBeforeAnyValueIsAnError) {
  for (const std::string& method : observer_methods()) {
    auto observer = make_observer(method, "t");
    EXPECT_EQ(observer->name(), method);
    observer->observe(std::vector<float>{});
    EXPECT_THROW(observer->range(), Error) << method;
  }
}

TEST(Observers, FactoryRejectsUnknownMethodsAndBadOptions) {
  EXPECT_THROW(make_observer("entropy", "t"), Error);
  ObserverOptions options;
  options.momentum = 0;
  EXPECT_THROW(make_observer("moving-average", "t", options), Error);
  options = {};
  options.percentile = 100.5;
  EXPECT_THROW(make_observer("percentile", "t", options), Error);
  options = {};
  options.bits = 1;
  EXPECT_THROW(make_observer("kl", "t", options), Error);
  EXPECT_THROW(make_observer("mse", "t", options), Error);
  options = {};
  options.bins = 2;
  EXPECT_THROW(make_observer("percentile", "t", options), Error);
  options.bins = kMaxHistogramBins + 1;
  EXPECT_THROW(make_observer("kl", "t", options), Error);
}

TEST(Observers, ConstantInputGivesThatValue) {
  for (const std::string& method : {std::string("minmax"), std::string("moving-average"), std::string("percentile")}) {
    auto observer = make_observer(method, "t");
    observer->observe(std::vector<float>(10, 2.5f));
    EXPECT_EQ(observer->range().min, 2.5f) << method;
    EXPECT_EQ(observer->range().max, 2.5f) << method;
  }
  for (const std::string& method : {std::string("kl"), std::string("mse")}) {
    auto observer = make_observer(method, "t");
    observer->observe(std::vector<float>(10, -2.5f));
    EXPECT_EQ(observer->range().max, 2.5f) << method;
  }
}

}  // namespace test_observers
}  // namespace lowbit
