// FP16 / BF16 conversions checked exhaustively against an independent reference: decoding from the bit
// fields with std::ldexp, encoding by searching the sorted table of representable values in double.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"

namespace lowbit {
namespace test_half {

struct HalfSpec {
  std::string name;
  int exponent_bits;
  int mantissa_bits;
  int bias;
  uint16_t max_code;  // largest finite value, from the IEEE / bfloat16 definitions
  float max;
  uint16_t (*encode)(float);
  float (*decode)(uint16_t);
};

const HalfSpec kFp16{"FP16", 5, 10, 15, 0x7bff, 65504.0f, fp32_to_fp16, fp16_to_fp32};
const HalfSpec kBf16{"BF16", 8, 7, 127, 0x7f7f, 0x1.fep127f, fp32_to_bf16, bf16_to_fp32};

constexpr uint16_t kSignBit = 0x8000;

uint16_t infinity_code(const HalfSpec& spec) {
  return static_cast<uint16_t>(((1 << spec.exponent_bits) - 1) << spec.mantissa_bits);
}
uint16_t quiet_bit(const HalfSpec& spec) { return static_cast<uint16_t>(1 << (spec.mantissa_bits - 1)); }

bool reference_is_nan(const HalfSpec& spec, uint16_t code) {
  const uint16_t magnitude = code & 0x7fff;
  return magnitude > infinity_code(spec);
}

// (-1)^s * 2^(e - bias) * (1 + m / 2^M), or (-1)^s * 2^(1 - bias) * (m / 2^M) when e == 0.
double reference_decode(const HalfSpec& spec, uint16_t code) {
  const int exponent_ones = (1 << spec.exponent_bits) - 1;
  const int exponent = (code >> spec.mantissa_bits) & exponent_ones;
  const int mantissa = code & ((1 << spec.mantissa_bits) - 1);
  const double sign = (code & kSignBit) ? -1.0 : 1.0;
  if (exponent == exponent_ones) return mantissa ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
  const double fraction = std::ldexp(mantissa, -spec.mantissa_bits);
  if (exponent == 0) return sign * std::ldexp(fraction, 1 - spec.bias);
  return sign * std::ldexp(1.0 + fraction, exponent - spec.bias);
}

// Values of the non-negative finite codes 0..max_code; they increase with the code.
std::vector<double> positive_values(const HalfSpec& spec) {
  std::vector<double> values;
  for (int code = 0; code <= spec.max_code; ++code) {
    values.push_back(reference_decode(spec, static_cast<uint16_t>(code)));
  }
  return values;
}

// Nearest code (ties to the even code). Past max + half the spacing at max (the midpoint to the value
// the next code would have with an unbounded exponent) the value overflows to Inf; at that midpoint
// the tie goes to the even of max_code and max_code + 1, which is Inf for both formats (odd max_code).
uint16_t reference_encode(const HalfSpec& spec, const std::vector<double>& values, float value) {
  const uint16_t sign = std::signbit(value) ? kSignBit : 0;
  if (std::isnan(value)) return sign | infinity_code(spec) | quiet_bit(spec);
  const double magnitude = std::fabs(static_cast<double>(value));
  const double threshold = values.back() + (values.back() - values[values.size() - 2]) / 2;
  if (magnitude > threshold || (magnitude == threshold && (spec.max_code & 1))) return sign | infinity_code(spec);
  const auto above = std::lower_bound(values.begin(), values.end(), magnitude);
  if (above == values.end()) return sign | spec.max_code;
  if (above == values.begin() || *above == magnitude) return static_cast<uint16_t>(sign | (above - values.begin()));
  const auto high = static_cast<uint16_t>(above - values.begin());
  const auto low = static_cast<uint16_t>(high - 1);
  const double to_low = magnitude - values[low];
  const double to_high = values[high] - magnitude;
  if (to_low < to_high || (to_low == to_high && (low & 1) == 0)) return sign | low;
  return sign | high;
}

class HalfTest : public ::testing::TestWithParam<HalfSpec> {
 protected:
  const HalfSpec& spec() const { return GetParam(); }

  void expect_reference_rounding(const std::vector<double>& values, float value) {
    for (float signed_value : {value, -value}) {
      const uint16_t expected = reference_encode(spec(), values, signed_value);
      const uint16_t actual = spec().encode(signed_value);
      EXPECT_EQ(actual, expected) << spec().name << " value " << signed_value << " (0x" << std::hex
                                  << std::bit_cast<uint32_t>(signed_value) << ")";
    }
  }
};

TEST_P(HalfTest, DecodesEveryCodeLikeTheFieldFormula) {
  for (int code = 0; code < 65536; ++code) {
    const auto bits = static_cast<uint16_t>(code);
    const double expected = reference_decode(spec(), bits);
    const float actual = spec().decode(bits);
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(actual)) << spec().name << " code " << code;
    } else {
      ASSERT_EQ(static_cast<double>(actual), expected) << spec().name << " code " << code;
    }
    ASSERT_EQ(std::signbit(actual), (code & kSignBit) != 0) << spec().name << " code " << code;
  }
  EXPECT_EQ(spec().decode(spec().max_code), spec().max);
  EXPECT_TRUE(std::isinf(spec().decode(spec().max_code + 1)));
}

