// Builds small GGUF files byte by byte for the reader's tests, so each test states exactly which field
// it breaks.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace lowbit::testing {

struct GgufBytes {
  std::vector<uint8_t> bytes;

  template <typename T>
  GgufBytes& put(T value) {
    uint8_t raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    bytes.insert(bytes.end(), raw, raw + sizeof(T));
    return *this;
  }
  GgufBytes& string(const std::string& text) {
    put<uint64_t>(text.size());
    bytes.insert(bytes.end(), text.begin(), text.end());
    return *this;
  }
  GgufBytes& header(uint32_t version, uint64_t tensors, uint64_t kvs) {
    bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
    return put(version).put(tensors).put(kvs);
  }
  GgufBytes& kv_u32(const std::string& key, uint32_t value) { return string(key).put<uint32_t>(4).put(value); }
  GgufBytes& kv_string(const std::string& key, const std::string& value) { return string(key).put<uint32_t>(8).string(value); }
  // ne innermost-first, as the file stores it.
  GgufBytes& tensor_info(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset) {
    string(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) put(d);
    return put(type).put(offset);
  }
  GgufBytes& pad_to(size_t alignment) {
    while (bytes.size() % alignment != 0) bytes.push_back(0);
    return *this;
  }
  GgufBytes& zeros(size_t count) {
    bytes.insert(bytes.end(), count, 0);
    return *this;
  }
};

// A valid v3 file: two metadata keys, an F32 tensor "a" [2 rows, 8 cols] at offset 0 and an F16 tensor
// "b" [4] at offset 64, alignment 32.
inline std::vector<uint8_t> small_valid_gguf() {
  GgufBytes file;
  file.header(3, 2, 2).kv_string("general.architecture", "llama").kv_u32("general.alignment", 32);
  file.tensor_info("a", {8, 2}, 0, 0).tensor_info("b", {4}, 1, 64);
  file.pad_to(32).zeros(64 + 8);
  return file.bytes;
}

}  // namespace lowbit::testing
