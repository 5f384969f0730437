#include <gtest/gtest.h>

#include "core/half.h"

namespace lowbit {
TEST(Half, Placeholder) { EXPECT_EQ(fp16_to_fp32(fp32_to_fp16(1.5f)), 1.5f); }
}  // namespace lowbit
