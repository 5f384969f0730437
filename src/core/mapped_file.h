// A read-only memory map of a whole file. Model weights are used in place from the map, so loading a
// model costs page-table entries, not a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace lowbit {

class MappedFile {
 public:
  // Throws lowbit::Error naming the path when the file cannot be opened or mapped.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  void release();

  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lowbit
