// lb_q4_0x16, lb_q4_kx2 and lb_q8_0x16 (formats/lowbit_q4_0x16.h, lowbit_q4_kx2.h, lowbit_q8_0x16.h):
// exactly Q4_0's, Q4_K's and Q8_0's values, bytes and quantizers in the interleaved layouts, which the
// kernels' tests (tests/kernels/) multiply against the scalar reference.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"
#include "formats/ggml_k_layout.h"
#include "formats/ggml_q4_0.h"
#include "formats/ggml_q4_k.h"
#include "formats/ggml_q8_0.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "formats/type_traits.h"

namespace lowbit {
namespace test_interleaved_layouts {

constexpr int64_t kElements = 3 * kQ4_0x16Block;

std::vector<float> random_values(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(kElements);
  for (float& v : x) v = normal(rng);
  for (size_t i = 0; i < x.size(); i += 53) x[i] *= 6.0f;
  return x;
}

std::vector<uint8_t> q4_0_bytes(const std::vector<float>& x) {
  std::vector<uint8_t> bytes(type_traits(TensorType::Q4_0).row_bytes(kElements));
  quantize_row_q4_0_ref(x.data(), bytes.data(), kElements);
  return bytes;
}

std::vector<uint8_t> converted(const std::vector<uint8_t>& q4_0) {
  std::vector<uint8_t> bytes(q4_0.size());
  q4_0_to_q4_0x16(q4_0.data(), bytes.data(), kElements);
  return bytes;
}

TEST(LowbitQ4_0x16, TableRowIsQ4_0sSize) {
  const TypeTraits& t = type_traits(kQ4_0x16Type);
  EXPECT_STREQ(t.name, "lb_q4_0x16");
  EXPECT_EQ(find_type_traits("lb_q4_0x16"), &t);
  EXPECT_EQ(t.block_size, 512);
  EXPECT_EQ(t.block_bytes, 288u);
  EXPECT_DOUBLE_EQ(t.bits_per_weight(), type_traits(TensorType::Q4_0).bits_per_weight());
  EXPECT_EQ(t.row_bytes(2048), type_traits(TensorType::Q4_0).row_bytes(2048));
}

// Element 4k + i of Q4_0 block l sits in the low nibble of qs[64k + 4l + i], element 16 + 4k + i in its
// high nibble, and the block's scale is d[l].
TEST(LowbitQ4_0x16, LayoutInterleavesFourBytesOfEachBlockPerVector) {
  std::vector<BlockQ4_0> blocks(16);
  for (int l = 0; l < 16; ++l) {
    blocks[l].d = static_cast<uint16_t>(1000 + l);
    for (int j = 0; j < 16; ++j) blocks[l].qs[j] = static_cast<uint8_t>(16 * l + j);
  }
  BlockQ4_0x16 out;
  q4_0_to_q4_0x16(blocks.data(), &out, kQ4_0x16Block);
  for (int l = 0; l < 16; ++l) {
    EXPECT_EQ(out.d[l], 1000 + l);
    for (int k = 0; k < 4; ++k) {
      for (int i = 0; i < 4; ++i) ASSERT_EQ(out.qs[64 * k + 4 * l + i], 16 * l + 4 * k + i) << l << " " << k << " " << i;
    }
  }
}

TEST(LowbitQ4_0x16, ConversionIsExactBothWays) {
  std::mt19937 rng(3);
  std::vector<uint8_t> q4_0(type_traits(TensorType::Q4_0).row_bytes(kElements));
  for (uint8_t& byte : q4_0) byte = static_cast<uint8_t>(rng());
  const std::vector<uint8_t> interleaved = converted(q4_0);
  EXPECT_NE(interleaved, q4_0);
  std::vector<uint8_t> back(q4_0.size());
  q4_0x16_to_q4_0(interleaved.data(), back.data(), kElements);
  EXPECT_EQ(back, q4_0);
}

TEST(LowbitQ4_0x16, QuantizersAndValuesAreQ4_0s) {
  const std::vector<float> x = random_values(11);
  const std::vector<uint8_t> expected = converted(q4_0_bytes(x));
  const TypeTraits& t = type_traits(kQ4_0x16Type);
  std::vector<uint8_t> bytes(expected.size());
  t.from_float(x.data(), bytes.data(), kElements);
  EXPECT_EQ(bytes, expected);

  std::vector<float> importance(x.size());
  for (size_t i = 0; i < importance.size(); ++i) importance[i] = 1.0f + static_cast<float>(i % 7);
  std::vector<uint8_t> weighted_q4_0(expected.size());
  quantize_row_q4_0_weighted(x.data(), importance.data(), weighted_q4_0.data(), kElements);
  t.from_float_weighted(x.data(), importance.data(), bytes.data(), kElements);
  EXPECT_EQ(bytes, converted(weighted_q4_0));

  std::vector<float> values(x.size()), q4_0_values(x.size());
  t.to_float(expected.data(), values.data(), kElements);
  dequantize_row_q4_0(q4_0_bytes(x).data(), q4_0_values.data(), kElements);
  EXPECT_EQ(values, q4_0_values);
}

TEST(LowbitQ4_Kx2, TableRowIsQ4_KsSize) {
  const TypeTraits& t = type_traits(kQ4_Kx2Type);
  EXPECT_STREQ(t.name, "lb_q4_kx2");
  EXPECT_EQ(find_type_traits("lb_q4_kx2"), &t);
  EXPECT_EQ(t.block_size, 512);
  EXPECT_EQ(t.block_bytes, 288u);
  EXPECT_EQ(t.row_bytes(2048), type_traits(TensorType::Q4_K).row_bytes(2048));
}

// Element i of sub-block s of super-block h lies in qs[interleaved_byte(8h + s, i % 16)], in the low nibble
// for i < 16; its scale and min codes are codes 8h + s and 16 + 8h + s of the block's scales.
TEST(LowbitQ4_Kx2, LayoutStoresSubBlocksAsLbQ4_0x16Blocks) {
  std::mt19937 rng(5);
  std::vector<BlockQ4_K> blocks(2);
  for (BlockQ4_K& block : blocks) {
    auto* bytes = reinterpret_cast<uint8_t*>(&block);
    for (size_t i = 0; i < sizeof block; ++i) bytes[i] = static_cast<uint8_t>(rng());
  }
  BlockQ4_Kx2 out;
  q4_k_to_q4_kx2(blocks.data(), &out, kQ4_Kx2Block);
  for (int h = 0; h < 2; ++h) {
    EXPECT_EQ(out.scales.d[h], blocks[h].d);
    EXPECT_EQ(out.scales.dmin[h], blocks[h].dmin);
    for (int s = 0; s < 8; ++s) {
      const ScaleMinCodes codes = unpack_scale_min_6bit(blocks[h].scales, s);
      EXPECT_EQ(q4_kx2_code(out.scales, 8 * h + s), codes.scale) << h << " " << s;
      EXPECT_EQ(q4_kx2_code(out.scales, 16 + 8 * h + s), codes.min) << h << " " << s;
    }
    for (int e = 0; e < 256; ++e) {
      const int code = (blocks[h].qs[nibble_byte(e)] >> nibble_shift(e)) & 15;
      const int s = e / 32, i = e % 32;
      const uint8_t byte = out.qs[interleaved_byte(8 * h + s, i % 16)];
      ASSERT_EQ(i < 16 ? byte & 15 : byte >> 4, code) << h << " " << e;
    }
  }
}

TEST(LowbitQ4_Kx2, ConversionIsExactBothWays) {
  std::mt19937 rng(9);
  std::vector<uint8_t> q4_k(type_traits(TensorType::Q4_K).row_bytes(kElements));
  for (uint8_t& byte : q4_k) byte = static_cast<uint8_t>(rng());
  std::vector<uint8_t> interleaved(q4_k.size()), back(q4_k.size());
  q4_k_to_q4_kx2(q4_k.data(), interleaved.data(), kElements);
  q4_kx2_to_q4_k(interleaved.data(), back.data(), kElements);
  EXPECT_EQ(back, q4_k);
}

TEST(LowbitQ4_Kx2, QuantizersAndValuesAreQ4_Ks) {
  const std::vector<float> x = random_values(13);
  const size_t bytes_count = type_traits(TensorType::Q4_K).row_bytes(kElements);
  std::vector<uint8_t> q4_k(bytes_count), expected(bytes_count), bytes(bytes_count);
  quantize_row_q4_k(x.data(), q4_k.data(), kElements);
  q4_k_to_q4_kx2(q4_k.data(), expected.data(), kElements);
  const TypeTraits& t = type_traits(kQ4_Kx2Type);
  t.from_float(x.data(), bytes.data(), kElements);
  EXPECT_EQ(bytes, expected);

  std::vector<float> importance(x.size());
  for (size_t i = 0; i < importance.size(); ++i) importance[i] = 1.0f + static_cast<float>(i % 5);
  quantize_row_q4_k_weighted(x.data(), importance.data(), q4_k.data(), kElements);
  q4_k_to_q4_kx2(q4_k.data(), expected.data(), kElements);
  t.from_float_weighted(x.data(), importance.data(), bytes.data(), kElements);
  EXPECT_EQ(bytes, expected);

  std::vector<float> values(x.size()), q4_k_values(x.size());
  t.to_float(bytes.data(), values.data(), kElements);
  dequantize_row_q4_k(q4_k.data(), q4_k_values.data(), kElements);
  EXPECT_EQ(values, q4_k_values);
}

TEST(LowbitQ8_0x16, TableRowAndLayout) {
  const TypeTraits& t = type_traits(kQ8_0x16Type);
  EXPECT_STREQ(t.name, "lb_q8_0x16");
  EXPECT_EQ(t.block_bytes, 544u);
  EXPECT_EQ(t.row_bytes(2048), type_traits(TensorType::Q8_0).row_bytes(2048));
  std::vector<BlockQ8_0> blocks(16);
  for (int l = 0; l < 16; ++l) {
    blocks[l].d = static_cast<uint16_t>(2000 + l);
    for (int j = 0; j < 32; ++j) blocks[l].qs[j] = static_cast<int8_t>(l * 7 - j);
  }
  BlockQ8_0x16 out;
  q8_0_to_q8_0x16(blocks.data(), &out, kQ8_0x16Block);
  for (int l = 0; l < 16; ++l) {
    EXPECT_EQ(out.d[l], 2000 + l);
    for (int j = 0; j < 32; ++j) ASSERT_EQ(out.qs[64 * (j / 4) + 4 * l + j % 4], l * 7 - j) << l << " " << j;
  }
}

TEST(LowbitQ8_0x16, ConversionQuantizersAndValuesAreQ8_0s) {
  const std::vector<float> x = random_values(17);
  const size_t bytes_count = type_traits(TensorType::Q8_0).row_bytes(kElements);
  std::vector<uint8_t> q8_0(bytes_count), expected(bytes_count), bytes(bytes_count), back(bytes_count);
  quantize_row_q8_0_ref(x.data(), q8_0.data(), kElements);
  q8_0_to_q8_0x16(q8_0.data(), expected.data(), kElements);
  q8_0x16_to_q8_0(expected.data(), back.data(), kElements);
  EXPECT_EQ(back, q8_0);
  const TypeTraits& t = type_traits(kQ8_0x16Type);
  t.from_float(x.data(), bytes.data(), kElements);
  EXPECT_EQ(bytes, expected);

  std::vector<float> importance(x.size());
  for (size_t i = 0; i < importance.size(); ++i) importance[i] = 1.0f + static_cast<float>(i % 3);
  quantize_row_q8_0_weighted(x.data(), importance.data(), q8_0.data(), kElements);
  q8_0_to_q8_0x16(q8_0.data(), expected.data(), kElements);
  t.from_float_weighted(x.data(), importance.data(), bytes.data(), kElements);
  EXPECT_EQ(bytes, expected);

  std::vector<float> values(x.size()), q8_0_values(x.size());
  t.to_float(bytes.data(), values.data(), kElements);
  dequantize_row_q8_0(q8_0.data(), q8_0_values.data(), kElements);
  EXPECT_EQ(values, q8_0_values);
}

}  // namespace test_interleaved_layouts
}  // namespace lowbit
