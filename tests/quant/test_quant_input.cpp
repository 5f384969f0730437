#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "quant/quant_input.h"

namespace lowbit {
namespace test_quant_input {

TEST(QuantInput, GroupSizes) {
  EXPECT_EQ(resolve_group_size({Grouping::Kind::Tensor, 0}, "w", 3, 64), 192);
  EXPECT_EQ(resolve_group_size({Grouping::Kind::Channel, 0}, "w", 3, 64), 64);
  EXPECT_EQ(resolve_group_size({Grouping::Kind::Group, 32}, "w", 3, 64), 32);
  EXPECT_EQ(resolve_group_size({Grouping::Kind::Group, 64}, "w", 3, 64), 64);
  EXPECT_THROW(resolve_group_size({Grouping::Kind::Group, 128}, "w", 3, 64), Error);
  EXPECT_THROW(resolve_group_size({Grouping::Kind::Group, -32}, "w", 3, 64), Error);
}

TEST(QuantInput, ScalesRoundToFp16WithoutVanishing) {
  EXPECT_EQ(round_scale_to_storage(0.1f, ScalePrecision::F32), 0.1f);
  EXPECT_EQ(round_scale_to_storage(0.1f, ScalePrecision::F16), fp16_to_fp32(fp32_to_fp16(0.1f)));
  EXPECT_EQ(round_scale_to_storage(0.0f, ScalePrecision::F16), 0.0f);
  const float smallest_subnormal = std::ldexp(1.0f, -24);
  EXPECT_EQ(round_scale_to_storage(1e-10f, ScalePrecision::F16), smallest_subnormal);
  EXPECT_TRUE(std::isinf(round_scale_to_storage(1e6f, ScalePrecision::F16)));
  EXPECT_EQ(scale_bits(ScalePrecision::F16), 16);
  EXPECT_EQ(scale_bits(ScalePrecision::F32), 32);
}

TEST(QuantInput, RejectsShapeMismatchAndNonFiniteValues) {
  const std::vector<float> values(6, 1.0f);
  EXPECT_NO_THROW(check_quant_input("w", values, 2, 3));
  EXPECT_THROW(check_quant_input("w", values, 3, 3), Error);
  EXPECT_THROW(check_quant_input("w", values, -2, -3), Error);
  std::vector<float> bad = values;
  bad[4] = std::numeric_limits<float>::quiet_NaN();
  try {
    check_quant_input("blk.0.attn_k.weight", bad, 2, 3);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tensor blk.0.attn_k.weight: element 4 (row 1, column 1) is NaN; cannot quantize non-finite values");
  }
}

}  // namespace test_quant_input
}  // namespace lowbit
