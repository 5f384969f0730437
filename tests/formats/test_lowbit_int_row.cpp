// The per-row integer formats lb_i<bits>_<sym|asym>_row (formats/lowbit_int.h): one scale and zero
// point per row, chosen from the whole row, repeated in every 64-element block.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "formats/block_grid.h"
#include "formats/lowbit_block_common.h"
#include "formats/lowbit_int.h"
#include "formats/type_traits.h"

namespace lowbit {
namespace test_lowbit_int_row {

constexpr int64_t kCols = 256;  // four blocks

const char* const kRowTypes[] = {"lb_i2_sym_row", "lb_i2_asym_row", "lb_i3_sym_row",
                                 "lb_i3_asym_row", "lb_i4_sym_row", "lb_i4_asym_row"};

// A row whose blocks have very different ranges, so that per-block parameters would differ.
std::vector<float> uneven_row(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(kCols);  // [cols]
  for (int64_t i = 0; i < kCols; ++i) x[i] = normal(rng) * (0.1f + static_cast<float>(i / 64)) + 0.3f;
  return x;
}

std::vector<float> decode(const TypeTraits& t, const std::vector<uint8_t>& bytes) {
  std::vector<float> y(kCols);
  t.to_float(bytes.data(), y.data(), kCols);
  return y;
}

double weighted_error(const std::vector<float>& x, const std::vector<float>& y, const std::vector<float>& w) {
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) sum += w[i] * double(x[i] - y[i]) * (x[i] - y[i]);
  return sum;
}

// Every block of the row carries the same header (scale, zero point).
void expect_shared_header(const TypeTraits& t, const std::vector<uint8_t>& bytes) {
  const size_t header = std::string(t.name).find("_asym_") != std::string::npos ? 3 : 2;
  for (size_t block = 1; block < static_cast<size_t>(kCols / t.block_size); ++block) {
    EXPECT_EQ(std::memcmp(bytes.data(), bytes.data() + block * t.block_bytes, header), 0) << "block " << block;
  }
}

TEST(LowbitIntRow, TableRowsAndIds) {
  for (uint32_t offset = 112; offset < 118; ++offset) {
    const TypeTraits* t = find_type_traits(static_cast<uint32_t>(lowbit_type(offset)));
    ASSERT_NE(t, nullptr) << offset;
    EXPECT_STREQ(t->name, kRowTypes[offset - 112]);
    EXPECT_EQ(t->block_size, 64);
  }
  EXPECT_DOUBLE_EQ(find_type_traits("lb_i3_asym_row")->bits_per_weight(), 3.375);
  EXPECT_DOUBLE_EQ(find_type_traits("lb_i4_sym_row")->bits_per_weight(), 4.25);
}

// Min-max over the whole row: the values are exactly those of one group spanning the row.
TEST(LowbitIntRow, MinMaxOverTheWholeRow) {
  const std::vector<float> x = uneven_row(1);
  for (const char* name : kRowTypes) {
    SCOPED_TRACE(name);
    const TypeTraits& t = *find_type_traits(name);
    const LowbitIntFormat row_group{name[4] - '0', std::string(name).find("_sym_") != std::string::npos, kCols};
    std::vector<uint8_t> bytes(t.row_bytes(kCols)), group_bytes(lowbit_int_block_bytes(row_group));
    t.from_float(x.data(), bytes.data(), kCols);
    expect_shared_header(t, bytes);
    quantize_row_lowbit_int(row_group, x.data(), group_bytes.data(), kCols);
    std::vector<float> expected(kCols);
    dequantize_row_lowbit_int(row_group, group_bytes.data(), expected.data(), kCols);
    EXPECT_EQ(decode(t, bytes), expected);
  }
}

// The weighted quantizer keeps one set of parameters per row and never does worse than min-max on
// the weighted error; with importance concentrated on the small first block it does much better.
TEST(LowbitIntRow, WeightedSearchOverTheWholeRow) {
  const std::vector<float> x = uneven_row(2);
  std::vector<float> importance(kCols, 0.01f);
  for (int64_t i = 0; i < 64; ++i) importance[i] = 1.0f;
  for (const char* name : kRowTypes) {
    SCOPED_TRACE(name);
    const TypeTraits& t = *find_type_traits(name);
    ASSERT_NE(t.from_float_weighted, nullptr);
    std::vector<uint8_t> plain(t.row_bytes(kCols)), weighted(t.row_bytes(kCols));
    t.from_float(x.data(), plain.data(), kCols);
    t.from_float_weighted(x.data(), importance.data(), weighted.data(), kCols);
    expect_shared_header(t, weighted);
    EXPECT_LT(weighted_error(x, decode(t, weighted), importance), weighted_error(x, decode(t, plain), importance));
  }
}

TEST(LowbitIntRow, BlockGridHasRowParameters) {
  for (const char* name : kRowTypes) {
    const BlockGrid* grid = find_block_grid(find_type_traits(name)->type);
    ASSERT_NE(grid, nullptr) << name;
    EXPECT_TRUE(grid->params_per_row) << name;
  }
  EXPECT_FALSE(find_block_grid(find_type_traits("lb_i3_asym_g64")->type)->params_per_row);
}

// choose_row_params, then codes written block by block through the grid, decode exactly to the grid.
TEST(LowbitIntRow, GridRoundTripIsExact) {
  const std::vector<float> x = uneven_row(3);
  std::mt19937 rng(4);
  for (const char* name : kRowTypes) {
    SCOPED_TRACE(name);
    const TypeTraits& t = *find_type_traits(name);
    const BlockGrid& grid = *find_block_grid(t.type);
    std::vector<uint8_t> bytes(t.row_bytes(kCols));
    choose_row_params(t, x.data(), nullptr, kCols, bytes.data());
    std::uniform_int_distribution<int> code(grid.q_min, grid.q_max);
    std::vector<float> scale(kCols), offset(kCols);
    std::vector<int8_t> q(kCols);
    for (int8_t& v : q) v = static_cast<int8_t>(code(rng));
    for (int64_t block = 0; block < kCols / t.block_size; ++block) {
      uint8_t* at = bytes.data() + block * t.block_bytes;
      grid.read_grid(at, scale.data() + block * t.block_size, offset.data() + block * t.block_size);
      grid.write_codes(q.data() + block * t.block_size, at);
    }
    const std::vector<float> y = decode(t, bytes);
    for (int64_t i = 0; i < kCols; ++i) {
      ASSERT_EQ(y[i], scale[i] * static_cast<float>(q[i]) + offset[i]) << i;
      ASSERT_EQ(scale[i], scale[0]) << i;
      ASSERT_EQ(offset[i], offset[0]) << i;
    }
  }
}

}  // namespace test_lowbit_int_row
}  // namespace lowbit
