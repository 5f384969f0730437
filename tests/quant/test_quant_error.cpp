#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "quant/quant_error.h"

namespace lowbit {
namespace test_quant_error {

TEST(QuantError, SplitsClippedFromRoundedElementsOnAHandExample) {
  // Two groups of two. Group 0 represents [0, 5]: 10 lies outside (clipped to 4), 2 was rounded to 2.5.
  // Group 1 represents [-1, 1]: both inside.
  const std::vector<float> original{10.0f, 2.0f, 0.5f, -1.0f};
  const std::vector<float> reconstructed{4.0f, 2.5f, 0.5f, -0.75f};
  const std::vector<GroupRange> ranges{{0.0f, 5.0f}, {-1.0f, 1.0f}};
  const QuantError e = measure_quant_error(original, reconstructed, 2, ranges, 4.25);
  EXPECT_DOUBLE_EQ(e.bits_per_weight, 4.25);
  EXPECT_DOUBLE_EQ(e.clip_mse, 36.0 / 4);
  EXPECT_DOUBLE_EQ(e.rounding_mse, (0.25 + 0.0625) / 4);
  EXPECT_DOUBLE_EQ(e.mse, (36.0 + 0.25 + 0.0625) / 4);
  EXPECT_DOUBLE_EQ(e.max_abs_error, 6.0);
  const double signal = (100.0 + 4.0 + 0.25 + 1.0) / 4;
  EXPECT_DOUBLE_EQ(e.sqnr_db, 10 * std::log10(signal / e.mse));
}

TEST(QuantError, ExactReconstructionHasInfiniteSqnr) {
  const std::vector<float> values{1.0f, -2.0f, 0.0f};
  const QuantError e = measure_quant_error(values, values, 3, std::vector<GroupRange>{{-2.0f, 1.0f}}, 8);
  EXPECT_EQ(e.mse, 0.0);
  EXPECT_EQ(e.max_abs_error, 0.0);
  EXPECT_TRUE(std::isinf(e.sqnr_db) && e.sqnr_db > 0);
}

}  // namespace test_quant_error
}  // namespace lowbit
