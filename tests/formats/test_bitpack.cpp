#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/error.h"
#include "formats/bitpack.h"

namespace lowbit {
namespace test_bitpack {

std::vector<uint8_t> random_codes(size_t count, int bits, std::mt19937& rng) {
  std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
  std::vector<uint8_t> codes(count);
  for (auto& c : codes) c = static_cast<uint8_t>(code(rng));
  return codes;
}

void expect_round_trip(const std::vector<uint8_t>& codes, int bits) {
  const std::vector<uint8_t> packed = pack_bits(codes, bits);
  ASSERT_EQ(packed.size(), (codes.size() * static_cast<size_t>(bits) + 7) / 8) << bits << " bits, n " << codes.size();
  std::vector<uint8_t> unpacked(codes.size(), 0xFF);
  unpack_bits(packed, bits, unpacked);
  ASSERT_EQ(unpacked, codes) << bits << " bits, n " << codes.size();
}

TEST(Bitpack, RoundTripsEveryWidthAndLengthUpTo200) {
  std::mt19937 rng(1);
  for (int bits = 1; bits <= 8; ++bits) {
    for (size_t n = 0; n <= 200; ++n) expect_round_trip(random_codes(n, bits, rng), bits);
  }
}

TEST(Bitpack, RoundTripsALargeOddLength) {
  std::mt19937 rng(2);
  for (int bits = 1; bits <= 8; ++bits) expect_round_trip(random_codes(1'000'003, bits, rng), bits);
}

TEST(Bitpack, RoundTripsAllOnesCodes) {
  for (int bits = 1; bits <= 8; ++bits) expect_round_trip(std::vector<uint8_t>(37, static_cast<uint8_t>((1 << bits) - 1)), bits);
}

TEST(Bitpack, StreamIsLsbFirst) {
  // 4 bits: code 0 in the low nibble of byte 0, code 1 in its high nibble.
  EXPECT_EQ(pack_bits(std::vector<uint8_t>{0x1, 0x2, 0x3}, 4), (std::vector<uint8_t>{0x21, 0x03}));
  // 3 bits: 101 | 011 << 3 | 111 << 6 = 0b1'1101'1101; the third code straddles bytes 0 and 1.
  EXPECT_EQ(pack_bits(std::vector<uint8_t>{5, 3, 7}, 3), (std::vector<uint8_t>{0xDD, 0x01}));
  // 1 bit: code i is bit i.
  EXPECT_EQ(pack_bits(std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 1, 1}, 1), (std::vector<uint8_t>{0x81, 0x01}));
  // 6 bits: 0x3F then 0x01 -> 0b0000'0111'1111'1111 over two bytes.
  EXPECT_EQ(pack_bits(std::vector<uint8_t>{0x3F, 0x01}, 6), (std::vector<uint8_t>{0x7F, 0x00}));
}

TEST(Bitpack, DropsBitsAboveTheWidth) {
  EXPECT_EQ(pack_bits(std::vector<uint8_t>{0xF5, 0xFA}, 4), (std::vector<uint8_t>{0xA5}));
}

TEST(Bitpack, RejectsBadWidthsAndShortInput) {
  std::vector<uint8_t> codes(10);
  EXPECT_THROW(pack_bits(codes, 0), Error);
  EXPECT_THROW(pack_bits(codes, 9), Error);
  EXPECT_THROW(unpack_bits(std::vector<uint8_t>(4), 4, codes), Error);  // 10 codes need 5 bytes
  EXPECT_NO_THROW(unpack_bits(std::vector<uint8_t>(5), 4, codes));
}

}  // namespace test_bitpack
}  // namespace lowbit
