// Output files appear whole or not at all: data goes to a temporary file in the destination folder,
// which is renamed over the destination only after everything was written and flushed. Until then an
// existing destination is untouched; an interrupted run (error, Ctrl-C, kill) leaves no partial file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lowbit {

class AtomicFile {
 public:
  // Creates "<path>.tmp-XXXXXX" beside `path`. Throws lowbit::Error naming `path` if it cannot.
  explicit AtomicFile(const std::string& path);
  // Removes the temporary file unless commit() succeeded.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);  // throws lowbit::Error (e.g. disk full) naming `path`
  void write_zeros(size_t size);
  uint64_t size() const { return written_; }
  // Flushes, closes and renames the temporary file to `path`.
  void commit();

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

}  // namespace lowbit
