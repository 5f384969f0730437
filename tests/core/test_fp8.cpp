// FP8 E4M3 / E5M2 conversions checked exhaustively against an independent reference: decoding from the
// bit fields with std::ldexp, encoding by searching for the nearest code in double precision.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/fp8.h"

namespace lowbit {
namespace test_fp8 {

struct Fp8Spec {
  std::string name;
  int exponent_bits;
  int mantissa_bits;
  int bias;
  bool has_infinity;  // E5M2: exponent all ones is Inf/NaN; E4M3FN: only S.1111.111 is NaN
  uint8_t max_code;   // largest finite value, from the spec's table
  float max;
  uint8_t (*encode)(float, bool);
  float (*decode)(uint8_t);
};

const Fp8Spec kE4m3{"E4M3", 4, 3, 7, false, 0x7e, 448.0f, fp32_to_fp8_e4m3, fp8_e4m3_to_fp32};
const Fp8Spec kE5m2{"E5M2", 5, 2, 15, true, 0x7b, 57344.0f, fp32_to_fp8_e5m2, fp8_e5m2_to_fp32};

bool reference_is_nan(const Fp8Spec& spec, uint8_t code) {
  const int exponent_ones = (1 << spec.exponent_bits) - 1;
  const int mantissa_ones = (1 << spec.mantissa_bits) - 1;
  const int exponent = (code >> spec.mantissa_bits) & exponent_ones;
  const int mantissa = code & mantissa_ones;
  if (spec.has_infinity) return exponent == exponent_ones && mantissa != 0;
  return exponent == exponent_ones && mantissa == mantissa_ones;
}

// (-1)^s * 2^(e - bias) * (1 + m / 2^M), or (-1)^s * 2^(1 - bias) * (m / 2^M) when e == 0.
double reference_decode(const Fp8Spec& spec, uint8_t code) {
  const int exponent_ones = (1 << spec.exponent_bits) - 1;
  const int exponent = (code >> spec.mantissa_bits) & exponent_ones;
  const int mantissa = code & ((1 << spec.mantissa_bits) - 1);
  const double sign = (code & 0x80) ? -1.0 : 1.0;
  if (reference_is_nan(spec, code)) return std::numeric_limits<double>::quiet_NaN();
  if (spec.has_infinity && exponent == exponent_ones) return sign * std::numeric_limits<double>::infinity();
  const double fraction = std::ldexp(mantissa, -spec.mantissa_bits);
  if (exponent == 0) return sign * std::ldexp(fraction, 1 - spec.bias);
  return sign * std::ldexp(1.0 + fraction, exponent - spec.bias);
}

// Non-negative finite codes in increasing order of value.
std::vector<uint8_t> positive_finite_codes(const Fp8Spec& spec) {
  std::vector<uint8_t> codes;
  for (int code = 0; code < 0x80; ++code) {
    if (std::isfinite(reference_decode(spec, static_cast<uint8_t>(code)))) codes.push_back(static_cast<uint8_t>(code));
  }
  return codes;
}

// Nearest finite code (ties to the even code); beyond the overflow threshold, where IEEE rounding with
// an unbounded exponent would pass the largest finite value, the saturate/no-saturate result.
uint8_t reference_encode(const Fp8Spec& spec, float value, bool saturate) {
  const uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  const uint8_t nan = spec.has_infinity ? 0x7e : 0x7f;
  if (std::isnan(value)) return sign | nan;
  const std::vector<uint8_t> codes = positive_finite_codes(spec);
  const uint8_t max_code = codes.back();
  const double max = reference_decode(spec, max_code);
  const double spacing_at_max = max - reference_decode(spec, codes[codes.size() - 2]);
  const double threshold = max + spacing_at_max / 2;
  const double magnitude = std::fabs(static_cast<double>(value));
  // At the threshold itself the tie goes to the even neighbour: max if max's code is even.
  const bool overflows = magnitude > threshold || (magnitude == threshold && (max_code & 1));
  if (overflows) return sign | (saturate ? max_code : (spec.has_infinity ? 0x7c : nan));
  uint8_t best = codes[0];
  double best_distance = magnitude;
  for (uint8_t code : codes) {
    const double distance = std::fabs(magnitude - reference_decode(spec, code));
    if (distance < best_distance || (distance == best_distance && (code & 1) == 0)) {
      best = code;
      best_distance = distance;
    }
  }
  return sign | best;
}

void expect_same_code(const Fp8Spec& spec, float value, bool saturate) {
  const uint8_t expected = reference_encode(spec, value, saturate);
  const uint8_t actual = spec.encode(value, saturate);
  EXPECT_EQ(actual, expected) << spec.name << " value " << value << " (0x" << std::hex << std::bit_cast<uint32_t>(value)
                              << ") saturate " << saturate;
}

void expect_same_code_both_modes_and_signs(const Fp8Spec& spec, float value) {
  for (bool saturate : {false, true}) {
    expect_same_code(spec, value, saturate);
    expect_same_code(spec, -value, saturate);
  }
}

class Fp8Test : public ::testing::TestWithParam<Fp8Spec> {};

TEST_P(Fp8Test, DecodesEveryCodeLikeTheFieldFormula) {
  const Fp8Spec& spec = GetParam();
  for (int code = 0; code < 256; ++code) {
    const double expected = reference_decode(spec, static_cast<uint8_t>(code));
    const float actual = spec.decode(static_cast<uint8_t>(code));
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(actual)) << spec.name << " code " << code;
    } else {
      EXPECT_EQ(static_cast<double>(actual), expected) << spec.name << " code " << code;
    }
    EXPECT_EQ(std::signbit(actual), (code & 0x80) != 0) << spec.name << " code " << code;
  }
  EXPECT_EQ(positive_finite_codes(spec).back(), spec.max_code);
  EXPECT_EQ(spec.decode(spec.max_code), spec.max);
}

