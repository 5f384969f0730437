#include "formats/bitpack.h"

#include "core/error.h"

namespace lowbit {
namespace {

void check_bits(int bits) {
  if (bits < 1 || bits > 8) throw_error("bit packing: code width {} bits, expected 1..8", bits);
}

}  // namespace

// Both directions move bits through an accumulator holding at most one code plus the < 8 bits not yet
// written (or read) as a whole byte.
std::vector<uint8_t> pack_bits(std::span<const uint8_t> codes, int bits) {
  check_bits(bits);
  std::vector<uint8_t> packed(packed_size(codes.size(), bits));
  const uint32_t mask = (1u << bits) - 1;
  uint32_t accumulator = 0;
  int pending_bits = 0;
  size_t out = 0;
  for (uint8_t code : codes) {
    accumulator |= static_cast<uint32_t>(code & mask) << pending_bits;
    pending_bits += bits;
    while (pending_bits >= 8) {
      packed[out++] = static_cast<uint8_t>(accumulator);
      accumulator >>= 8;
      pending_bits -= 8;
    }
  }
  if (pending_bits > 0) packed[out] = static_cast<uint8_t>(accumulator);
  return packed;
}

void unpack_bits(std::span<const uint8_t> packed, int bits, std::span<uint8_t> codes) {
  check_bits(bits);
  if (packed.size() < packed_size(codes.size(), bits)) {
    throw_error("bit packing: {} bytes hold fewer than {} codes of {} bits", packed.size(), codes.size(), bits);
  }
  const uint32_t mask = (1u << bits) - 1;
  uint32_t accumulator = 0;
  int available_bits = 0;
  size_t in = 0;
  for (uint8_t& code : codes) {
    if (available_bits < bits) {
      accumulator |= static_cast<uint32_t>(packed[in++]) << available_bits;
      available_bits += 8;
    }
    code = static_cast<uint8_t>(accumulator & mask);
    accumulator >>= bits;
    available_bits -= bits;
  }
}

}  // namespace lowbit
