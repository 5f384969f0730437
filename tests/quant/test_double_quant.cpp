#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "quant/double_quant.h"

namespace lowbit {
namespace test_double_quant {

TEST(DoubleQuant, CentresOnTheMeanAndQuantizesBlocksOf256) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(0.01f, 0.2f);
  std::vector<float> scales(600);  // blocks of 256, 256, 88
  for (auto& s : scales) s = dist(rng);
  const DoubleQuantizedScales q = double_quantize(scales);
  double sum = 0;
  for (float s : scales) sum += s;
  EXPECT_FLOAT_EQ(q.mean, static_cast<float>(sum / 600));
  ASSERT_EQ(q.codes.size(), 600u);
  ASSERT_EQ(q.second_level_scales.size(), 3u);
  EXPECT_EQ(q.stored_bits(), 600 * 8 + 3 * 32 + 32);
  const std::vector<float> restored = dequantize_scales(q);
  for (size_t i = 0; i < scales.size(); ++i) {
    const size_t block = i / 256;
    float block_absmax = 0;
    for (size_t j = block * 256; j < std::min<size_t>(600, (block + 1) * 256); ++j) {
      block_absmax = std::max(block_absmax, std::abs(scales[j] - q.mean));
    }
    EXPECT_FLOAT_EQ(q.second_level_scales[block], block_absmax / 127);
    EXPECT_GE(q.codes[i], -127);
    EXPECT_LE(std::abs(restored[i] - scales[i]), 0.5f * q.second_level_scales[block] * (1 + 1e-5f));
  }
}

TEST(DoubleQuant, EqualScalesRestoreExactly) {
  const std::vector<float> scales(300, 0.125f);
  const DoubleQuantizedScales q = double_quantize(scales);
  for (float s : q.second_level_scales) EXPECT_EQ(s, 0.0f);
  for (float s : dequantize_scales(q)) EXPECT_EQ(s, 0.125f);
  EXPECT_TRUE(dequantize_scales(double_quantize({})).empty());
}

}  // namespace test_double_quant
}  // namespace lowbit