TEST_P(Fp8Test, EveryCodeSurvivesDecodeThenEncode) {
  const Fp8Spec& spec = GetParam();
  for (int code = 0; code < 256; ++code) {
    const float value = spec.decode(static_cast<uint8_t>(code));
    for (bool saturate : {false, true}) {
      const uint8_t encoded = spec.encode(value, saturate);
      if (reference_is_nan(spec, static_cast<uint8_t>(code))) {
        EXPECT_TRUE(reference_is_nan(spec, encoded)) << spec.name << " code " << code;
        EXPECT_EQ(encoded & 0x80, code & 0x80) << spec.name << " code " << code;
      } else if (std::isinf(value) && saturate) {
        EXPECT_EQ(encoded, (code & 0x80) | spec.max_code) << spec.name << " code " << code;
      } else {
        EXPECT_EQ(encoded, code) << spec.name << " code " << code << " saturate " << saturate;
      }
    }
  }
}

TEST_P(Fp8Test, RoundsEveryBoundaryBetweenAdjacentCodes) {
  const Fp8Spec& spec = GetParam();
  const std::vector<uint8_t> codes = positive_finite_codes(spec);
  for (size_t i = 0; i + 1 < codes.size(); ++i) {
    const float low = spec.decode(codes[i]);
    const float high = spec.decode(codes[i + 1]);
    const float midpoint = (low + high) / 2;  // exact: FP8 values have few significant bits
    ASSERT_EQ(static_cast<double>(midpoint),
              (reference_decode(spec, codes[i]) + reference_decode(spec, codes[i + 1])) / 2);
    for (float value : {low, midpoint, std::nextafter(midpoint, 0.0f), std::nextafter(midpoint, high), high}) {
      expect_same_code_both_modes_and_signs(spec, value);
    }
  }
}

