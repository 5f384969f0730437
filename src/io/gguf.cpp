#include "io/gguf.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "formats/type_traits.h"
#include "io/byte_reader.h"

namespace lowbit {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxKeyBytes = 65535;     // spec: keys are at most 2^16-1 bytes
constexpr uint64_t kMaxTensorNameBytes = 64;  // spec: tensor names are at most 64 bytes
constexpr uint32_t kMaxDims = 4;              // spec: "currently at most 4"
// Nested arrays recurse; the spec sets no limit, so cap it to keep a hostile file off the stack.
constexpr int kMaxArrayDepth = 8;
// Smallest encodings, used to reject counts the rest of the file cannot possibly hold before any
// allocation: a key-value pair is a key length, a type and at least one value byte; a tensor info is a
// name length, n_dims, a type and an offset.
constexpr uint64_t kMinKeyValueBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;

const char* value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::UINT8: return "uint8";
    case GgufValueType::INT8: return "int8";
    case GgufValueType::UINT16: return "uint16";
    case GgufValueType::INT16: return "int16";
    case GgufValueType::UINT32: return "uint32";
    case GgufValueType::INT32: return "int32";
    case GgufValueType::FLOAT32: return "float32";
    case GgufValueType::BOOL: return "bool";
    case GgufValueType::STRING: return "string";
    case GgufValueType::ARRAY: return "array";
    case GgufValueType::UINT64: return "uint64";
    case GgufValueType::INT64: return "int64";
    case GgufValueType::FLOAT64: return "float64";
  }
  return "unknown";
}

// Bytes one value of `type` takes at least in the file (arrays: element type + count).
uint64_t min_encoded_bytes(GgufValueType type) {
  switch (type) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64: case GgufValueType::INT64: case GgufValueType::FLOAT64: return 8;
    case GgufValueType::STRING: return 8;
    case GgufValueType::ARRAY: return 4 + 8;
  }
  return 1;
}

bool is_unsigned(GgufValueType t) {
  return t == GgufValueType::UINT8 || t == GgufValueType::UINT16 || t == GgufValueType::UINT32 ||
         t == GgufValueType::UINT64;
}
bool is_signed(GgufValueType t) {
  return t == GgufValueType::INT8 || t == GgufValueType::INT16 || t == GgufValueType::INT32 ||
         t == GgufValueType::INT64;
}
bool is_float(GgufValueType t) { return t == GgufValueType::FLOAT32 || t == GgufValueType::FLOAT64; }

class GgufParser {
 public:
  GgufParser(std::span<const uint8_t> bytes, const std::string& name) : name_(name), reader_(bytes, name) {}

  GgufValueType read_value_type(const char* what) {
    const uint32_t id = reader_.read<uint32_t>(what);
    if (id > static_cast<uint32_t>(GgufValueType::FLOAT64)) throw_error("{}: unknown metadata value type {} at byte {}", name_, id, reader_.position() - 4);
    return static_cast<GgufValueType>(id);
  }

  std::string read_string(uint64_t max_bytes, const char* what) {
    const uint64_t length = reader_.read<uint64_t>(what);
    if (length > max_bytes) throw_error("{}: {} of {} bytes at byte {} exceeds the limit of {}", name_, what, length, reader_.position() - 8, max_bytes);
    return std::string(reader_.read_bytes(length, what));
  }

