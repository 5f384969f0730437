#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/codebooks.h"
#include "core/error.h"

namespace lowbit {
namespace test_codebooks {

// Inverse CDF of N(0, 1) by bisection on the CDF 0.5 erfc(-x / sqrt 2): slow, but independent of any
// table.
double normal_quantile(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// QLoRA's NormalFloat construction: quantiles of N(0, 1), asymmetric so that 0 is a code: 8 positive
// values at probabilities evenly spaced from delta down to (not including) 1/2 and 7 negative ones
// likewise, plus 0, all divided by the largest. delta, the outermost probability, is the mean of
// 1 - 1/(2*15) and 1 - 1/(2*16) (the paper's reference code writes it as 0.9677083), which keeps the
// end quantiles finite.
std::vector<double> derive_nf4() {
  const double delta = 0.5 * ((1.0 - 1.0 / 30.0) + (1.0 - 1.0 / 32.0));
  std::vector<double> values{0.0};
  for (int i = 0; i < 8; ++i) values.push_back(normal_quantile(delta + (0.5 - delta) * i / 8.0));
  for (int i = 0; i < 7; ++i) values.push_back(-normal_quantile(delta + (0.5 - delta) * i / 7.0));
  std::sort(values.begin(), values.end());
  const double largest = values.back();
  for (double& v : values) v /= largest;
  return values;
}

TEST(Codebooks, Nf4MatchesTheNormalQuantileConstruction) {
  const std::vector<double> derived = derive_nf4();
  const Codebook& nf4 = Codebook::nf4();
  ASSERT_EQ(nf4.size(), 16);
  ASSERT_EQ(derived.size(), 16u);
  for (int code = 0; code < 16; ++code) {
    EXPECT_NEAR(nf4.value(static_cast<uint8_t>(code)), derived[static_cast<size_t>(code)], 1e-6) << "code " << code;
  }
  EXPECT_EQ(nf4.value(7), 0.0f);
  EXPECT_EQ(nf4.value(0), -1.0f);
  EXPECT_EQ(nf4.value(15), 1.0f);
}

TEST(Codebooks, Fp4IsE2m1DividedBySix) {
  // E2M1 magnitudes by (exponent, mantissa): subnormal 0, 0.5; then 1, 1.5, 2, 3, 4, 6.
  const float magnitudes[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const Codebook& fp4 = Codebook::fp4_e2m1();
  ASSERT_EQ(fp4.size(), 16);
  for (int code = 0; code < 16; ++code) {
    const float expected = (code & 8 ? -1.0f : 1.0f) * magnitudes[code & 7] / 6.0f;
    EXPECT_EQ(fp4.value(static_cast<uint8_t>(code)), expected) << "code " << code;
  }
  // +0 and -0 are equal values; the search answers the first code, +0.
  EXPECT_EQ(fp4.nearest_code(0.0f), 0);
  EXPECT_EQ(fp4.nearest_code(-0.0f), 0);
  EXPECT_EQ(fp4.nearest_code(-0.01f), 0);
}

TEST(Codebooks, PowerOfTwoLevels) {
  const Codebook log4 = Codebook::power_of_two(4);
  ASSERT_EQ(log4.size(), 16);
  EXPECT_EQ(log4.value(0), 0.0f);
  for (int e = 1; e < 8; ++e) {
    EXPECT_EQ(log4.value(static_cast<uint8_t>(e)), std::ldexp(1.0f, e - 7));
    EXPECT_EQ(log4.value(static_cast<uint8_t>(8 | e)), -std::ldexp(1.0f, e - 7));
  }
  const Codebook log2 = Codebook::power_of_two(2);
  EXPECT_EQ(log2.values(), (std::vector<float>{0.0f, 1.0f, -0.0f, -1.0f}));
  EXPECT_EQ(Codebook::power_of_two(8).value(1), std::ldexp(1.0f, -126));
  EXPECT_THROW(Codebook::power_of_two(1), Error);
  EXPECT_THROW(Codebook::power_of_two(9), Error);
}

TEST(Codebooks, NearestCodeMatchesBruteForce) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> x_dist(-1.3f, 1.3f);
  for (const Codebook& book : {Codebook::nf4(), Codebook::fp4_e2m1(), Codebook::power_of_two(3), Codebook::power_of_two(6)}) {
    for (int i = 0; i < 20000; ++i) {
      const float x = x_dist(rng);
      float best = INFINITY;
      for (float v : book.values()) best = std::min(best, std::abs(x - v));
      EXPECT_EQ(std::abs(x - book.value(book.nearest_code(x))), best) << book.name() << " x " << x;
    }
  }
}

TEST(Codebooks, TiesGoToTheLargerValueAndEndsClamp) {
  const Codebook& nf4 = Codebook::nf4();
  const float midpoint = 0.5f * (nf4.value(8) + nf4.value(9));
  EXPECT_EQ(nf4.nearest_code(midpoint), 9);
  EXPECT_EQ(nf4.nearest_code(5.0f), 15);
  EXPECT_EQ(nf4.nearest_code(-5.0f), 0);
  for (int code = 0; code < 16; ++code) EXPECT_EQ(nf4.nearest_code(nf4.value(static_cast<uint8_t>(code))), code);
}

TEST(Codebooks, RejectsMalformedTables) {
  EXPECT_THROW(Codebook("short", 2, {-1.0f, 0.0f, 1.0f}), Error);
  EXPECT_THROW(Codebook("no zero", 2, {-1.0f, -0.5f, 0.5f, 1.0f}), Error);
  EXPECT_THROW(Codebook("narrow", 2, {-0.5f, 0.0f, 0.25f, 0.5f}), Error);
  EXPECT_NO_THROW(Codebook("ok", 2, {-1.0f, 0.0f, 0.5f, 1.0f}));
}

}  // namespace test_codebooks
}  // namespace lowbit
