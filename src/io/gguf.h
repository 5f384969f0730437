// GGUF v2/v3 reader. The file is memory-mapped; tensor data is used in place. Every count, length,
// offset and size is checked against the file before it is used, so a malformed file gives a
// lowbit::Error naming the file and the problem, never a crash.
// Specification: ggml's docs/gguf.md (little-endian; v1 is not supported).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace lowbit {

enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

struct GgufValue;
struct GgufArray {
  GgufValueType element_type = GgufValueType::UINT8;
  std::vector<GgufValue> items;  // arrays may nest
};

// A metadata value. Integers are widened (unsigned to uint64_t, signed to int64_t), floats to double;
// `type` keeps the type the file stored so a writer can reproduce it.
struct GgufValue {
  GgufValueType type = GgufValueType::UINT8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> value;
};

struct GgufTensorInfo {
  TensorView view;               // shape outermost-first; data points into the map
  std::vector<int64_t> ne;       // dimensions as the file lists them (innermost-first)
  uint64_t offset = 0;           // relative to the start of the tensor data section
};

class GgufFile {
 public:
  // Maps and parses the file at path.
  static GgufFile open(const std::string& path);
  // Parses bytes owned by the caller (kept alive by the caller); `name` is used in error messages.
  static GgufFile parse(std::span<const uint8_t> bytes, const std::string& name);

  const std::string& path() const { return path_; }
  // The map the tensor data points into (null when parsed from caller-owned bytes); holding it keeps
  // the tensor views valid after this GgufFile is gone.
  const std::shared_ptr<MappedFile>& mapped_file() const { return map_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute offset of the tensor data section

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;  // nullptr when absent

  // Typed getters: std::nullopt when the key is absent; lowbit::Error (naming file and key) when the
  // key exists with an incompatible type or a value out of range for the requested type.
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<std::vector<std::string>> get_string_array(std::string_view key) const;
  std::optional<std::vector<float>> get_float_array(std::string_view key) const;
  std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;  // nullptr when absent

 private:
  std::string path_;
  std::shared_ptr<MappedFile> map_;  // null when parsed from caller-owned bytes
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace lowbit