  GgufValue read_value(GgufValueType type, int depth) {
    GgufValue value;
    value.type = type;
    switch (type) {
      case GgufValueType::UINT8: value.value = uint64_t{reader_.read<uint8_t>("uint8 value")}; break;
      case GgufValueType::INT8: value.value = int64_t{reader_.read<int8_t>("int8 value")}; break;
      case GgufValueType::UINT16: value.value = uint64_t{reader_.read<uint16_t>("uint16 value")}; break;
      case GgufValueType::INT16: value.value = int64_t{reader_.read<int16_t>("int16 value")}; break;
      case GgufValueType::UINT32: value.value = uint64_t{reader_.read<uint32_t>("uint32 value")}; break;
      case GgufValueType::INT32: value.value = int64_t{reader_.read<int32_t>("int32 value")}; break;
      case GgufValueType::UINT64: value.value = reader_.read<uint64_t>("uint64 value"); break;
      case GgufValueType::INT64: value.value = reader_.read<int64_t>("int64 value"); break;
      case GgufValueType::FLOAT32: value.value = double{reader_.read<float>("float32 value")}; break;
      case GgufValueType::FLOAT64: value.value = reader_.read<double>("float64 value"); break;
      case GgufValueType::BOOL: {
        const uint8_t byte = reader_.read<uint8_t>("bool value");
        if (byte > 1) throw_error("{}: bool value {} at byte {} is neither 0 nor 1", name_, byte, reader_.position() - 1);
        value.value = byte == 1;
        break;
      }
      case GgufValueType::STRING: value.value = read_string(std::numeric_limits<uint64_t>::max(), "string value"); break;
      case GgufValueType::ARRAY: value.value = read_array(depth); break;
    }
    return value;
  }

  GgufArray read_array(int depth) {
    if (depth >= kMaxArrayDepth) throw_error("{}: arrays nested deeper than {} at byte {}", name_, kMaxArrayDepth, reader_.position());
    GgufArray array;
    array.element_type = read_value_type("array element type");
    const uint64_t count = reader_.read<uint64_t>("array length");
    if (count > reader_.remaining() / min_encoded_bytes(array.element_type)) {
      throw_error("{}: array of {} {} values at byte {} cannot fit in the {} bytes left", name_, count,
                  value_type_name(array.element_type), reader_.position() - 8, reader_.remaining());
    }
    array.items.reserve(static_cast<size_t>(count));
    for (uint64_t i = 0; i < count; ++i) array.items.push_back(read_value(array.element_type, depth + 1));
    return array;
  }

  uint64_t read_count(const char* what, uint64_t min_bytes_each) {
    const uint64_t count = reader_.read<uint64_t>(what);
    if (count > reader_.remaining() / min_bytes_each) {
      throw_error("{}: {} {} cannot fit in the {} bytes left in the file", name_, what, count, reader_.remaining());
    }
    return count;
  }

  GgufTensorInfo read_tensor_info() {
    GgufTensorInfo info;
    info.view.name = read_string(kMaxTensorNameBytes, "tensor name");
    const std::string& tensor = info.view.name;
    const uint32_t n_dims = reader_.read<uint32_t>("tensor dimension count");
    if (n_dims > kMaxDims) throw_error("{}: tensor {} has {} dimensions (at most {} allowed)", name_, tensor, n_dims, kMaxDims);
    int64_t elements = 1;
    for (uint32_t i = 0; i < n_dims; ++i) {
      const uint64_t dim = reader_.read<uint64_t>("tensor dimension");
      if (dim == 0 || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw_error("{}: tensor {} has invalid dimension {} = {}", name_, tensor, i, dim);
      }
      info.ne.push_back(static_cast<int64_t>(dim));
      if (__builtin_mul_overflow(elements, static_cast<int64_t>(dim), &elements)) {
        throw_error("{}: tensor {} has too many elements (overflow)", name_, tensor);
      }
    }
    info.view.shape.assign(info.ne.rbegin(), info.ne.rend());

    const uint32_t type_id = reader_.read<uint32_t>("tensor type");
    const TypeTraits* traits = find_type_traits(type_id);
    if (traits == nullptr) throw_error("{}: tensor {} has unknown type id {}", name_, tensor, type_id);
    info.view.type = traits->type;
    const int64_t row = info.ne.empty() ? 1 : info.ne[0];
    if (row % traits->block_size != 0) {
      throw_error("{}: tensor {} of type {} has rows of {} elements, not a multiple of the block size {}", name_,
                  tensor, traits->name, row, traits->block_size);
    }
    // elements / block_size blocks of block_bytes each; check the product fits.
    if (__builtin_mul_overflow(static_cast<uint64_t>(elements / traits->block_size), traits->block_bytes, &info.view.bytes)) {
      throw_error("{}: tensor {} is too large (size overflow)", name_, tensor);
    }
    info.offset = reader_.read<uint64_t>("tensor data offset");
    return info;
  }

  const std::string& name_;
  ByteReader reader_;
};

}  // namespace

