#include "plan/storage.h"

#include <strings.h>

#include "core/error.h"
#include "formats/type_traits.h"
#include "plan/model_tensors.h"

namespace lowbit {
namespace {

bool is_matrix(const TensorTypeRequest& tensor) { return tensor.shape.size() >= 2; }

int64_t row_length(const TensorTypeRequest& tensor) { return tensor.shape.back(); }

// A generic precision: `code_bits` per weight plus one scale of `scale_bits` per group of `group`
// weights of a row (group 0: one scale for the whole tensor).
struct GenericPrecision {
  const char* name;
  int code_bits;
  int64_t group;
  int scale_bits;
};
constexpr GenericPrecision kGenericPrecisions[] = {
    {"FP8", 8, 0, 32}, {"INT8", 8, 128, 16}, {"INT4", 4, 128, 16}, {"INT3", 3, 128, 16}, {"INT2", 2, 128, 16},
};

uint64_t generic_bytes(const TensorTypeRequest& tensor, const GenericPrecision& precision) {
  const uint64_t elements = static_cast<uint64_t>(element_count(tensor));
  if (!is_matrix(tensor)) return elements * 4;
  const uint64_t rows = elements / static_cast<uint64_t>(row_length(tensor));
  const uint64_t scales = precision.group == 0
                              ? 1
                              : rows * static_cast<uint64_t>((row_length(tensor) + precision.group - 1) / precision.group);
  return (elements * static_cast<uint64_t>(precision.code_bits) + 7) / 8 + scales * static_cast<uint64_t>(precision.scale_bits) / 8;
}

uint64_t total_parameters(std::span<const TensorTypeRequest> tensors) {
  uint64_t n = 0;
  for (const TensorTypeRequest& tensor : tensors) n += static_cast<uint64_t>(element_count(tensor));
  return n;
}

void set_bits_per_weight(StorageOption& option, uint64_t parameters) {
  option.bits_per_weight = parameters == 0 ? 0.0 : 8.0 * static_cast<double>(option.bytes) / static_cast<double>(parameters);
}

StorageOption uniform_type_option(std::span<const TensorTypeRequest> tensors, const TypeTraits& traits) {
  StorageOption option;
  option.kind = StorageOption::Kind::type;
  option.name = traits.name;
  for (const TensorTypeRequest& tensor : tensors) {
    if (!is_matrix(tensor)) {
      option.bytes += tensor_bytes(tensor, TensorType::F32);
    } else if (row_length(tensor) % traits.block_size != 0) {
      option.bytes += tensor_bytes(tensor, TensorType::F16);
      ++option.kept_f16;
    } else {
      option.bytes += tensor_bytes(tensor, traits.type);
    }
  }
  return option;
}

StorageOption mix_option(std::span<const TensorTypeRequest> tensors, const ModelShapeInfo& shape, const NamedMix& mix) {
  StorageOption option;
  option.kind = StorageOption::Kind::mix;
  option.name = mix.name;
  try {
    MixOptions mix_options;
    mix_options.mix = mix.name;
    const MixPolicy policy(mix_options, shape, tensors);
    for (size_t i = 0; i < tensors.size(); ++i) {
      const TensorTypeChoice& choice = policy.choices()[i];
      option.bytes += tensor_bytes(tensors[i], choice.type);
      if (choice.fell_back()) ++option.fallbacks;
    }
  } catch (const Error& e) {
    option.bytes = 0;
    option.unavailable = e.what();
  }
  return option;
}

}  // namespace

const char* storage_kind_name(StorageOption::Kind kind) {
  switch (kind) {
    case StorageOption::Kind::precision: return "precision";
    case StorageOption::Kind::type: return "type";
    case StorageOption::Kind::mix: return "mix";
  }
  return "?";
}

uint64_t tensor_bytes(const TensorTypeRequest& tensor, TensorType type) {
  const TypeTraits& traits = type_traits(type);
  const int64_t cols = tensor.shape.empty() ? 1 : row_length(tensor);
  const uint64_t rows = static_cast<uint64_t>(element_count(tensor) / cols);
  return rows * traits.row_bytes(cols);
}

std::vector<StorageOption> storage_options(std::span<const TensorTypeRequest> tensors, const ModelShapeInfo& shape) {
  const uint64_t parameters = total_parameters(tensors);
  std::vector<StorageOption> options;
  for (const GenericPrecision& precision : kGenericPrecisions) {
    StorageOption option;
    option.kind = StorageOption::Kind::precision;
    option.name = precision.name;
    for (const TensorTypeRequest& tensor : tensors) option.bytes += generic_bytes(tensor, precision);
    options.push_back(std::move(option));
  }
  for (const TypeTraits& traits : all_type_traits()) {
    if (traits.from_float != nullptr) options.push_back(uniform_type_option(tensors, traits));
  }
  for (const NamedMix& mix : named_mixes()) {
    // The float mixes (F32, F16, BF16) store what the f32/f16/bf16 type options already do.
    if (type_traits(mix.base_type).is_quantized) options.push_back(mix_option(tensors, shape, mix));
  }
  for (StorageOption& option : options) set_bits_per_weight(option, parameters);
  return options;
}

const StorageOption& find_storage_option(std::span<const StorageOption> options, std::string_view name) {
  // Exact spelling first: "Q4_0" is the mix, "q4_0" the type.
  for (const StorageOption& option : options) {
    if (option.name == name) return option;
  }
  for (const StorageOption& option : options) {
    if (option.name.size() == name.size() && ::strncasecmp(option.name.c_str(), name.data(), name.size()) == 0) {
      return option;
    }
  }
  std::string names;
  for (const StorageOption& option : options) names += " " + option.name;
  throw_error("unknown precision {} (known:{})", name, names);
}

}  // namespace lowbit
