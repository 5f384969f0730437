// ActivationHistogram: exact re-binning as the range grows, the exact |x| fold, quantiles, and the
// clipping searches' error integral against numeric integration.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "quant/activation_histogram.h"
#include "quant/clipping_search.h"

namespace lowbit {
namespace test_activation_histogram {

std::vector<float> uniform_values(std::mt19937& rng, size_t n, float low, float high) {
  std::uniform_real_distribution<float> distribution(low, high);
  std::vector<float> values(n);
  for (float& v : values) v = distribution(rng);
  return values;
}

// Counts of `values` on the histogram's final grid, computed directly from the values.
std::vector<uint64_t> direct_counts(const ActivationHistogram& histogram, const std::vector<float>& values) {
  std::vector<uint64_t> counts(histogram.counts().size(), 0);
  for (float v : values) {
    const auto bin = static_cast<int64_t>(std::floor(v / histogram.bin_width())) - histogram.first_bin();
    EXPECT_GE(bin, 0);
    EXPECT_LT(bin, static_cast<int64_t>(counts.size()));
    ++counts[static_cast<size_t>(std::clamp<int64_t>(bin, 0, static_cast<int64_t>(counts.size()) - 1))];
  }
  return counts;
}

TEST(ActivationHistogram, GrowingRangeRebinsExactly) {
  std::mt19937 rng(7);
  ActivationHistogram histogram(256);
  std::vector<float> all;
  // Each batch reaches further out, on one side or both, forcing widenings by various factors.
  for (auto [low, high] : {std::pair{-0.5f, 1.0f}, {-0.6f, 1.1f}, {-0.6f, 7.0f}, {-30.0f, 7.0f}, {-31.0f, 100.0f}}) {
    const std::vector<float> batch = uniform_values(rng, 5000, low, high);
    histogram.add(batch);
    all.insert(all.end(), batch.begin(), batch.end());
    EXPECT_EQ(histogram.counts(), direct_counts(histogram, all)) << "after batch [" << low << ", " << high << "]";
    EXPECT_EQ(histogram.total(), all.size());
    EXPECT_EQ(histogram.min(), *std::min_element(all.begin(), all.end()));
    EXPECT_EQ(histogram.max(), *std::max_element(all.begin(), all.end()));
    // The widening factor is the smallest that fits, so at least about half the bins stay in use.
    const double used_bins = (histogram.max() - histogram.min()) / histogram.bin_width();
    EXPECT_GT(used_bins, 256 / 2 - 2);
  }
}

TEST(ActivationHistogram, ConstantFirstBatchDoesNotFixTheResolution) {
  ActivationHistogram histogram(1000);
  histogram.add(std::vector<float>(100, 0.0f));
  histogram.add(std::vector<float>{-1e-3f, 1e-3f});
  EXPECT_LE(histogram.bin_width(), 2e-3 / 990);
  EXPECT_EQ(histogram.total(), 102u);
  EXPECT_EQ(histogram.counts()[static_cast<size_t>(-histogram.first_bin())], 100u);  // the zeros, in bin 0
}

TEST(ActivationHistogram, ExtremeMagnitudesStayCounted) {
  ActivationHistogram histogram(64);
  histogram.add(std::vector<float>{std::numeric_limits<float>::denorm_min(), 0.0f});
  histogram.add(std::vector<float>{-std::numeric_limits<float>::max(), std::numeric_limits<float>::max()});
  histogram.add(std::vector<float>{1.0f, -1.0f});
  uint64_t sum = 0;
  for (uint64_t c : histogram.counts()) sum += c;
  EXPECT_EQ(sum, 6u);
  EXPECT_EQ(histogram.min(), -std::numeric_limits<float>::max());
  EXPECT_EQ(histogram.quantile(1), std::numeric_limits<float>::max());
}

TEST(ActivationHistogram, MagnitudesFoldBothSignsExactly) {
  std::mt19937 rng(11);
  ActivationHistogram histogram(512);
  const std::vector<float> values = uniform_values(rng, 20000, -3.0f, 5.0f);
  histogram.add(values);
  const MagnitudeHistogram magnitudes = histogram.magnitudes();
  std::vector<double> expected(magnitudes.counts.size(), 0.0);
  for (float v : values) {
    // |x| of a negative x = -(k + f) * w lies in signed bin -k-1 and magnitude bin k.
    const auto signed_bin = static_cast<int64_t>(std::floor(v / histogram.bin_width()));
    ++expected[static_cast<size_t>(signed_bin >= 0 ? signed_bin : -signed_bin - 1)];
  }
  EXPECT_EQ(magnitudes.counts, expected);
  EXPECT_EQ(magnitudes.max_magnitude, *std::max_element(values.begin(), values.end()));
  EXPECT_GT(magnitudes.counts.back(), 0.0);
}

TEST(ActivationHistogram, QuantilesOfUniformData) {
  std::mt19937 rng(3);
  ActivationHistogram histogram(2048);
  std::vector<float> values = uniform_values(rng, 200000, -2.0f, 6.0f);
  histogram.add(values);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(histogram.quantile(0), values.front());
  EXPECT_EQ(histogram.quantile(1), values.back());
  for (double q : {0.001, 0.1, 0.5, 0.75, 0.999}) {
    const float sample_quantile = values[static_cast<size_t>(q * static_cast<double>(values.size()))];
    EXPECT_NEAR(histogram.quantile(q), sample_quantile, 2 * histogram.bin_width()) << q;
  }
}

TEST(ActivationHistogram, RejectsTooFewBins) { EXPECT_THROW(ActivationHistogram(2), Error); }

// The exact piecewise integral against a fine midpoint rule on the quantizer itself.
TEST(ClippingSearch, QuantizationErrorIntegralMatchesNumericIntegration) {
  const int max_level = 7;
  const double step = 0.3;
  auto quantize = [&](double x) { return std::min(std::round(x / step), double{max_level}) * step; };
  for (auto [low, high] : {std::pair{0.0, 0.1}, {0.01, 0.95}, {1.9, 2.3}, {0.0, 5.0}, {3.0, 3.5}}) {
    const int pieces = 200000;
    double sum = 0;
    for (int i = 0; i < pieces; ++i) {
      const double x = low + (high - low) * (i + 0.5) / pieces;
      sum += std::pow(x - quantize(x), 2);
    }
    EXPECT_NEAR(mean_squared_quantization_error(low, high, step, max_level), sum / pieces, 1e-7)
        << "[" << low << ", " << high << "]";
  }
  EXPECT_DOUBLE_EQ(mean_squared_quantization_error(2.5, 2.5, step, max_level), 0.4 * 0.4);  // a point past 2.1
}

// Two levels (bits = 2), bins of width 1 holding {4, 2, 1, 1}; by hand, with P normalized by all 8
// values and Q by the kept ones:
//   i=2: P = {4, 2+2}/8, Q = {4, 2}/6                    KL = 0.5 ln(1.125)            = 0.0589
//   i=3: P = {4, 2, 1+1}/8, Q = {4, 1.5, 1.5}/7         KL = 0.5 ln(0.875 * 7/6)      = 0.0103
//   i=4: P = {4, 2, 1, 1}/8, Q = {3, 3, 1, 1}/8         KL = 0.5 ln(4/3) + 0.25 ln(2/3) = 0.0425
TEST(ClippingSearch, KlPicksTheHandComputedMinimum) {
  MagnitudeHistogram histogram{{4, 2, 1, 1}, 1.0, 3.9};
  EXPECT_EQ(kl_divergence_threshold(histogram, 2), 3.0);
}

// {4, 0, 0, 1}: for i = 2 and 3 the clipped value lands in a level with no kept values, so Q is 0 where
// P is not; only i = 4 is finite (KL 0), and T is capped at the largest magnitude.
TEST(ClippingSearch, KlSkipsCandidatesWhereQMissesMassOfP) {
  MagnitudeHistogram histogram{{4, 0, 0, 1}, 1.0, 3.5};
  EXPECT_EQ(kl_divergence_threshold(histogram, 2), 3.5);
}

TEST(ClippingSearch, KlKeepsEverythingWhenThereAreFewerBinsThanLevels) {
  MagnitudeHistogram histogram{{5, 0, 3, 1}, 0.5, 1.9};
  EXPECT_EQ(kl_divergence_threshold(histogram, 8), 1.9);
}

TEST(ClippingSearch, RejectsBitWidthsOutOfRange) {
  MagnitudeHistogram histogram{{1, 1}, 1.0, 2.0};
  EXPECT_THROW(kl_divergence_threshold(histogram, 1), Error);
  EXPECT_THROW(mse_optimal_threshold(histogram, 17), Error);
}

TEST(ClippingSearch, MseOfAllZeroValuesIsZero) {
  MagnitudeHistogram histogram{{10}, 1.0, 0.0};
  EXPECT_EQ(mse_optimal_threshold(histogram, 4), 0.0);
}

}  // namespace test_activation_histogram
}  // namespace lowbit
