// Packing of 1..8-bit codes into a byte stream and back.
//
// Bit order: one LSB-first little-endian bit stream. Code i occupies stream bits [i*bits, (i+1)*bits);
// stream bit k is bit (k % 8) of byte k / 8, and a code's least significant bit comes first. So for
// 4-bit codes byte j holds code 2j in its low nibble and code 2j+1 in its high nibble, and a 3-bit code
// may straddle two bytes. Unused high bits of the last byte are zero. Packed size: ceil(n*bits/8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace lowbit {

constexpr size_t packed_size(size_t count, int bits) { return (count * static_cast<size_t>(bits) + 7) / 8; }

// codes[i] must be < 2^bits (higher bits are dropped); bits in 1..8, else lowbit::Error.
std::vector<uint8_t> pack_bits(std::span<const uint8_t> codes, int bits);

// Writes codes.size() codes read from packed, which must hold at least packed_size(codes.size(), bits)
// bytes (else lowbit::Error).
void unpack_bits(std::span<const uint8_t> packed, int bits, std::span<uint8_t> codes);

}  // namespace lowbit
