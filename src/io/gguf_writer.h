// GGUF v3 writer. The header (metadata and tensor infos) is built in memory; tensor data is streamed
// one tensor at a time from a callback, so a model is never held whole in memory. Output is atomic
// (io/atomic_file.h). Layout as ggml writes it: 32-byte alignment by default, each tensor's data
// zero-padded to the alignment.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/atomic_file.h"
#include "io/gguf.h"

namespace lowbit {

struct GgufTensorSpec {
  std::string name;
  TensorType type = TensorType::F32;
  std::vector<int64_t> shape;  // outermost-first, as everywhere in lowbit
  uint64_t bytes = 0;          // size of the data the callback will write
};

class GgufWriter {
 public:
  // Adds a key, or replaces the value of an existing key in place (file order is kept).
  void set_metadata(const std::string& key, GgufValue value);
  void remove_metadata(const std::string& key);
  void add_tensor(GgufTensorSpec spec);

  // The bytes before the data section: header, metadata, tensor infos, padding. general.alignment, if
  // set, must be a power of two and is used as the alignment.
  std::vector<uint8_t> serialize_header() const;

  // Writes the whole file. write_tensor(i, out) must append exactly tensors()[i].bytes bytes to out.
  void write(const std::string& path, const std::function<void(size_t index, AtomicFile& out)>& write_tensor) const;

  const std::vector<GgufTensorSpec>& tensors() const { return tensors_; }
  uint64_t alignment() const;

 private:
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<GgufTensorSpec> tensors_;
};

// Convenience constructors for metadata values.
GgufValue gguf_string(std::string value);
GgufValue gguf_uint32(uint32_t value);
GgufValue gguf_float32(float value);
GgufValue gguf_bool(bool value);

}  // namespace lowbit
