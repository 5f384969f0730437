// Importance-weighted quantizers (TypeTraits::from_float_weighted) on random rows: never worse than
// the plain quantizer on the weighted error, clearly better with skewed importance, no worse with
// uniform importance (the K types' plain bytes), and finite output on degenerate inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "formats/type_traits.h"

namespace lowbit {
namespace test_weighted_quant {

constexpr int64_t kRowLength = 1024;  // a multiple of every block size with a weighted quantizer
constexpr int kRows = 16;

std::vector<float> gaussian_row(std::mt19937& rng, float sigma = 1.0f) {
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> x(kRowLength);
  for (float& v : x) v = normal(rng);
  return x;
}

// Per-channel importance as calibration gives it: mean squares spread over orders of magnitude
// (log-normal, sigma 2), a few channels far above the rest.
std::vector<float> skewed_importance(std::mt19937& rng) {
  std::lognormal_distribution<float> spread(0.0f, 2.0f);
  std::vector<float> importance(kRowLength);
  for (float& v : importance) v = spread(rng);
  return importance;
}

std::vector<uint8_t> quantize_plain(const TypeTraits& traits, const std::vector<float>& x) {
  std::vector<uint8_t> bytes(traits.row_bytes(kRowLength));
  traits.from_float(x.data(), bytes.data(), kRowLength);
  return bytes;
}

std::vector<uint8_t> quantize_weighted(const TypeTraits& traits, const std::vector<float>& x,
                                       const std::vector<float>& importance) {
  std::vector<uint8_t> bytes(traits.row_bytes(kRowLength));
  traits.from_float_weighted(x.data(), importance.data(), bytes.data(), kRowLength);
  return bytes;
}

std::vector<float> dequantize(const TypeTraits& traits, const std::vector<uint8_t>& bytes) {
  std::vector<float> y(kRowLength);
  traits.to_float(bytes.data(), y.data(), kRowLength);
  return y;
}

double weighted_error(const std::vector<float>& x, const std::vector<float>& y, const std::vector<float>& importance) {
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) sum += importance[i] * std::pow(static_cast<double>(x[i]) - y[i], 2);
  return sum;
}

struct ErrorRatios {
  double worst = 0;  // largest weighted / plain error over the rows
  double mean = 0;
};

// Weighted error of from_float_weighted over that of from_float, on kRows random rows.
template <class MakeImportance>
ErrorRatios weighted_over_plain(const TypeTraits& traits, uint32_t seed, MakeImportance make_importance) {
  std::mt19937 rng(seed);
  ErrorRatios ratios;
  for (int r = 0; r < kRows; ++r) {
    const std::vector<float> x = gaussian_row(rng);
    const std::vector<float> importance = make_importance(rng);
    const double plain = weighted_error(x, dequantize(traits, quantize_plain(traits, x)), importance);
    const double weighted = weighted_error(x, dequantize(traits, quantize_weighted(traits, x, importance)), importance);
    const double ratio = weighted / plain;
    ratios.worst = std::max(ratios.worst, ratio);
    ratios.mean += ratio / kRows;
  }
  return ratios;
}

std::vector<std::string> weighted_type_names() {
  std::vector<std::string> names;
  for (const TypeTraits& traits : all_type_traits()) {
    if (traits.from_float_weighted != nullptr) names.emplace_back(traits.name);
  }
  return names;
}

TEST(WeightedQuantTable, EveryQuantizedGgmlTypeLowbitWritesHasOne) {
  for (const char* name : {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K",
                           "lb_i4_sym_g32", "lb_i3_asym_g128", "lb_nf4_g64", "lb_fp4_g64_f16"}) {
    SCOPED_TRACE(name);
    ASSERT_NE(find_type_traits(name), nullptr);
    EXPECT_NE(find_type_traits(name)->from_float_weighted, nullptr);
  }
}

class WeightedQuant : public testing::TestWithParam<std::string> {
 protected:
  const TypeTraits& traits() const { return *find_type_traits(GetParam()); }
};

TEST_P(WeightedQuant, NeverWorseAndClearlyBetterWithSkewedImportance) {
  const ErrorRatios ratios = weighted_over_plain(traits(), 1, skewed_importance);
  RecordProperty("mean_ratio", std::to_string(ratios.mean));
  EXPECT_LE(ratios.worst, 1.0);
  // Measured means are 0.14-0.69 with this importance (log-normal, sigma 2).
  EXPECT_LT(ratios.mean, 0.9);
}

TEST_P(WeightedQuant, UniformImportanceIsNoWorseThanThePlainQuantizer) {
  // Plain squared error: the search beats min-max quantizers (lowbit's int types by 30-75%), and
  // equals the K types' plain search (the next test).
  const ErrorRatios ratios = weighted_over_plain(traits(), 2, [](std::mt19937&) { return std::vector<float>(kRowLength, 1.0f); });
  EXPECT_LE(ratios.worst, 1.0);
}

TEST(WeightedQuantK, UniformImportanceGivesThePlainBytes) {
  std::mt19937 rng(5);
  const std::vector<float> x = gaussian_row(rng);
  for (const char* name : {"q2_K", "q3_K", "q4_K", "q5_K", "q6_K"}) {
    const TypeTraits& traits = *find_type_traits(name);
    EXPECT_EQ(quantize_weighted(traits, x, std::vector<float>(kRowLength, 1.0f)), quantize_plain(traits, x)) << name;
  }
}

TEST_P(WeightedQuant, ZeroImportanceGivesThePlainBytes) {
  std::mt19937 rng(3);
  const std::vector<float> x = gaussian_row(rng);
  EXPECT_EQ(quantize_weighted(traits(), x, std::vector<float>(kRowLength, 0.0f)), quantize_plain(traits(), x));
}

TEST_P(WeightedQuant, DegenerateRowsDequantizeToFiniteValues) {
  std::mt19937 rng(4);
  const std::vector<float> importance = skewed_importance(rng);
  std::vector<float> sparse_importance = importance;  // whole blocks of zero importance
  for (int64_t i = 0; i < kRowLength / 2; ++i) sparse_importance[static_cast<size_t>(i)] = 0.0f;
  const std::vector<std::vector<float>> rows = {
      std::vector<float>(kRowLength, 0.0f),
      gaussian_row(rng, 1e-20f),  // scales below FP16's range
      gaussian_row(rng, 1e3f),    // extremes near FP16's maximum times the code range
      std::vector<float>(kRowLength, 0.5f),
  };
  for (const std::vector<float>& x : rows) {
    for (const std::vector<float>* weights : {&importance, static_cast<const std::vector<float>*>(&sparse_importance)}) {
      const std::vector<float> y = dequantize(traits(), quantize_weighted(traits(), x, *weights));
      for (size_t i = 0; i < y.size(); ++i) ASSERT_TRUE(std::isfinite(y[i])) << "element " << i << " of x = " << x[i];
      EXPECT_LE(weighted_error(x, y, *weights), weighted_error(x, dequantize(traits(), quantize_plain(traits(), x)), *weights));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, WeightedQuant, testing::ValuesIn(weighted_type_names()),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace test_weighted_quant
}  // namespace lowbit
