// Block structs read from and written to raw row bytes. A row buffer may place a block at any byte
// offset (lowbit's formats pack blocks without padding), so blocks are copied, never aliased.
#pragma once

#include <cstdint>
#include <cstring>

namespace lowbit {

template <typename Block>
Block load_block(const uint8_t* bytes) {
  Block block;
  std::memcpy(&block, bytes, sizeof block);
  return block;
}

template <typename Block>
void store_block(const Block& block, uint8_t* bytes) {
  std::memcpy(bytes, &block, sizeof block);
}

}  // namespace lowbit