TEST_P(Fp8Test, OverflowSaturatesOrGivesTheNonSaturatingCode) {
  const Fp8Spec& spec = GetParam();
  const float max = spec.max;
  ASSERT_EQ(spec.decode(spec.max_code), max);
  const float spacing_at_max = max - spec.decode(spec.max_code - 1);
  const float threshold = max + spacing_at_max / 2;
  const float infinity = std::numeric_limits<float>::infinity();
  for (float value : {max, threshold, std::nextafter(threshold, 0.0f), std::nextafter(threshold, infinity),
                      max + spacing_at_max, 2 * max, 1e30f, std::numeric_limits<float>::max(), infinity}) {
    expect_same_code_both_modes_and_signs(spec, value);
  }
}

TEST_P(Fp8Test, TinyValuesSignedZerosAndNan) {
  const Fp8Spec& spec = GetParam();
  const float smallest = spec.decode(0x01);
  for (float value : {0.0f, smallest / 2, std::nextafter(smallest / 2, 1.0f), std::nextafter(smallest / 2, 0.0f),
                      smallest * 1.5f, std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min()}) {
    expect_same_code_both_modes_and_signs(spec, value);
  }
  EXPECT_EQ(spec.encode(-0.0f, false), 0x80);
  for (bool saturate : {false, true}) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(reference_is_nan(spec, spec.encode(nan, saturate)));
    EXPECT_EQ(spec.encode(-nan, saturate), 0x80 | spec.encode(nan, saturate));
  }
}

TEST_P(Fp8Test, RandomFloatsOfEveryMagnitudeMatchTheReference) {
  const Fp8Spec& spec = GetParam();
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> exponent(-30, 20);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  for (int i = 0; i < 200000; ++i) {
    const float value = std::ldexp(mantissa(rng), exponent(rng));
    expect_same_code(spec, value, i % 2 == 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, Fp8Test, ::testing::Values(kE4m3, kE5m2),
                         [](const ::testing::TestParamInfo<Fp8Spec>& info) { return info.param.name; });

TEST(Fp8, KnownValuesFromTheOcpSpec) {
  EXPECT_EQ(fp8_e4m3_to_fp32(0x7e), kFp8E4m3Max);
  EXPECT_EQ(fp8_e4m3_to_fp32(0x38), 1.0f);
  EXPECT_EQ(fp8_e4m3_to_fp32(0x08), std::ldexp(1.0f, -6));  // smallest normal
  EXPECT_EQ(fp8_e4m3_to_fp32(0x01), std::ldexp(1.0f, -9));  // smallest subnormal
  EXPECT_TRUE(std::isnan(fp8_e4m3_to_fp32(0x7f)));
  EXPECT_EQ(fp8_e4m3_to_fp32(0x78), 256.0f);  // S.1111.000 is a finite number in E4M3FN
  EXPECT_EQ(fp8_e5m2_to_fp32(0x7b), kFp8E5m2Max);
  EXPECT_EQ(fp8_e5m2_to_fp32(0x3c), 1.0f);
  EXPECT_EQ(fp8_e5m2_to_fp32(0x04), std::ldexp(1.0f, -14));
  EXPECT_EQ(fp8_e5m2_to_fp32(0x01), std::ldexp(1.0f, -16));
  EXPECT_EQ(fp8_e5m2_to_fp32(0xfc), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp32_to_fp8_e4m3(464.0f, false), 0x7e);  // tie between 448 and (unrepresentable) 480: even
  EXPECT_EQ(fp32_to_fp8_e4m3(465.0f, false), 0x7f);
  EXPECT_EQ(fp32_to_fp8_e4m3(-1e6f, true), 0xfe);
  EXPECT_EQ(fp32_to_fp8_e5m2(61440.0f, false), 0x7c);  // tie between 57344 and 65536: even is Inf
  EXPECT_EQ(fp32_to_fp8_e5m2(61440.0f, true), 0x7b);
  EXPECT_EQ(fp32_to_fp8_e5m2(61439.0f, false), 0x7b);
}

}  // namespace test_fp8
}  // namespace lowbit
