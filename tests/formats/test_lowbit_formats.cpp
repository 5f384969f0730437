// lowbit's own block types (formats/lowbit_*.h) through the type table: every row's geometry, round
// trips within each format's error bound, zeros, non-finite inputs and blocks at unaligned addresses.
// tests/quant/test_quantize_lowbit_types.cpp checks the values equal the numeric core's.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "formats/lowbit_codebook.h"
#include "formats/lowbit_fp8.h"
#include "formats/lowbit_int.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "formats/type_traits.h"

namespace lowbit {
namespace test_lowbit_formats {

std::vector<const TypeTraits*> lowbit_rows() {
  std::vector<const TypeTraits*> rows;
  for (uint32_t id = kLowbitTypeBase; id < 2 * kLowbitTypeBase; ++id) {
    // lb_q4_0x16, lb_q4_kx2 and lb_q8_0x16 are ggml's types (their rounding, non-finite values kept) in
    // other layouts: their own tests are in tests/formats/test_interleaved_layouts.cpp.
    if (id == static_cast<uint32_t>(kQ4_0x16Type) || id == static_cast<uint32_t>(kQ4_Kx2Type) ||
        id == static_cast<uint32_t>(kQ8_0x16Type)) {
      continue;
    }
    if (const TypeTraits* t = find_type_traits(id)) rows.push_back(t);
  }
  return rows;
}

// Largest |error| a format allows, as a fraction of its block's absmax (its row's for the _row types).
double error_bound(const std::string& name) {
  if (name == "lb_w8_row") return 1.01 / 254;  // symmetric int8: S / 2 = absmax / 254
  if (name.starts_with("lb_i")) {
    const int bits = name[4] - '0';
    // Asymmetric: S <= 2 absmax / (2^bits - 1) and the zero point's rounding can clip half a step,
    // so |error| <= S; symmetric: S / 2. 1% slack for the FP16 scale.
    return 1.01 * 2.0 / ((1 << bits) - 1);
  }
  if (name.starts_with("lb_nf4_dq")) return 0.16;  // NF4's widest gap (0.7230 to 1) / 2, plus the 8-bit scale
  if (name.starts_with("lb_nf4")) return 0.139;    // (1 - 0.7230) / 2
  if (name.starts_with("lb_fp4")) return 1.0 / 6;  // E2M1's widest gap (4 to 6, of 6) / 2
  if (name.starts_with("lb_fp8_e4m3")) return 1.0 / 16;  // 3 mantissa bits: half an ulp <= 2^-4 relative
  if (name.starts_with("lb_fp8_e5m2")) return 1.0 / 8;
  ADD_FAILURE() << "no error bound for " << name;
  return 0;
}

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  for (size_t i = 0; i < n; i += 97) x[i] *= 8.0f;  // outliers, as weights have
  return x;
}

std::vector<float> round_trip(const TypeTraits& t, const std::vector<float>& x, size_t misalign = 0) {
  std::vector<uint8_t> bytes(misalign + t.row_bytes(static_cast<int64_t>(x.size())));
  t.from_float(x.data(), bytes.data() + misalign, static_cast<int64_t>(x.size()));
  std::vector<float> y(x.size());
  t.to_float(bytes.data() + misalign, y.data(), static_cast<int64_t>(x.size()));
  return y;
}

TEST(LowbitFormats, TableRows) {
  const std::vector<const TypeTraits*> rows = lowbit_rows();
  EXPECT_EQ(rows.size(), 36u + 5u + 2u + 1u + 6u);
  for (const TypeTraits* t : rows) {
    SCOPED_TRACE(t->name);
    EXPECT_TRUE(std::string(t->name).starts_with("lb_"));
    EXPECT_EQ(find_type_traits(t->name), t);
    EXPECT_TRUE(t->is_quantized);
    EXPECT_NE(t->to_float, nullptr);
    EXPECT_NE(t->from_float, nullptr);
  }
  // Block geometry as the README documents it.
  EXPECT_EQ(find_type_traits("lb_i4_asym_g32")->block_bytes, 19u);
  EXPECT_DOUBLE_EQ(find_type_traits("lb_i4_sym_g32")->bits_per_weight(), 4.5);
  EXPECT_EQ(find_type_traits("lb_i3_asym_g128")->block_bytes, 2u + 1u + 48u);
  EXPECT_EQ(find_type_traits("lb_i8_sym_g64")->block_bytes, 66u);
  EXPECT_DOUBLE_EQ(find_type_traits("lb_nf4_g64")->bits_per_weight(), 4.5);
  EXPECT_DOUBLE_EQ(find_type_traits("lb_fp4_g64_f16")->bits_per_weight(), 4.25);
  EXPECT_EQ(find_type_traits("lb_nf4_dq")->block_size, 1024);
  EXPECT_DOUBLE_EQ(find_type_traits("lb_nf4_dq")->bits_per_weight(), 4.1875);
  EXPECT_DOUBLE_EQ(find_type_traits("LB_FP8_E4M3_G32")->bits_per_weight(), 9.0);
  EXPECT_EQ(static_cast<uint32_t>(find_type_traits("lb_i2_sym_g32")->type), kLowbitTypeBase);
}

TEST(LowbitFormats, RoundTripWithinBound) {
  for (const TypeTraits* t : lowbit_rows()) {
    SCOPED_TRACE(t->name);
    const std::vector<float> x = random_values(static_cast<size_t>(t->block_size) * 6, 7);
    const std::vector<float> y = round_trip(*t, x);
    const double bound = error_bound(t->name);
    double error_sq = 0, value_sq = 0;
    // Elements sharing one scale: a block, or the whole row (x is one row) for the per-row types.
    const size_t span = std::string(t->name).ends_with("_row") ? x.size() : static_cast<size_t>(t->block_size);
    for (size_t first = 0; first < x.size(); first += span) {
      float absmax = 0;
      for (size_t i = first; i < first + span; ++i) absmax = std::max(absmax, std::abs(x[i]));
      for (size_t i = first; i < first + span; ++i) {
        ASSERT_LE(std::abs(y[i] - x[i]), bound * absmax) << "element " << i;
        error_sq += double(y[i] - x[i]) * (y[i] - x[i]);
        value_sq += double(x[i]) * x[i];
      }
    }
    // More bits, less error: 8-bit and FP8 formats well under 5% relative RMS, 2-bit ones under 100%.
    const double relative_rms = std::sqrt(error_sq / value_sq);
    EXPECT_LT(relative_rms, t->bits_per_weight() > 8 ? 0.05 : 1.0);
  }
}

TEST(LowbitFormats, MoreBitsLessError) {
  const std::vector<float> x = random_values(128 * 16, 11);
  double previous = std::numeric_limits<double>::infinity();
  for (int bits : {2, 3, 4, 5, 6, 8}) {
    const TypeTraits& t = *find_type_traits("lb_i" + std::to_string(bits) + "_asym_g128");
    const std::vector<float> y = round_trip(t, x);
    double error_sq = 0;
    for (size_t i = 0; i < x.size(); ++i) error_sq += double(y[i] - x[i]) * (y[i] - x[i]);
    EXPECT_LT(error_sq, previous) << t.name;
    previous = error_sq;
  }
}

TEST(LowbitFormats, ZerosStayZero) {
  for (const TypeTraits* t : lowbit_rows()) {
    const std::vector<float> x(static_cast<size_t>(t->block_size) * 2, 0.0f);
    for (float v : round_trip(*t, x)) ASSERT_EQ(v, 0.0f) << t->name;
  }
}

TEST(LowbitFormats, NonFiniteInputsAreStoredAsZero) {
  for (const TypeTraits* t : lowbit_rows()) {
    SCOPED_TRACE(t->name);
    std::vector<float> x = random_values(static_cast<size_t>(t->block_size), 3);
    std::vector<float> finite = x;
    x[1] = finite[1] = std::numeric_limits<float>::quiet_NaN();
    x[2] = std::numeric_limits<float>::infinity();
    finite[1] = finite[2] = 0.0f;
    const std::vector<float> y = round_trip(*t, x), expected = round_trip(*t, finite);
    for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], expected[i]) << i;
  }
}

