#include "formats/type_traits.h"

#include <array>
#include <strings.h>

#include "core/error.h"
#include "formats/float_types.h"

namespace lowbit {
namespace {

// Block geometry of ggml's types is fixed by the GGUF/ggml specification (bytes per block include the
// block's scales). Quantized ggml types without converters here are read and written by the
// quantize issue's format files, which fill in their converters.
constexpr std::array kTypeTable = {
    TypeTraits{TensorType::F32, "f32", 1, 4, false, f32_to_float, f32_from_float},
    TypeTraits{TensorType::F16, "f16", 1, 2, false, f16_to_float, f16_from_float},
    TypeTraits{TensorType::BF16, "bf16", 1, 2, false, bf16_to_float, bf16_from_float},
    TypeTraits{TensorType::Q4_0, "q4_0", 32, 18, true, nullptr, nullptr},
    TypeTraits{TensorType::Q4_1, "q4_1", 32, 20, true, nullptr, nullptr},
    TypeTraits{TensorType::Q5_0, "q5_0", 32, 22, true, nullptr, nullptr},
    TypeTraits{TensorType::Q5_1, "q5_1", 32, 24, true, nullptr, nullptr},
    TypeTraits{TensorType::Q8_0, "q8_0", 32, 34, true, nullptr, nullptr},
    TypeTraits{TensorType::Q8_1, "q8_1", 32, 36, true, nullptr, nullptr},
    TypeTraits{TensorType::Q2_K, "q2_K", 256, 84, true, nullptr, nullptr},
    TypeTraits{TensorType::Q3_K, "q3_K", 256, 110, true, nullptr, nullptr},
    TypeTraits{TensorType::Q4_K, "q4_K", 256, 144, true, nullptr, nullptr},
    TypeTraits{TensorType::Q5_K, "q5_K", 256, 176, true, nullptr, nullptr},
    TypeTraits{TensorType::Q6_K, "q6_K", 256, 210, true, nullptr, nullptr},
    TypeTraits{TensorType::Q8_K, "q8_K", 256, 292, true, nullptr, nullptr},
    TypeTraits{TensorType::I8, "i8", 1, 1, false, nullptr, nullptr},
    TypeTraits{TensorType::I16, "i16", 1, 2, false, nullptr, nullptr},
    TypeTraits{TensorType::I32, "i32", 1, 4, false, nullptr, nullptr},
    TypeTraits{TensorType::I64, "i64", 1, 8, false, nullptr, nullptr},
    TypeTraits{TensorType::F64, "f64", 1, 8, false, nullptr, nullptr},
};

}  // namespace

const TypeTraits* find_type_traits(uint32_t type_id) {
  for (const TypeTraits& traits : kTypeTable) {
    if (static_cast<uint32_t>(traits.type) == type_id) return &traits;
  }
  return nullptr;
}

const TypeTraits* find_type_traits(std::string_view name) {
  for (const TypeTraits& traits : kTypeTable) {
    if (name.size() == std::char_traits<char>::length(traits.name) &&
        ::strncasecmp(name.data(), traits.name, name.size()) == 0) {
      return &traits;
    }
  }
  return nullptr;
}

const TypeTraits& type_traits(TensorType type) {
  const TypeTraits* traits = find_type_traits(static_cast<uint32_t>(type));
  if (traits == nullptr) throw_error("unknown tensor type id {}", static_cast<uint32_t>(type));
  return *traits;
}

}  // namespace lowbit
