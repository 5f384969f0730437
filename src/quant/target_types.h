// Which type each tensor gets. `--type` names a ggml type; every weight matrix takes it, except where
// llama-quantize would choose otherwise for the same command (the output matrix, see
// choose_tensor_type) and where the user overrides it (--tensor-type, --output-type, --embedding-type).
// The named mixes (Q4_K_M, ...) and their per-layer choices belong to quant/mix_policy.h; this file is
// the single call the pipeline makes, so that policy replaces choose_tensor_type in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace lowbit {

struct QuantizeTarget {
  const char* name;      // as the user writes it: "Q8_0", "F16"
  TensorType type;       // the type of the weight matrices
  uint32_t file_type;    // llama.cpp's llama_ftype, stored as general.file_type
};

// Throws lowbit::Error listing the known names when `name` is none of them (case-insensitive).
const QuantizeTarget& find_quantize_target(std::string_view name);
// Every name find_quantize_target accepts, comma-separated (for help texts and errors).
std::string quantize_target_names();

// A tensor type given by name ("q8_0", "F16", ...); throws lowbit::Error for an unknown name.
TensorType parse_tensor_type(std::string_view name);

struct TensorTypeOverride {
  std::string pattern;  // ECMAScript regular expression, searched anywhere in the tensor name
  std::regex regex;
  TensorType type;
};

struct TypeChoiceOptions {
  std::vector<TensorTypeOverride> tensor_types;  // first match wins
  std::optional<TensorType> output_type;         // output.weight
  std::optional<TensorType> embedding_type;      // token_embd.weight
  bool pure = false;                             // no per-tensor exceptions, overrides only
};

// "PATTERN=TYPE" as --tensor-type takes it; throws lowbit::Error for a bad pattern or type.
TensorTypeOverride parse_tensor_type_override(const std::string& argument);

// Only weight matrices (names ending in "weight", two or more dimensions) are quantized; everything
// else keeps `source_type`. `has_output`: the model has its own output.weight (else the token
// embedding doubles as the output matrix and is treated like it).
TensorType choose_tensor_type(const std::string& name, const std::vector<int64_t>& shape, TensorType source_type,
                              const QuantizeTarget& target, const TypeChoiceOptions& options, bool has_output);

}  // namespace lowbit
