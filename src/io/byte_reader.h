// A bounds-checked little-endian cursor over untrusted bytes (a mapped model file). Every read checks
// the remaining length first and throws lowbit::Error naming the file and the offset, so parsers built
// on it cannot read past the end whatever the file claims.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace lowbit {

static_assert(std::endian::native == std::endian::little, "model files are little-endian; lowbit assumes a little-endian host");

class ByteReader {
 public:
  ByteReader(std::span<const uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  size_t position() const { return position_; }
  size_t remaining() const { return bytes_.size() - position_; }

  // `what` names the field for the error message ("tensor count", "metadata key").
  template <typename T>
  T read(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }

  std::string_view read_bytes(uint64_t count, const char* what) {
    const auto* start = reinterpret_cast<const char*>(take(count, what));
    return {start, static_cast<size_t>(count)};
  }

 private:
  const uint8_t* take(uint64_t count, const char* what) {
    if (count > remaining()) {
      throw_error("{}: file ends at byte {} while reading {} ({} bytes needed, {} left)", name_, bytes_.size(), what,
                  count, remaining());
    }
    const uint8_t* start = bytes_.data() + position_;
    position_ += static_cast<size_t>(count);
    return start;
  }

  std::span<const uint8_t> bytes_;
  const std::string& name_;
  size_t position_ = 0;
};

}  // namespace lowbit
