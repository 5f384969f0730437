#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "formats/bitpack.h"
#include "quant/codebook_quant.h"

namespace lowbit {
namespace test_codebook_quant {

std::vector<float> normal_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

CodebookSpec spec(CodebookSpec::Kind kind, int64_t block, ScalePrecision precision = ScalePrecision::F32,
                  bool double_quant = false, int bits = 4) {
  CodebookSpec s;
  s.kind = kind;
  s.bits = bits;
  s.grouping = {Grouping::Kind::Group, block};
  s.scale_precision = precision;
  s.double_quant = double_quant;
  return s;
}

std::vector<float> dequantized(const CodebookQuantized& q) {
  std::vector<float> out(static_cast<size_t>(q.elements()));
  dequantize_codebook(q, out);
  return out;
}

QuantError error_of(const CodebookQuantized& q, const std::vector<float>& values) {
  return measure_quant_error(values, dequantized(q), q.block_size, representable_ranges(q), q.bits_per_weight());
}

TEST(CodebookQuant, EachElementGetsTheNearestScaledCode) {
  const std::vector<float> values = normal_values(8 * 128, 1);
  for (const CodebookSpec& s : {spec(CodebookSpec::Kind::NF4, 64), spec(CodebookSpec::Kind::FP4, 32),
                                spec(CodebookSpec::Kind::Log2, 64, ScalePrecision::F32, false, 4),
                                spec(CodebookSpec::Kind::Log2, 128, ScalePrecision::F32, false, 3)}) {
    const CodebookQuantized q = quantize_codebook("w", values, 8, 128, s);
    const std::vector<float> r = dequantized(q);
    for (size_t i = 0; i < values.size(); ++i) {
      const size_t block = i / static_cast<size_t>(q.block_size);
      float block_absmax = 0;
      for (size_t j = block * q.block_size; j < (block + 1) * q.block_size; ++j) block_absmax = std::max(block_absmax, std::abs(values[j]));
      ASSERT_EQ(q.absmax[block], block_absmax);
      float best = INFINITY;
      for (float v : q.codebook.values()) best = std::min(best, std::abs(values[i] - block_absmax * v));
      ASSERT_NEAR(std::abs(values[i] - r[i]), best, 1e-7f) << q.codebook.name() << " element " << i;
    }
    EXPECT_EQ(error_of(q, values).clip_mse, 0.0);
  }
}

TEST(CodebookQuant, CodesAreTheBitpackedCodeBookIndices) {
  const std::vector<float> values{-1.0f, 0.0f, 1.0f, 0.5f, -0.5f, 0.08f, 0.7f, -0.7f};
  const CodebookQuantized q = quantize_codebook("w", values, 1, 8, spec(CodebookSpec::Kind::NF4, 8));
  std::vector<uint8_t> codes(8);
  unpack_bits(q.codes, 4, codes);
  EXPECT_EQ(codes, (std::vector<uint8_t>{0, 7, 15, 12, 2, 8, 14, 1}));
  EXPECT_EQ(q.codes.size(), 4u);
}

TEST(CodebookQuant, PowerOfTwoRoundsToTheNearestLevelLinearly) {
  // Block max 1: 0.3 lies between 1/4 and 1/2 and is nearer 1/4; 0.4 nearer 1/2; 0.004 nearer 0 than 1/64.
  const std::vector<float> values{1.0f, 0.3f, -0.4f, 0.004f};
  const CodebookQuantized q = quantize_codebook("w", values, 1, 4, spec(CodebookSpec::Kind::Log2, 4, ScalePrecision::F16));
  EXPECT_EQ(dequantized(q), (std::vector<float>{1.0f, 0.25f, -0.5f, 0.0f}));
}

TEST(CodebookQuant, BitsPerWeightCountsScalesInTheirStoredPrecision) {
  const std::vector<float> values = normal_values(64 * 256 * 4, 2);  // 1024 blocks of 64
  EXPECT_DOUBLE_EQ(quantize_codebook("w", values, 4, 64 * 256, spec(CodebookSpec::Kind::NF4, 64)).bits_per_weight(), 4.5);
  EXPECT_DOUBLE_EQ(
      quantize_codebook("w", values, 4, 64 * 256, spec(CodebookSpec::Kind::NF4, 64, ScalePrecision::F16)).bits_per_weight(),
      4.25);
  const CodebookQuantized dq =
      quantize_codebook("w", values, 4, 64 * 256, spec(CodebookSpec::Kind::NF4, 64, ScalePrecision::F32, true));
  ASSERT_TRUE(dq.double_quantized.has_value());
  EXPECT_TRUE(dq.absmax.empty());
  EXPECT_EQ(dq.double_quantized->second_level_scales.size(), 4u);
  // 8/64 per weight for the scale codes, 32 per 256 blocks for second-level scales, 32 for the mean.
  EXPECT_DOUBLE_EQ(dq.bits_per_weight(), 4.0 + 8.0 / 64 + (4 * 32.0 + 32.0) / static_cast<double>(values.size()));
  EXPECT_NEAR(4.5 - dq.bits_per_weight(), 0.373, 0.001);
}

TEST(CodebookQuant, DoubleQuantizationCostsLittleAccuracy) {
  const std::vector<float> values = normal_values(64 * 4096, 3);
  const QuantError plain = error_of(quantize_codebook("w", values, 64, 4096, spec(CodebookSpec::Kind::NF4, 64)), values);
  const CodebookQuantized dq = quantize_codebook("w", values, 64, 4096, spec(CodebookSpec::Kind::NF4, 64, ScalePrecision::F32, true));
  const QuantError doubled = error_of(dq, values);
  EXPECT_LT(doubled.mse, 1.02 * plain.mse);
  EXPECT_NEAR(doubled.mse, doubled.clip_mse + doubled.rounding_mse, 1e-15);
  // Codes were chosen against the dequantized scales: reconstruction is scale * value(code) exactly.
  std::vector<uint8_t> codes(values.size());
  unpack_bits(dq.codes, 4, codes);
  const std::vector<float> scales = dq.block_scales();
  const std::vector<float> r = dequantized(dq);
  for (size_t i = 0; i < values.size(); i += 101) EXPECT_EQ(r[i], scales[i / 64] * Codebook::nf4().value(codes[i]));
}

TEST(CodebookQuant, ZeroBlocksReconstructExactly) {
  std::vector<float> values = normal_values(4 * 64, 4);
  std::fill(values.begin() + 64, values.begin() + 128, 0.0f);
  for (bool double_quant : {false, true}) {
    const CodebookQuantized q = quantize_codebook("w", values, 4, 64, spec(CodebookSpec::Kind::NF4, 64, ScalePrecision::F32, double_quant));
    const std::vector<float> r = dequantized(q);
    for (size_t i = 64; i < 128; ++i) EXPECT_EQ(r[i], 0.0f);
  }
  const std::vector<float> zeros(128, 0.0f);
  for (const CodebookSpec& s : {spec(CodebookSpec::Kind::FP4, 64), spec(CodebookSpec::Kind::NF4, 64, ScalePrecision::F32, true)}) {
    const CodebookQuantized q = quantize_codebook("w", zeros, 2, 64, s);
    for (float r : dequantized(q)) EXPECT_EQ(r, 0.0f);
    EXPECT_EQ(error_of(q, zeros).mse, 0.0);
  }
}

TEST(CodebookQuant, AllEqualValuesReconstructExactly) {
  for (float c : {0.37f, -2.5f}) {
    const std::vector<float> values(128, c);
    for (const CodebookSpec& s : {spec(CodebookSpec::Kind::NF4, 64), spec(CodebookSpec::Kind::FP4, 128),
                                  spec(CodebookSpec::Kind::Log2, 32, ScalePrecision::F32, false, 5)}) {
      for (float r : dequantized(quantize_codebook("w", values, 1, 128, s))) EXPECT_EQ(r, c);
    }
  }
}

TEST(CodebookQuant, HugeValuesNeedFp32Scales) {
  const std::vector<float> values{3.4e38f, -3.4e38f, 1.0f, 0.0f};
  for (float r : dequantized(quantize_codebook("w", values, 1, 4, spec(CodebookSpec::Kind::NF4, 4)))) EXPECT_TRUE(std::isfinite(r));
  try {
    quantize_codebook("tok_embeddings", values, 1, 4, spec(CodebookSpec::Kind::NF4, 4, ScalePrecision::F16));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tok_embeddings"), std::string::npos) << e.what();
  }
}

TEST(CodebookQuant, ErrorsNameTheTensor) {
  std::vector<float> values = normal_values(2 * 172, 5);
  auto expect_error = [&](const std::vector<float>& v, const CodebookSpec& s, const char* fragment) {
    try {
      quantize_codebook("blk.1.ffn_down.weight", v, 2, 172, s);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("blk.1.ffn_down.weight"), std::string::npos) << message;
      EXPECT_NE(message.find(fragment), std::string::npos) << message;
    }
  };
  expect_error(values, spec(CodebookSpec::Kind::NF4, 64), "group size 64");
  expect_error(values, spec(CodebookSpec::Kind::NF4, 43, ScalePrecision::F16, true), "double quantization");
  values[100] = NAN;
  expect_error(values, spec(CodebookSpec::Kind::NF4, 43), "NaN");
  values[100] = -INFINITY;
  expect_error(values, spec(CodebookSpec::Kind::FP4, 43), "-Inf");
  EXPECT_THROW(quantize_codebook("w", normal_values(64, 6), 1, 64, spec(CodebookSpec::Kind::Log2, 64, ScalePrecision::F16, false, 9)), Error);
}

}  // namespace test_codebook_quant
}  // namespace lowbit
