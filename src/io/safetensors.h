// safetensors files: a little-endian uint64 header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value", ...}}
// then the raw tensor bytes; data_offsets are relative to the end of the header (byte 8 + N).
// lowbit reads F32, F16 and BF16 tensors; other dtypes are rejected with an error naming the tensor.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace lowbit {

struct SafetensorsFile {
  std::string path;
  std::vector<TensorView> tensors;              // in data order; names as stored; data points into the bytes
  std::map<std::string, std::string> metadata;  // __metadata__
  std::shared_ptr<MappedFile> map;              // null when parsed from caller-owned bytes
};

// Parses and validates a whole file held in `bytes` (kept alive by the caller): header length and JSON,
// dtypes, shapes, offsets within the data section, byte counts matching the shapes, no two tensors
// sharing bytes. `name` is used in error messages.
SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& name);

// Maps the file at `path` and parses it.
SafetensorsFile open_safetensors(const std::string& path);

}  // namespace lowbit