GgufFile GgufFile::open(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  GgufFile file = parse(map->bytes(), path);
  file.map_ = std::move(map);
  return file;
}

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, const std::string& name) {
  GgufFile file;
  file.path_ = name;
  GgufParser parser(bytes, name);
  ByteReader& reader = parser.reader_;

  if (bytes.size() < 4) throw_error("{}: not a GGUF file (only {} bytes)", name, bytes.size());
  if (reader.read<uint32_t>("magic") != kGgufMagic) throw_error("{}: not a GGUF file (bad magic)", name);
  file.version_ = reader.read<uint32_t>("version");
  if (file.version_ == 1) throw_error("{}: GGUF version 1 is not supported (only versions 2 and 3)", name);
  if (file.version_ != 2 && file.version_ != 3) {
    // A big-endian file's version 3 reads as 0x03000000 here.
    if ((file.version_ & 0xffffu) == 0) throw_error("{}: big-endian GGUF files are not supported", name);
    throw_error("{}: unsupported GGUF version {} (only versions 2 and 3)", name, file.version_);
  }
  const uint64_t tensor_count = parser.read_count("tensor count", kMinTensorInfoBytes);
  const uint64_t kv_count = parser.read_count("metadata key-value count", kMinKeyValueBytes);

  file.metadata_.reserve(static_cast<size_t>(kv_count));
  for (uint64_t i = 0; i < kv_count; ++i) {
    std::string key = parser.read_string(kMaxKeyBytes, "metadata key");
    const GgufValueType type = parser.read_value_type("metadata value type");
    GgufValue value = parser.read_value(type, 0);
    if (!file.metadata_index_.emplace(key, file.metadata_.size()).second) {
      throw_error("{}: metadata key {} appears twice", name, key);
    }
    file.metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (const std::optional<uint64_t> alignment = file.get_uint("general.alignment")) {
    if (*alignment == 0 || (*alignment & (*alignment - 1)) != 0 || *alignment > (uint64_t{1} << 30)) {
      throw_error("{}: general.alignment {} is not a power of two between 1 and 2^30", name, *alignment);
    }
    file.alignment_ = *alignment;
  } else {
    file.alignment_ = kDefaultAlignment;
  }

  file.tensors_.reserve(static_cast<size_t>(tensor_count));
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo info = parser.read_tensor_info();
    if (!file.tensor_index_.emplace(info.view.name, file.tensors_.size()).second) {
      throw_error("{}: tensor {} appears twice", name, info.view.name);
    }
    file.tensors_.push_back(std::move(info));
  }

  // The data section starts at the end of the tensor infos rounded up to the alignment. A file with no
  // tensors (a vocabulary-only file) may end before that.
  const uint64_t header_end = reader.position();
  file.data_offset_ = (header_end + file.alignment_ - 1) / file.alignment_ * file.alignment_;
  if (tensor_count > 0 && file.data_offset_ > bytes.size()) {
    throw_error("{}: file ends at byte {}, before its tensor data section at byte {}", name, bytes.size(), file.data_offset_);
  }

  const uint64_t data_bytes = tensor_count > 0 ? bytes.size() - file.data_offset_ : 0;
  for (GgufTensorInfo& info : file.tensors_) {
    if (info.offset % file.alignment_ != 0) {
      throw_error("{}: tensor {} data offset {} is not a multiple of the alignment {}", name, info.view.name,
                  info.offset, file.alignment_);
    }
    if (info.offset > data_bytes || info.view.bytes > data_bytes - info.offset) {
      throw_error("{}: tensor {} data [{}, +{}) runs past the end of the file ({} bytes of tensor data)", name,
                  info.view.name, info.offset, info.view.bytes, data_bytes);
    }
    info.view.data = bytes.data() + file.data_offset_ + info.offset;
  }

  // Tensors may be stored in any order, but two must never share bytes.
  std::vector<const GgufTensorInfo*> by_offset;
  by_offset.reserve(file.tensors_.size());
  for (const GgufTensorInfo& info : file.tensors_) by_offset.push_back(&info);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& previous = *by_offset[i - 1];
    if (previous.offset + previous.view.bytes > by_offset[i]->offset) {
      throw_error("{}: tensors {} and {} overlap in the data section", name, previous.view.name, by_offset[i]->view.name);
    }
  }
  return file;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = metadata_index_.find(std::string(key));
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

