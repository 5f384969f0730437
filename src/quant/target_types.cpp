#include "quant/target_types.h"

#include <array>
#include <strings.h>

#include "core/error.h"
#include "formats/type_traits.h"

namespace lowbit {
namespace {

// general.file_type values are llama.cpp's llama_ftype ("mostly this type"); a K type alone is recorded
// as the mix made mostly of it (Q4_K -> Q4_K_S).
constexpr std::array kTargets = {
    QuantizeTarget{"F32", TensorType::F32, 0},   QuantizeTarget{"F16", TensorType::F16, 1},
    QuantizeTarget{"BF16", TensorType::BF16, 32}, QuantizeTarget{"Q8_0", TensorType::Q8_0, 7},
    QuantizeTarget{"Q4_0", TensorType::Q4_0, 2}, QuantizeTarget{"Q4_1", TensorType::Q4_1, 3},
    QuantizeTarget{"Q5_0", TensorType::Q5_0, 8}, QuantizeTarget{"Q5_1", TensorType::Q5_1, 9},
    QuantizeTarget{"Q2_K", TensorType::Q2_K, 10}, QuantizeTarget{"Q3_K", TensorType::Q3_K, 11},
    QuantizeTarget{"Q4_K", TensorType::Q4_K, 14}, QuantizeTarget{"Q5_K", TensorType::Q5_K, 16},
    QuantizeTarget{"Q6_K", TensorType::Q6_K, 18},
};

// llama.cpp's K types have 256-element blocks; an output matrix whose rows do not divide into them
// gets Q8_0 instead of the usual Q6_K.
constexpr int64_t kKBlockSize = 256;

bool is_weight_matrix(const std::string& name, const std::vector<int64_t>& shape) {
  constexpr std::string_view suffix = "weight";
  return shape.size() >= 2 && name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

const QuantizeTarget& find_quantize_target(std::string_view name) {
  for (const QuantizeTarget& target : kTargets) {
    if (name.size() == std::char_traits<char>::length(target.name) && ::strncasecmp(name.data(), target.name, name.size()) == 0) {
      return target;
    }
  }
  throw_error("unknown quantization type {} (known: {})", name, quantize_target_names());
}

std::string quantize_target_names() {
  std::string names;
  for (const QuantizeTarget& target : kTargets) names += (names.empty() ? "" : ", ") + std::string(target.name);
  return names;
}

TensorType parse_tensor_type(std::string_view name) {
  const TypeTraits* traits = find_type_traits(name);
  if (traits == nullptr || traits->from_float == nullptr) throw_error("unknown tensor type {} (known: {})", name, quantize_target_names());
  return traits->type;
}

TensorTypeOverride parse_tensor_type_override(const std::string& argument) {
  const size_t equals = argument.rfind('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == argument.size()) {
    throw_error("--tensor-type {}: expected PATTERN=TYPE", argument);
  }
  TensorTypeOverride result;
  result.pattern = argument.substr(0, equals);
  try {
    result.regex = std::regex(result.pattern);
  } catch (const std::regex_error& e) {
    throw_error("--tensor-type {}: bad pattern: {}", argument, e.what());
  }
  result.type = parse_tensor_type(std::string_view(argument).substr(equals + 1));
  return result;
}

TensorType choose_tensor_type(const std::string& name, const std::vector<int64_t>& shape, TensorType source_type,
                              const QuantizeTarget& target, const TypeChoiceOptions& options, bool has_output) {
  if (!is_weight_matrix(name, shape)) return source_type;
  TensorType type = target.type;
  const bool is_output = name == "output.weight" || (!has_output && name == "token_embd.weight");
  // Like llama-quantize, the output matrix of a quantized model keeps more bits (Q6_K), or Q8_0 where
  // K blocks do not fit its rows.
  if (is_output && !options.pure && type_traits(target.type).is_quantized && type != TensorType::Q8_0) {
    type = shape.back() % kKBlockSize == 0 ? TensorType::Q6_K : TensorType::Q8_0;
  }
  for (const TensorTypeOverride& override : options.tensor_types) {
    if (std::regex_search(name, override.regex)) {
      type = override.type;
      break;
    }
  }
  if (options.embedding_type && name == "token_embd.weight") type = *options.embedding_type;
  if (options.output_type && name == "output.weight") type = *options.output_type;
  return type;
}

}  // namespace lowbit
