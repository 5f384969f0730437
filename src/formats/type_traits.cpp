#include "formats/type_traits.h"

#include <array>
#include <strings.h>

#include "core/error.h"
#include "formats/float_types.h"
#include "formats/ggml_q4_0.h"
#include "formats/ggml_q4_1.h"
#include "formats/ggml_q5_0.h"
#include "formats/ggml_q5_1.h"
#include "formats/ggml_q8_0.h"
#include "formats/ggml_q8_1.h"
#include "formats/ggml_q2_k.h"
#include "formats/ggml_q3_k.h"
#include "formats/ggml_q4_k.h"
#include "formats/ggml_q5_k.h"
#include "formats/ggml_q6_k.h"
#include "formats/ggml_q8_k.h"

namespace lowbit {
namespace {

// Block geometry of ggml's types is fixed by the GGUF/ggml specification (bytes per block include the
// block's scales). ggml's legacy types (Q4_0 ... Q8_1) quantize with ggml's reference rounding, bit
// for bit; the K types with lowbit's own scale search (formats/ggml_k_search.h).
constexpr std::array kTypeTable = {
    TypeTraits{TensorType::F32, "f32", 1, 4, false, f32_to_float, f32_from_float},
    TypeTraits{TensorType::F16, "f16", 1, 2, false, f16_to_float, f16_from_float},
    TypeTraits{TensorType::BF16, "bf16", 1, 2, false, bf16_to_float, bf16_from_float},
    TypeTraits{TensorType::Q4_0, "q4_0", 32, 18, true, dequantize_row_q4_0, quantize_row_q4_0_ref},
    TypeTraits{TensorType::Q4_1, "q4_1", 32, 20, true, dequantize_row_q4_1, quantize_row_q4_1_ref},
    TypeTraits{TensorType::Q5_0, "q5_0", 32, 22, true, dequantize_row_q5_0, quantize_row_q5_0_ref},
    TypeTraits{TensorType::Q5_1, "q5_1", 32, 24, true, dequantize_row_q5_1, quantize_row_q5_1_ref},
    TypeTraits{TensorType::Q8_0, "q8_0", 32, 34, true, dequantize_row_q8_0, quantize_row_q8_0_ref},
    TypeTraits{TensorType::Q8_1, "q8_1", 32, 36, true, dequantize_row_q8_1, quantize_row_q8_1_ref},
    TypeTraits{TensorType::Q2_K, "q2_K", 256, 84, true, dequantize_row_q2_k, quantize_row_q2_k},
    TypeTraits{TensorType::Q3_K, "q3_K", 256, 110, true, dequantize_row_q3_k, quantize_row_q3_k},
    TypeTraits{TensorType::Q4_K, "q4_K", 256, 144, true, dequantize_row_q4_k, quantize_row_q4_k},
    TypeTraits{TensorType::Q5_K, "q5_K", 256, 176, true, dequantize_row_q5_k, quantize_row_q5_k},
    TypeTraits{TensorType::Q6_K, "q6_K", 256, 210, true, dequantize_row_q6_k, quantize_row_q6_k},
    TypeTraits{TensorType::Q8_K, "q8_K", 256, 292, true, dequantize_row_q8_k, quantize_row_q8_k},
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
