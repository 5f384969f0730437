// SHA-256 (FIPS 180-4), used to compare tensors and files with published hashes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace lowbit {

// Incremental hasher: update() any number of times, then finish() once.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  std::array<uint8_t, 32> finish();

 private:
  void compress(const uint8_t* block);  // one 64-byte block

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};  // bytes of the block not yet compressed
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

std::array<uint8_t, 32> sha256(const void* data, size_t size);
std::string sha256_hex(const void* data, size_t size);  // lowercase, 64 characters
std::string to_hex(const std::array<uint8_t, 32>& digest);

}  // namespace lowbit
