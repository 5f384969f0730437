#include "io/gguf_writer.h"

#include <bit>
#include <cstring>

#include "core/error.h"

namespace lowbit {
namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint32_t kGgufVersion = 3;

class ByteSink {
 public:
  template <typename T>
  void put(T value) {
    static_assert(std::endian::native == std::endian::little, "GGUF is little-endian");
    const size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &value, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void pad_to(uint64_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back(0);
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

void put_scalar(ByteSink& sink, GgufValueType type, const GgufValue& v, const std::string& key) {
  auto as_uint = [&] {
    if (const auto* u = std::get_if<uint64_t>(&v.value)) return *u;
    if (const auto* i = std::get_if<int64_t>(&v.value)) return static_cast<uint64_t>(*i);
    if (const auto* b = std::get_if<bool>(&v.value)) return static_cast<uint64_t>(*b);
    throw_error("GGUF metadata {}: value does not match its integer type", key);
  };
  auto as_double = [&] {
    if (const auto* d = std::get_if<double>(&v.value)) return *d;
    throw_error("GGUF metadata {}: value does not match its float type", key);
  };
  switch (type) {
    case GgufValueType::UINT8: sink.put<uint8_t>(static_cast<uint8_t>(as_uint())); break;
    case GgufValueType::INT8: sink.put<int8_t>(static_cast<int8_t>(as_uint())); break;
    case GgufValueType::UINT16: sink.put<uint16_t>(static_cast<uint16_t>(as_uint())); break;
    case GgufValueType::INT16: sink.put<int16_t>(static_cast<int16_t>(as_uint())); break;
    case GgufValueType::UINT32: sink.put<uint32_t>(static_cast<uint32_t>(as_uint())); break;
    case GgufValueType::INT32: sink.put<int32_t>(static_cast<int32_t>(as_uint())); break;
    case GgufValueType::UINT64: sink.put<uint64_t>(as_uint()); break;
    case GgufValueType::INT64: sink.put<int64_t>(static_cast<int64_t>(as_uint())); break;
    case GgufValueType::FLOAT32: sink.put<float>(static_cast<float>(as_double())); break;
    case GgufValueType::FLOAT64: sink.put<double>(as_double()); break;
    case GgufValueType::BOOL: sink.put<uint8_t>(as_uint() != 0 ? 1 : 0); break;
    case GgufValueType::STRING: {
      const auto* s = std::get_if<std::string>(&v.value);
      if (s == nullptr) throw_error("GGUF metadata {}: value is not a string", key);
      sink.put_string(*s);
      break;
    }
    case GgufValueType::ARRAY: {
      const auto* array = std::get_if<GgufArray>(&v.value);
      if (array == nullptr) throw_error("GGUF metadata {}: value is not an array", key);
      sink.put<uint32_t>(static_cast<uint32_t>(array->element_type));
      sink.put<uint64_t>(array->items.size());
      for (const GgufValue& item : array->items) put_scalar(sink, array->element_type, item, key);
      break;
    }
    default: throw_error("GGUF metadata {}: unknown value type {}", key, static_cast<uint32_t>(type));
  }
}

uint64_t aligned(uint64_t offset, uint64_t alignment) { return (offset + alignment - 1) / alignment * alignment; }

}  // namespace

void GgufWriter::set_metadata(const std::string& key, GgufValue value) {
  for (auto& [existing_key, existing_value] : metadata_) {
    if (existing_key == key) {
      existing_value = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::remove_metadata(const std::string& key) {
  std::erase_if(metadata_, [&](const auto& kv) { return kv.first == key; });
}

void GgufWriter::add_tensor(GgufTensorSpec spec) { tensors_.push_back(std::move(spec)); }

uint64_t GgufWriter::alignment() const {
  for (const auto& [key, value] : metadata_) {
    if (key != "general.alignment") continue;
    const auto* u = std::get_if<uint64_t>(&value.value);
    if (u == nullptr || *u == 0 || !std::has_single_bit(*u)) throw_error("general.alignment must be a power of two");
    return *u;
  }
  return 32;
}

std::vector<uint8_t> GgufWriter::serialize_header() const {
  const uint64_t align = alignment();
  ByteSink sink;
  sink.put<uint32_t>(kGgufMagic);
  sink.put<uint32_t>(kGgufVersion);
  sink.put<uint64_t>(tensors_.size());
  sink.put<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    sink.put_string(key);
    sink.put<uint32_t>(static_cast<uint32_t>(value.type));
    put_scalar(sink, value.type, value, key);
  }
  uint64_t offset = 0;
  for (const GgufTensorSpec& tensor : tensors_) {
    sink.put_string(tensor.name);
    sink.put<uint32_t>(static_cast<uint32_t>(tensor.shape.size()));
    for (auto it = tensor.shape.rbegin(); it != tensor.shape.rend(); ++it) sink.put<uint64_t>(static_cast<uint64_t>(*it));
    sink.put<uint32_t>(static_cast<uint32_t>(tensor.type));
    sink.put<uint64_t>(offset);
    offset = aligned(offset + tensor.bytes, align);
  }
  // ggml pads to the data section only when there is one: a vocabulary-only file ends after its infos.
  if (!tensors_.empty()) sink.pad_to(align);
  return std::move(sink.bytes());
}

void GgufWriter::write(const std::string& path,
                       const std::function<void(size_t index, AtomicFile& out)>& write_tensor) const {
  const uint64_t align = alignment();
  const std::vector<uint8_t> header = serialize_header();
  AtomicFile out(path);
  out.write(header.data(), header.size());
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const uint64_t start = out.size();
    write_tensor(i, out);
    const uint64_t written = out.size() - start;
    if (written != tensors_[i].bytes) {
      throw_error("{}: tensor {}: wrote {} bytes, expected {}", path, tensors_[i].name, written, tensors_[i].bytes);
    }
    out.write_zeros(aligned(out.size(), align) - out.size());
  }
  out.commit();
}

GgufValue gguf_string(std::string value) { return {GgufValueType::STRING, std::move(value)}; }
GgufValue gguf_uint32(uint32_t value) { return {GgufValueType::UINT32, static_cast<uint64_t>(value)}; }
GgufValue gguf_float32(float value) { return {GgufValueType::FLOAT32, static_cast<double>(value)}; }
GgufValue gguf_bool(bool value) { return {GgufValueType::BOOL, value}; }

}  // namespace lowbit