[[noreturn]] void throw_type_mismatch(const std::string& path, std::string_view key, const GgufValue& value,
                                      const char* wanted) {
  throw_error("{}: metadata key {} holds a {}, expected {}", path, key, value_type_name(value.type), wanted);
}

// Integer values convert between signed and unsigned when the value fits.
uint64_t as_uint(const std::string& path, std::string_view key, const GgufValue& value) {
  if (is_unsigned(value.type)) return std::get<uint64_t>(value.value);
  if (is_signed(value.type)) {
    const int64_t v = std::get<int64_t>(value.value);
    if (v < 0) throw_error("{}: metadata key {} is {}, expected a non-negative integer", path, key, v);
    return static_cast<uint64_t>(v);
  }
  throw_type_mismatch(path, key, value, "an integer");
}

int64_t as_int(const std::string& path, std::string_view key, const GgufValue& value) {
  if (is_signed(value.type)) return std::get<int64_t>(value.value);
  if (is_unsigned(value.type)) {
    const uint64_t v = std::get<uint64_t>(value.value);
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw_error("{}: metadata key {} is {}, too large for a signed integer", path, key, v);
    }
    return static_cast<int64_t>(v);
  }
  throw_type_mismatch(path, key, value, "an integer");
}

// Floats accept integer values too (a writer may store 10000 as an integer).
double as_float(const std::string& path, std::string_view key, const GgufValue& value) {
  if (is_float(value.type)) return std::get<double>(value.value);
  if (is_unsigned(value.type)) return static_cast<double>(std::get<uint64_t>(value.value));
  if (is_signed(value.type)) return static_cast<double>(std::get<int64_t>(value.value));
  throw_type_mismatch(path, key, value, "a number");
}

const GgufArray& as_array(const std::string& path, std::string_view key, const GgufValue& value, bool (*element_ok)(GgufValueType),
                          const char* wanted) {
  if (value.type != GgufValueType::ARRAY) throw_type_mismatch(path, key, value, wanted);
  const GgufArray& array = std::get<GgufArray>(value.value);
  if (!element_ok(array.element_type)) {
    throw_error("{}: metadata key {} is an array of {}, expected {}", path, key, value_type_name(array.element_type), wanted);
  }
  return array;
}

}  // namespace

std::optional<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  return as_uint(path_, key, *value);
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  return as_int(path_, key, *value);
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  return as_float(path_, key, *value);
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (value->type != GgufValueType::BOOL) throw_type_mismatch(path_, key, *value, "a bool");
  return std::get<bool>(value->value);
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (value->type != GgufValueType::STRING) throw_type_mismatch(path_, key, *value, "a string");
  return std::get<std::string>(value->value);
}

std::optional<std::vector<std::string>> GgufFile::get_string_array(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  const GgufArray& array = as_array(path_, key, *value, [](GgufValueType t) { return t == GgufValueType::STRING; },
                                    "an array of strings");
  std::vector<std::string> result;
  result.reserve(array.items.size());
  for (const GgufValue& item : array.items) result.push_back(std::get<std::string>(item.value));
  return result;
}

std::optional<std::vector<float>> GgufFile::get_float_array(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  const GgufArray& array = as_array(path_, key, *value, [](GgufValueType t) { return is_float(t) || is_unsigned(t) || is_signed(t); },
                                    "an array of numbers");
  std::vector<float> result;
  result.reserve(array.items.size());
  for (const GgufValue& item : array.items) result.push_back(static_cast<float>(as_float(path_, key, item)));
  return result;
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* value = find(key);
  if (value == nullptr) return std::nullopt;
  const GgufArray& array = as_array(path_, key, *value, [](GgufValueType t) { return is_unsigned(t) || is_signed(t); },
                                    "an array of integers");
  std::vector<int64_t> result;
  result.reserve(array.items.size());
  for (const GgufValue& item : array.items) result.push_back(as_int(path_, key, item));
  return result;
}

}  // namespace lowbit