TEST(LowbitFormats, BlocksAtUnalignedAddresses) {
  for (const TypeTraits* t : lowbit_rows()) {
    const std::vector<float> x = random_values(static_cast<size_t>(t->block_size) * 3, 5);
    EXPECT_EQ(round_trip(*t, x, 1), round_trip(*t, x)) << t->name;
  }
}

TEST(LowbitFormats, IntBlockLayout) {
  // lb_i4_asym_g32: FP16 S, uint8 Z - qmin, then codes q - qmin two per byte, low nibble first.
  const TypeTraits& t = *find_type_traits("lb_i4_asym_g32");
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i % 16);  // 0..15: S = 1, Z = -8
  std::vector<uint8_t> block(t.block_bytes);
  t.from_float(x.data(), block.data(), 32);
  EXPECT_EQ(block[0], 0x00);  // FP16 1.0 = 0x3c00, little-endian
  EXPECT_EQ(block[1], 0x3c);
  EXPECT_EQ(block[2], 0);     // Z - qmin = -8 - (-8)
  EXPECT_EQ(block[3], 0x10);  // elements 0 and 1: codes 0 and 1
  EXPECT_EQ(block[10], 0xfe); // elements 14 and 15: codes 14 and 15
}

}  // namespace test_lowbit_formats
}  // namespace lowbit
