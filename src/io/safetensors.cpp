#include "io/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "formats/type_traits.h"
#include "io/byte_reader.h"

namespace lowbit {
namespace {

// The reference implementation refuses headers above 100 MB; so do we, before parsing any JSON.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A valid header is two levels deep (tensor -> shape array); anything much deeper is hostile.
constexpr int kMaxJsonDepth = 8;

TensorType dtype_to_type(const std::string& file, const std::string& tensor, const std::string& dtype) {
  if (dtype == "F32") return TensorType::F32;
  if (dtype == "F16") return TensorType::F16;
  if (dtype == "BF16") return TensorType::BF16;
  throw_error("{}: tensor {} has dtype {}; lowbit reads F32, F16 and BF16", file, tensor, dtype);
}

uint64_t json_to_uint(const std::string& file, const std::string& tensor, const nlohmann::json& value, const char* field) {
  if (!value.is_number_unsigned()) throw_error("{}: tensor {} has a {} entry that is not a non-negative integer", file, tensor, field);
  return value.get<uint64_t>();
}

nlohmann::json parse_header_json(std::string_view text, const std::string& name) {
  try {
    return nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > kMaxJsonDepth) throw_error("{}: header JSON nested deeper than {}", name, kMaxJsonDepth);
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    throw_error("{}: header is not valid JSON: {}", name, e.what());
  }
}

TensorView parse_tensor_entry(const std::string& file, const std::string& tensor, const nlohmann::json& entry,
                              std::span<const uint8_t> data) {
  if (!entry.is_object()) throw_error("{}: header entry {} is not an object", file, tensor);
  const auto dtype = entry.find("dtype");
  const auto shape = entry.find("shape");
  const auto offsets = entry.find("data_offsets");
  if (dtype == entry.end() || !dtype->is_string()) throw_error("{}: tensor {} has no dtype string", file, tensor);
  if (shape == entry.end() || !shape->is_array()) throw_error("{}: tensor {} has no shape array", file, tensor);
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2) {
    throw_error("{}: tensor {} has no data_offsets [begin, end]", file, tensor);
  }

  TensorView view;
  view.name = tensor;
  view.type = dtype_to_type(file, tensor, dtype->get<std::string>());
  uint64_t elements = 1;
  for (const nlohmann::json& dim : *shape) {
    const uint64_t d = json_to_uint(file, tensor, dim, "shape");
    if (d == 0) throw_error("{}: tensor {} has an empty dimension", file, tensor);
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || __builtin_mul_overflow(elements, d, &elements)) {
      throw_error("{}: tensor {} has too many elements (overflow)", file, tensor);
    }
    view.shape.push_back(static_cast<int64_t>(d));
  }
  const uint64_t begin = json_to_uint(file, tensor, (*offsets)[0], "data_offsets");
  const uint64_t end = json_to_uint(file, tensor, (*offsets)[1], "data_offsets");
  if (begin > end || end > data.size()) {
    throw_error("{}: tensor {} data_offsets [{}, {}) are outside the {} bytes of data", file, tensor, begin, end, data.size());
  }
  uint64_t expected = 0;
  if (__builtin_mul_overflow(elements, type_traits(view.type).block_bytes, &expected) || expected != end - begin) {
    throw_error("{}: tensor {} holds {} bytes, but its shape and dtype need {}", file, tensor, end - begin, expected);
  }
  view.data = data.data() + begin;
  view.bytes = static_cast<size_t>(end - begin);
  return view;
}

void read_metadata(const std::string& file, const nlohmann::json& entry, std::map<std::string, std::string>& metadata) {
  if (!entry.is_object()) throw_error("{}: __metadata__ is not an object", file);
  for (const auto& [key, value] : entry.items()) {
    if (!value.is_string()) throw_error("{}: __metadata__ value for {} is not a string", file, key);
    metadata[key] = value.get<std::string>();
  }
}

}  // namespace

SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& name) {
  ByteReader reader(bytes, name);
  const uint64_t header_bytes = reader.read<uint64_t>("safetensors header length");
  if (header_bytes > kMaxHeaderBytes) throw_error("{}: safetensors header length {} is implausibly large", name, header_bytes);
  const std::string_view header_text = reader.read_bytes(header_bytes, "safetensors header");
  const std::span<const uint8_t> data = bytes.subspan(reader.position());

  const nlohmann::json header = parse_header_json(header_text, name);
  if (!header.is_object()) throw_error("{}: safetensors header is not a JSON object", name);

  SafetensorsFile file;
  file.path = name;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") {
      read_metadata(name, entry, file.metadata);
    } else {
      file.tensors.push_back(parse_tensor_entry(name, key, entry, data));
    }
  }

  std::sort(file.tensors.begin(), file.tensors.end(), [](const TensorView& a, const TensorView& b) { return a.data < b.data; });
  for (size_t i = 1; i < file.tensors.size(); ++i) {
    const TensorView& previous = file.tensors[i - 1];
    if (static_cast<const uint8_t*>(previous.data) + previous.bytes > static_cast<const uint8_t*>(file.tensors[i].data)) {
      throw_error("{}: tensors {} and {} overlap", name, previous.name, file.tensors[i].name);
    }
  }
  return file;
}

SafetensorsFile open_safetensors(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  SafetensorsFile file = parse_safetensors(map->bytes(), path);
  file.map = std::move(map);
  return file;
}

}  // namespace lowbit
