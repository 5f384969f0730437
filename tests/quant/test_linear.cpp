#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "formats/bitpack.h"
#include "quant/linear.h"

namespace lowbit {
namespace test_linear {

std::vector<float> normal_values(size_t n, unsigned seed, float stddev = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<float> dequantized(const LinearQuantized& q) {
  std::vector<float> out(static_cast<size_t>(q.elements()));
  dequantize_linear(q, out);
  return out;
}

QuantError error_of(const LinearQuantized& q, const std::vector<float>& values) {
  return measure_quant_error(values, dequantized(q), q.group_size, representable_ranges(q), q.bits_per_weight());
}

std::vector<int> zero_points(const LinearQuantized& q) {
  std::vector<uint8_t> codes(static_cast<size_t>(q.groups()));
  unpack_bits(q.zero_points, q.bits, codes);
  std::vector<int> zeros;
  for (uint8_t c : codes) zeros.push_back(c + q.qmin);
  return zeros;
}

LinearSpec spec(int bits, bool symmetric, bool is_unsigned, Grouping grouping,
                ScalePrecision precision = ScalePrecision::F32) {
  LinearSpec s;
  s.bits = bits;
  s.symmetric = symmetric;
  s.is_unsigned = is_unsigned;
  s.grouping = grouping;
  s.scale_precision = precision;
  return s;
}

const Grouping kPerTensor{Grouping::Kind::Tensor, 0};
const Grouping kPerChannel{Grouping::Kind::Channel, 0};
Grouping per_group(int64_t size) { return {Grouping::Kind::Group, size}; }

TEST(LinearQuant, AffineFormulaOnAHandExample) {
  const std::vector<float> values{-1.0f, 0.0f, 0.6f, 2.0f};
  const LinearQuantized q = quantize_linear("w", values, 1, 4, spec(8, false, true, kPerTensor));
  ASSERT_EQ(q.scales.size(), 1u);
  const float scale = 3.0f / 255.0f;
  EXPECT_FLOAT_EQ(q.scales[0], scale);
  EXPECT_EQ(zero_points(q), std::vector<int>{85});  // round(0 - (-1) / S) = 85
  std::vector<uint8_t> codes(4);
  unpack_bits(q.codes, 8, codes);
  EXPECT_EQ(codes, (std::vector<uint8_t>{0, 85, 85 + 51, 255}));  // 0.6 / S = 51
  const std::vector<float> r = dequantized(q);
  EXPECT_FLOAT_EQ(r[0], -85 * scale);
  EXPECT_EQ(r[1], 0.0f);
  EXPECT_FLOAT_EQ(r[3], 170 * scale);
}

TEST(LinearQuant, SymmetricFormulaOnAHandExample) {
  const std::vector<float> values{-0.7f, 0.1f, 0.35f, 0.2f};
  const LinearQuantized q = quantize_linear("w", values, 1, 4, spec(4, true, false, kPerTensor));
  EXPECT_FLOAT_EQ(q.scales[0], 0.7f / 7.0f);
  EXPECT_TRUE(q.zero_points.empty());
  const std::vector<float> r = dequantized(q);
  EXPECT_FLOAT_EQ(r[0], -0.7f);
  EXPECT_FLOAT_EQ(r[1], 0.1f);
  EXPECT_FLOAT_EQ(r[2], 0.4f);  // 3.5 rounds to even 4
  EXPECT_FLOAT_EQ(r[3], 0.2f);
}

// Min-max ranges clip nothing, so every error is a rounding error of at most half a step.
TEST(LinearQuant, MinMaxErrorIsAtMostHalfAStepForEveryConfiguration) {
  const int64_t rows = 8, cols = 128;
  const std::vector<float> values = normal_values(rows * cols, 4);
  for (int bits = 2; bits <= 8; ++bits) {
    for (const auto& [symmetric, is_unsigned] : {std::pair{false, false}, {false, true}, {true, false}}) {
      for (const Grouping& grouping : {kPerTensor, kPerChannel, per_group(32), per_group(64), per_group(128)}) {
        const LinearQuantized q = quantize_linear("w", values, rows, cols, spec(bits, symmetric, is_unsigned, grouping));
        const std::vector<float> r = dequantized(q);
        for (size_t i = 0; i < values.size(); ++i) {
          const float scale = q.scales[i / static_cast<size_t>(q.group_size)];
          ASSERT_LE(std::abs(values[i] - r[i]), 0.5f * scale * (1 + 1e-5f))
              << bits << " bits, sym " << symmetric << ", unsigned " << is_unsigned << ", element " << i;
        }
        const QuantError error = error_of(q, values);
        EXPECT_EQ(error.clip_mse, 0.0);
        EXPECT_GT(error.rounding_mse, 0.0);
        EXPECT_DOUBLE_EQ(error.mse, error.rounding_mse);
        for (int z : symmetric ? std::vector<int>{} : zero_points(q)) {
          EXPECT_GE(z, q.qmin);
          EXPECT_LE(z, q.qmax);
        }
      }
    }
  }
}

TEST(LinearQuant, GroupingDecidesTheNumberOfScales) {
  const std::vector<float> values = normal_values(4 * 256, 5);
  EXPECT_EQ(quantize_linear("w", values, 4, 256, spec(4, true, false, kPerTensor)).scales.size(), 1u);
  EXPECT_EQ(quantize_linear("w", values, 4, 256, spec(4, true, false, kPerChannel)).scales.size(), 4u);
  EXPECT_EQ(quantize_linear("w", values, 4, 256, spec(4, true, false, per_group(32))).scales.size(), 32u);
  // Per-channel scales follow each row's own range.
  std::vector<float> rows_of_different_size(2 * 4, 1.0f);
  for (size_t i = 4; i < 8; ++i) rows_of_different_size[i] = 100.0f;
  const LinearQuantized q = quantize_linear("w", rows_of_different_size, 2, 4, spec(8, true, false, kPerChannel));
  EXPECT_FLOAT_EQ(q.scales[0], 1.0f / 127);
  EXPECT_FLOAT_EQ(q.scales[1], 100.0f / 127);
}

TEST(LinearQuant, ZeroIsExactEvenWhenTheDataRangeExcludesIt) {
  std::vector<float> values = normal_values(64, 6);
  for (auto& x : values) x = 3.0f + std::abs(x);  // all in [3, ...): the range is widened to [0, max]
  values[5] = 0.0f;
  values[40] = 0.0f;
  for (const LinearSpec& s : {spec(4, false, false, per_group(32), ScalePrecision::F16), spec(3, false, true, kPerTensor),
                              spec(5, true, false, kPerChannel, ScalePrecision::F16)}) {
    const LinearQuantized q = quantize_linear("w", values, 1, 64, s);
    const std::vector<float> r = dequantized(q);
    EXPECT_EQ(r[5], 0.0f);
    EXPECT_EQ(r[40], 0.0f);
    if (!s.symmetric) {
      for (int z : zero_points(q)) EXPECT_EQ(z, q.qmin);  // min widened to 0 -> Z = qmin - 0 / S
    }
  }
}

TEST(LinearQuant, AllZeroTensorReconstructsExactly) {
  const std::vector<float> zeros(256, 0.0f);
  for (const LinearSpec& s : {spec(4, false, false, per_group(32), ScalePrecision::F16), spec(8, true, false, kPerTensor),
                              spec(2, false, true, kPerChannel)}) {
    const LinearQuantized q = quantize_linear("w", zeros, 2, 128, s);
    for (float scale : q.scales) EXPECT_EQ(scale, 0.0f);
    for (float r : dequantized(q)) EXPECT_EQ(r, 0.0f);  // also fails for NaN
    const QuantError error = error_of(q, zeros);
    EXPECT_EQ(error.mse, 0.0);
    EXPECT_EQ(error.max_abs_error, 0.0);
    EXPECT_TRUE(std::isinf(error.sqnr_db) && error.sqnr_db > 0);
  }
}

TEST(LinearQuant, AllEqualValuesReconstructToTheValue) {
  for (float c : {0.7f, -0.7f, 1e-20f, 3e4f}) {
    const std::vector<float> values(64, c);
    for (const LinearSpec& s : {spec(4, false, false, per_group(32)), spec(4, true, false, kPerTensor),
                                spec(3, false, true, kPerChannel)}) {
      const LinearQuantized q = quantize_linear("w", values, 1, 64, s);
      for (float r : dequantized(q)) EXPECT_NEAR(r, c, std::abs(c) * 1e-6f) << c;
    }
  }
}

TEST(LinearQuant, Fp16ScalesAreStoredExactlyAndUsedForTheCodes) {
  const std::vector<float> values = normal_values(4 * 128, 7, 0.02f);
  const LinearQuantized q = quantize_linear("w", values, 4, 128, spec(4, false, false, per_group(32), ScalePrecision::F16));
  for (float scale : q.scales) EXPECT_EQ(fp16_to_fp32(fp32_to_fp16(scale)), scale);
  // Codes chosen against the stored scale: each element is within half a stored step (up to the clamp
  // at the ends, where the rounded scale may be a hair smaller than the exact one).
  const std::vector<float> r = dequantized(q);
  for (size_t i = 0; i < values.size(); ++i) EXPECT_LE(std::abs(values[i] - r[i]), 0.51f * q.scales[i / 32]);
  EXPECT_DOUBLE_EQ(q.bits_per_weight(), 4.0 + (16.0 + 4.0) / 32.0);
  EXPECT_DOUBLE_EQ(quantize_linear("w", values, 4, 128, spec(4, true, false, per_group(32), ScalePrecision::F16)).bits_per_weight(),
                   4.0 + 16.0 / 32.0);
  EXPECT_DOUBLE_EQ(quantize_linear("w", values, 4, 128, spec(3, false, false, per_group(64))).bits_per_weight(),
                   3.0 + (32.0 + 3.0) / 64.0);
}

TEST(LinearQuant, ScaleTooLargeForFp16NamesTheTensor) {
  const std::vector<float> values{1e9f, -1e9f, 0.5f, 1.0f};
  try {
    quantize_linear("blk.0.ffn_up.weight", values, 1, 4, spec(4, true, false, kPerTensor, ScalePrecision::F16));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.ffn_up.weight"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(quantize_linear("w", values, 1, 4, spec(4, true, false, kPerTensor, ScalePrecision::F32)));
  // Near the float limits the reconstruction range itself would overflow: an error, never an infinity.
  const std::vector<float> extremes{-3.4e38f, 3.4e38f};
  EXPECT_THROW(quantize_linear("w", extremes, 1, 2, spec(2, false, false, kPerTensor)), Error);
  const std::vector<float> large{-1e38f, 1e38f};
  for (float r : dequantized(quantize_linear("w", large, 1, 2, spec(2, false, false, kPerTensor)))) EXPECT_TRUE(std::isfinite(r));
}

TEST(LinearQuant, NonFiniteInputNamesTheTensor) {
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> values = normal_values(64, 8);
    values[37] = bad;
    try {
      quantize_linear("blk.3.attn_q.weight", values, 2, 32, spec(4, false, false, per_group(32)));
      FAIL() << "no error for " << bad;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("blk.3.attn_q.weight"), std::string::npos) << message;
      EXPECT_NE(message.find("row 1, column 5"), std::string::npos) << message;
    }
  }
}

TEST(LinearQuant, RejectsBadGroupSizesBitsAndShapes) {
  const std::vector<float> values = normal_values(2 * 172, 9);
  try {
    quantize_linear("blk.0.ffn_down.weight", values, 2, 172, spec(4, false, false, per_group(32)));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("blk.0.ffn_down.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("group size 32"), std::string::npos) << message;
  }
  EXPECT_NO_THROW(quantize_linear("w", values, 2, 172, spec(4, false, false, per_group(43))));
  EXPECT_THROW(quantize_linear("w", values, 2, 172, spec(4, false, false, per_group(0))), Error);
  EXPECT_THROW(quantize_linear("w", values, 2, 172, spec(1, false, false, kPerChannel)), Error);
  EXPECT_THROW(quantize_linear("w", values, 2, 172, spec(9, false, false, kPerChannel)), Error);
  EXPECT_THROW(quantize_linear("w", values, 3, 172, spec(4, false, false, kPerChannel)), Error);
  EXPECT_THROW(quantize_linear("w", {}, 0, 172, spec(4, false, false, kPerChannel)), Error);
  LinearSpec bad_percentile = spec(4, false, false, kPerChannel);
  bad_percentile.range_method = RangeMethod::Percentile;
  bad_percentile.percentile = 40;
  EXPECT_THROW(quantize_linear("w", values, 2, 172, bad_percentile), Error);
}

TEST(LinearQuant, UnsignedSymmetricClipsNegativeValues) {
  const std::vector<float> values{-1.0f, 0.5f, 1.0f, 0.25f};
  const LinearQuantized q = quantize_linear("w", values, 1, 4, spec(8, true, true, kPerTensor));
  const std::vector<float> r = dequantized(q);
  EXPECT_EQ(r[0], 0.0f);
  const QuantError error = error_of(q, values);
  EXPECT_DOUBLE_EQ(error.clip_mse, 1.0 / 4);  // (-1 - 0)^2 over 4 elements
  EXPECT_DOUBLE_EQ(error.mse, error.clip_mse + error.rounding_mse);
}

// Heavy-tailed weights: a few outliers stretch the min-max range and cost every other weight precision.
std::vector<float> values_with_outliers(size_t n, unsigned seed) {
  std::vector<float> values = normal_values(n, seed);
  for (size_t i = 0; i < n; i += 997) values[i] *= 25.0f;
  return values;
}

TEST(LinearQuant, PercentileClipsOutliersAndTradesClipForRoundingError) {
  const std::vector<float> values = values_with_outliers(64 * 256, 10);
  LinearSpec s = spec(4, false, false, kPerTensor);
  const QuantError minmax = error_of(quantize_linear("w", values, 64, 256, s), values);
  s.range_method = RangeMethod::Percentile;
  s.percentile = 99.0;
  const QuantError clipped = error_of(quantize_linear("w", values, 64, 256, s), values);
  EXPECT_EQ(minmax.clip_mse, 0.0);
  EXPECT_GT(clipped.clip_mse, 0.0);
  EXPECT_LT(clipped.rounding_mse, minmax.rounding_mse / 10);
  EXPECT_DOUBLE_EQ(clipped.mse, clipped.clip_mse + clipped.rounding_mse);
  s.symmetric = true;  // percentile of |r|
  const QuantError symmetric = error_of(quantize_linear("w", values, 64, 256, s), values);
  EXPECT_GT(symmetric.clip_mse, 0.0);
  // 100th percentile is the min-max range.
  s.symmetric = false;
  s.percentile = 100.0;
  EXPECT_EQ(error_of(quantize_linear("w", values, 64, 256, s), values).mse, minmax.mse);
}

TEST(LinearQuant, MseSearchNeverLosesToMinMaxAndWinsOnOutliers) {
  for (const auto& values : {normal_values(32 * 128, 11), values_with_outliers(32 * 128, 12)}) {
    for (const Grouping& grouping : {kPerTensor, kPerChannel, per_group(64)}) {
      LinearSpec s = spec(3, false, false, grouping, ScalePrecision::F16);
      const QuantError minmax = error_of(quantize_linear("w", values, 32, 128, s), values);
      s.range_method = RangeMethod::Mse;
      const QuantError searched = error_of(quantize_linear("w", values, 32, 128, s), values);
      EXPECT_LE(searched.mse, minmax.mse);
      EXPECT_NEAR(searched.mse, searched.clip_mse + searched.rounding_mse, 1e-12);
    }
  }
  // 3 bits over a whole Gaussian tensor: the rare extremes are worth clipping to halve every step.
  const auto values = normal_values(32 * 128, 13);
  LinearSpec s = spec(3, true, false, kPerTensor);
  const QuantError minmax = error_of(quantize_linear("w", values, 32, 128, s), values);
  s.range_method = RangeMethod::Mse;
  const QuantError searched = error_of(quantize_linear("w", values, 32, 128, s), values);
  EXPECT_LT(searched.mse, 0.5 * minmax.mse);
  EXPECT_GT(searched.clip_mse, 0.0);
}

TEST(LinearQuant, DequantizationIsScaleTimesCodeMinusZero) {
  const std::vector<float> values = normal_values(3 * 96, 14);
  const LinearQuantized q = quantize_linear("w", values, 3, 96, spec(5, false, false, per_group(32), ScalePrecision::F16));
  std::vector<uint8_t> codes(values.size());
  unpack_bits(q.codes, 5, codes);
  const std::vector<int> zeros = zero_points(q);
  const std::vector<float> r = dequantized(q);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(r[i], q.scales[i / 32] * static_cast<float>(codes[i] + q.qmin - zeros[i / 32]));
  }
}

}  // namespace test_linear
}  // namespace lowbit