// Every non-NaN code comes back unchanged; a NaN comes back as the quiet NaN with the same sign and
// payload (the quiet bit set).
TEST_P(HalfTest, EveryCodeSurvivesDecodeThenEncode) {
  for (int code = 0; code < 65536; ++code) {
    const auto bits = static_cast<uint16_t>(code);
    const uint16_t encoded = spec().encode(spec().decode(bits));
    const uint16_t expected = reference_is_nan(spec(), bits) ? (bits | quiet_bit(spec())) : bits;
    ASSERT_EQ(encoded, expected) << spec().name << " code " << code;
  }
}

TEST_P(HalfTest, RoundsEveryBoundaryBetweenAdjacentCodes) {
  const std::vector<double> values = positive_values(spec());
  for (int code = 0; code < spec().max_code; ++code) {
    const float low = spec().decode(static_cast<uint16_t>(code));
    const float high = spec().decode(static_cast<uint16_t>(code + 1));
    const double exact_midpoint = (values[code] + values[code + 1]) / 2;
    const auto midpoint = static_cast<float>(exact_midpoint);
    ASSERT_EQ(static_cast<double>(midpoint), exact_midpoint) << "midpoints have one bit more than the format";
    for (float value : {low, std::nextafter(midpoint, 0.0f), midpoint, std::nextafter(midpoint, high)}) {
      expect_reference_rounding(values, value);
    }
  }
}

TEST_P(HalfTest, OverflowThresholdInfinityZeroAndNan) {
  const std::vector<double> values = positive_values(spec());
  const float max = spec().max;
  const float spacing_at_max = max - spec().decode(spec().max_code - 1);
  const auto threshold = static_cast<float>(static_cast<double>(max) + spacing_at_max / 2);
  const float infinity = std::numeric_limits<float>::infinity();
  for (float value : {max, std::nextafter(max, infinity), std::nextafter(threshold, 0.0f), threshold,
                      std::nextafter(threshold, infinity), std::numeric_limits<float>::max(), infinity, 0.0f,
                      std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min()}) {
    expect_reference_rounding(values, value);
  }
  EXPECT_EQ(spec().encode(std::nextafter(threshold, 0.0f)), spec().max_code);
  EXPECT_EQ(spec().encode(threshold), infinity_code(spec()));
  EXPECT_EQ(spec().encode(-infinity), kSignBit | infinity_code(spec()));
  EXPECT_EQ(spec().encode(-0.0f), kSignBit);
  for (float nan : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                    std::numeric_limits<float>::signaling_NaN(), std::bit_cast<float>(0xff800001u)}) {
    const uint16_t encoded = spec().encode(nan);
    EXPECT_TRUE(reference_is_nan(spec(), encoded)) << spec().name << " 0x" << std::hex << std::bit_cast<uint32_t>(nan);
    EXPECT_EQ((encoded & kSignBit) != 0, std::signbit(nan));
  }
}

// The rounding cases in between: random FP32 values across the whole FP32 range (subnormals included),
// and as many again with exponents in the format's own range, from below its subnormals to past its max.
TEST_P(HalfTest, RandomFloatsOfEveryMagnitudeMatchTheReference) {
  const std::vector<double> values = positive_values(spec());
  std::mt19937 rng(42);
  std::uniform_int_distribution<uint32_t> any_bits(0, 0x7f7fffffu);
  std::uniform_int_distribution<uint32_t> mantissa_bits(0, 0x7fffffu);
  const int lowest_exponent = std::max(1, 127 + 1 - spec().bias - spec().mantissa_bits - 2);
  const int highest_exponent = std::min(254, 127 + spec().bias + 1);
  std::uniform_int_distribution<int> format_exponent(lowest_exponent, highest_exponent);
  for (int i = 0; i < 500000; ++i) {
    expect_reference_rounding(values, std::bit_cast<float>(any_bits(rng)));
    const uint32_t in_range = (static_cast<uint32_t>(format_exponent(rng)) << 23) | mantissa_bits(rng);
    expect_reference_rounding(values, std::bit_cast<float>(in_range));
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, HalfTest, ::testing::Values(kFp16, kBf16),
                         [](const ::testing::TestParamInfo<HalfSpec>& info) { return info.param.name; });

TEST(Half, KnownValues) {
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // tie between 0 and 2^-24: even is 0
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);  // tie between 2^-24 and 2^-23: even is 2
  EXPECT_EQ(fp16_to_fp32(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie: even
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie: even
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x7f7fffffu)), 0x7f80);  // FLT_MAX rounds to Inf
}

}  // namespace test_half
}  // namespace lowbit
