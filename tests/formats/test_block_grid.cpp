#include "formats/block_grid.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace lowbit {
namespace test_block_grid {

TEST(BlockGrid, CoversGgmlIntegerTypesAndEveryLowbitIntFormat) {
  for (TensorType type : {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0,
                          TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K}) {
    EXPECT_NE(find_block_grid(type), nullptr) << type_traits(type).name;
  }
  int lowbit_int_types = 0;
  for (const TypeTraits& traits : all_type_traits()) {
    if (std::string_view(traits.name).starts_with("lb_i")) {
      ++lowbit_int_types;
      EXPECT_NE(find_block_grid(traits.type), nullptr) << traits.name;
    }
  }
  EXPECT_EQ(lowbit_int_types, 36 + 6);  // groups, and the per-row formats
  EXPECT_EQ(find_block_grid(TensorType::F16), nullptr);
  EXPECT_EQ(find_block_grid(find_type_traits("lb_nf4_g64")->type), nullptr);
}

TEST(BlockGrid, LowbitIntFormatOfType) {
  const std::optional<LowbitIntFormat> format = lowbit_int_format(find_type_traits("lb_i3_asym_g64")->type);
  ASSERT_TRUE(format.has_value());
  EXPECT_EQ(format->bits, 3);
  EXPECT_FALSE(format->symmetric);
  EXPECT_EQ(format->group, 64);
  EXPECT_FALSE(lowbit_int_format(TensorType::Q4_0).has_value());
}

// Codes written into a block whose parameters the format's quantizer chose decode, through the
// type's own to_float, to exactly scale * q + offset of the grid read from the block.
TEST(BlockGrid, WrittenCodesDecodeToTheGrid) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const BlockGrid& grid : all_block_grids()) {
    const TypeTraits& traits = type_traits(grid.type);
    const auto n = static_cast<size_t>(traits.block_size);
    std::uniform_int_distribution<int> code(grid.q_min, grid.q_max);
    for (int trial = 0; trial < 4; ++trial) {
      std::vector<float> x(n), importance(n), scale(n), offset(n), decoded(n);
      const float shift = trial % 2 == 0 ? 0.0f : 1.5f;  // asymmetric blocks exercise the offsets
      for (size_t i = 0; i < n; ++i) {
        x[i] = normal(rng) + shift;
        importance[i] = 0.1f + std::fabs(normal(rng));
      }
      std::vector<uint8_t> block(traits.block_bytes);
      choose_block_params(traits, x.data(), trial < 2 ? nullptr : importance.data(), block.data());
      grid.read_grid(block.data(), scale.data(), offset.data());
      std::vector<int8_t> q(n);
      for (int8_t& v : q) v = static_cast<int8_t>(code(rng));
      // The extremes of the range on the first elements.
      q[0] = static_cast<int8_t>(grid.q_min);
      q[1] = static_cast<int8_t>(grid.q_max);
      grid.write_codes(q.data(), block.data());
      traits.to_float(block.data(), decoded.data(), traits.block_size);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(decoded[i], scale[i] * static_cast<float>(q[i]) + offset[i]) << traits.name << " element " << i;
      }
      bool any_nonzero_scale = false;
      for (float s : scale) any_nonzero_scale |= s != 0.0f;
      EXPECT_TRUE(any_nonzero_scale) << traits.name;
    }
  }
}

}  // namespace test_block_grid
}  // namespace lowbit
