#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/fp8.h"
#include "quant/fp8_quant.h"

namespace lowbit {
namespace test_fp8_quant {

std::vector<float> normal_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.03f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<float> dequantized(const Fp8Quantized& q) {
  std::vector<float> out(static_cast<size_t>(q.elements()));
  dequantize_fp8(q, out);
  return out;
}

TEST(Fp8Quant, AbsmaxMapsToTheFormatMaximum) {
  for (const auto& [format, max] : {std::pair{Fp8Spec::Format::E4M3, kFp8E4m3Max}, {Fp8Spec::Format::E5M2, kFp8E5m2Max}}) {
    std::vector<float> values = normal_values(1024, 1);
    values[77] = -0.5f;  // the absmax
    const Fp8Quantized q = quantize_fp8("w", values, 4, 256, Fp8Spec{format});
    EXPECT_FLOAT_EQ(q.scale, 0.5f / max);
    EXPECT_EQ(q.codes.size(), 1024u);
    EXPECT_FLOAT_EQ(dequantized(q)[77], -0.5f);
    EXPECT_DOUBLE_EQ(q.bits_per_weight(), 8.0 + 32.0 / 1024);
  }
}

TEST(Fp8Quant, RelativeErrorIsHalfAMantissaStep) {
  // Normal-range values keep 3 (E4M3) or 2 (E5M2) mantissa bits: relative error <= 2^-4 or 2^-3.
  const std::vector<float> values = normal_values(4096, 2);
  for (const auto& [format, relative] : {std::pair{Fp8Spec::Format::E4M3, 1.0f / 16}, {Fp8Spec::Format::E5M2, 1.0f / 8}}) {
    const Fp8Quantized q = quantize_fp8("w", values, 64, 64, Fp8Spec{format});
    const std::vector<float> r = dequantized(q);
    for (size_t i = 0; i < values.size(); ++i) {
      if (std::abs(values[i]) < 1e-3f) continue;  // subnormal range of the scaled format
      EXPECT_LE(std::abs(values[i] - r[i]), relative * std::abs(values[i]) * (1 + 1e-5f)) << i;
    }
    const std::vector<GroupRange> ranges = representable_ranges(q);
    ASSERT_EQ(ranges.size(), 1u);
    EXPECT_EQ(measure_quant_error(values, r, 4096, ranges, q.bits_per_weight()).clip_mse, 0.0);
  }
}

TEST(Fp8Quant, RangeEndsHalfAStepAboveTheMaximum) {
  const std::vector<float> values{448.0f, 1.0f};  // scale 1 for E4M3
  const std::vector<GroupRange> ranges = representable_ranges(quantize_fp8("w", values, 1, 2, Fp8Spec{}));
  EXPECT_EQ(ranges[0].hi, 448.0f + 16.0f);  // the step below 448 is 32
  EXPECT_EQ(ranges[0].lo, -464.0f);
}

TEST(Fp8Quant, ZerosAndNonFiniteInput) {
  const std::vector<float> zeros(64, 0.0f);
  for (float r : dequantized(quantize_fp8("w", zeros, 8, 8, Fp8Spec{Fp8Spec::Format::E5M2}))) EXPECT_EQ(r, 0.0f);
  std::vector<float> values = normal_values(64, 3);
  values[9] = NAN;
  try {
    quantize_fp8("output.weight", values, 8, 8, Fp8Spec{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("output.weight"), std::string::npos) << e.what();
  }
}

}  // namespace test_fp8_quant
}  // namespace lowbit
