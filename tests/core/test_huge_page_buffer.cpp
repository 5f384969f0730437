#include <gtest/gtest.h>

#include <cstdint>

#include "core/huge_page_buffer.h"

namespace lowbit {
namespace test_huge_page_buffer {

TEST(HugePageBuffer, IsZeroedWritableAndAlignedToAHugePage) {
  constexpr size_t kBytes = (size_t{5} << 20) + 123;  // not a whole number of huge pages
  HugePageBuffer buffer(kBytes);
  ASSERT_NE(buffer.data(), nullptr);
  EXPECT_EQ(buffer.size(), kBytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % (size_t{2} << 20), 0u);
  uint64_t sum = 0;
  for (size_t i = 0; i < kBytes; i += 4096) sum += buffer.data()[i];
  EXPECT_EQ(sum, 0u);
  buffer.data()[0] = 1;
  buffer.data()[kBytes - 1] = 2;  // the last byte asked for is usable
  EXPECT_EQ(buffer.data()[0] + buffer.data()[kBytes - 1], 3);
}

TEST(HugePageBuffer, EmptyHasNoMemory) {
  const HugePageBuffer buffer(0);
  EXPECT_EQ(buffer.data(), nullptr);
  EXPECT_EQ(buffer.size(), 0u);
}

}  // namespace test_huge_page_buffer
}  // namespace lowbit
