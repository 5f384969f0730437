#include "formats/type_traits.h"

#include <array>
#include <span>
#include <utility>
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
#include "formats/lowbit_block_common.h"
#include "formats/lowbit_codebook.h"
#include "formats/lowbit_fp8.h"
#include "formats/lowbit_int.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "formats/lowbit_w8_row.h"

namespace lowbit {
namespace {

using Book = LowbitCodebookFormat::Book;
using Scale = LowbitCodebookFormat::Scale;

// Block geometry of ggml's types is fixed by the GGUF/ggml specification (bytes per block include the
// block's scales). ggml's legacy types (Q4_0 ... Q8_1) quantize with ggml's reference rounding, bit
// for bit; the K types with lowbit's own scale search (formats/ggml_k_search.h). The last column, where
// present, is the importance-weighted quantizer (formats/weighted_search.h).
constexpr std::array kGgmlRows = {
    TypeTraits{TensorType::F32, "f32", 1, 4, false, f32_to_float, f32_from_float},
    TypeTraits{TensorType::F16, "f16", 1, 2, false, f16_to_float, f16_from_float},
    TypeTraits{TensorType::BF16, "bf16", 1, 2, false, bf16_to_float, bf16_from_float},
    TypeTraits{TensorType::Q4_0, "q4_0", 32, 18, true, dequantize_row_q4_0, quantize_row_q4_0_ref,
               quantize_row_q4_0_weighted},
    TypeTraits{TensorType::Q4_1, "q4_1", 32, 20, true, dequantize_row_q4_1, quantize_row_q4_1_ref,
               quantize_row_q4_1_weighted},
    TypeTraits{TensorType::Q5_0, "q5_0", 32, 22, true, dequantize_row_q5_0, quantize_row_q5_0_ref,
               quantize_row_q5_0_weighted},
    TypeTraits{TensorType::Q5_1, "q5_1", 32, 24, true, dequantize_row_q5_1, quantize_row_q5_1_ref,
               quantize_row_q5_1_weighted},
    TypeTraits{TensorType::Q8_0, "q8_0", 32, 34, true, dequantize_row_q8_0, quantize_row_q8_0_ref,
               quantize_row_q8_0_weighted},
    TypeTraits{TensorType::Q8_1, "q8_1", 32, 36, true, dequantize_row_q8_1, quantize_row_q8_1_ref},
    TypeTraits{TensorType::Q2_K, "q2_K", 256, 84, true, dequantize_row_q2_k, quantize_row_q2_k,
               quantize_row_q2_k_weighted},
    TypeTraits{TensorType::Q3_K, "q3_K", 256, 110, true, dequantize_row_q3_k, quantize_row_q3_k,
               quantize_row_q3_k_weighted},
    TypeTraits{TensorType::Q4_K, "q4_K", 256, 144, true, dequantize_row_q4_k, quantize_row_q4_k,
               quantize_row_q4_k_weighted},
    TypeTraits{TensorType::Q5_K, "q5_K", 256, 176, true, dequantize_row_q5_k, quantize_row_q5_k,
               quantize_row_q5_k_weighted},
    TypeTraits{TensorType::Q6_K, "q6_K", 256, 210, true, dequantize_row_q6_k, quantize_row_q6_k,
               quantize_row_q6_k_weighted},
    TypeTraits{TensorType::Q8_K, "q8_K", 256, 292, true, dequantize_row_q8_k, quantize_row_q8_k},
    TypeTraits{TensorType::I8, "i8", 1, 1, false, nullptr, nullptr},
    TypeTraits{TensorType::I16, "i16", 1, 2, false, nullptr, nullptr},
    TypeTraits{TensorType::I32, "i32", 1, 4, false, nullptr, nullptr},
    TypeTraits{TensorType::I64, "i64", 1, 8, false, nullptr, nullptr},
    TypeTraits{TensorType::F64, "f64", 1, 8, false, nullptr, nullptr},
};

// lowbit's own formats (ids from kLowbitTypeBase; llama.cpp cannot read them). An id is stored in
// files: never renumber a row, append new ones. Offsets 0-35: integer groups, 112-127: per-row integer
// formats (both listed in formats/lowbit_int.h), 64-79: code books (formats/lowbit_codebook.h), 80-95:
// FP8 (formats/lowbit_fp8.h), 96: lb_w8_row, 97: lb_q4_0x16, 98: lb_q4_kx2, 99: lb_q8_0x16.
template <size_t... I>
constexpr std::array<TypeTraits, sizeof...(I)> lowbit_int_rows(std::index_sequence<I...>) {
  return {lowbit_int_traits<kLowbitIntTypes[I].format>(kLowbitIntTypes[I].type, kLowbitIntTypes[I].name)...};
}

constexpr std::array kOtherLowbitRows = {
    lowbit_codebook_traits<LowbitCodebookFormat{Book::NF4, Scale::F32}>(lowbit_type(64), "lb_nf4_g64"),
    lowbit_codebook_traits<LowbitCodebookFormat{Book::NF4, Scale::F16}>(lowbit_type(65), "lb_nf4_g64_f16"),
    lowbit_codebook_traits<LowbitCodebookFormat{Book::FP4, Scale::F32}>(lowbit_type(66), "lb_fp4_g64"),
    lowbit_codebook_traits<LowbitCodebookFormat{Book::FP4, Scale::F16}>(lowbit_type(67), "lb_fp4_g64_f16"),
    lowbit_codebook_traits<LowbitCodebookFormat{Book::NF4, Scale::DoubleQuantized, 16}>(lowbit_type(68), "lb_nf4_dq"),
    lowbit_fp8_traits<LowbitFp8Format::E4M3>(lowbit_type(80), "lb_fp8_e4m3_g32"),
    lowbit_fp8_traits<LowbitFp8Format::E5M2>(lowbit_type(81), "lb_fp8_e5m2_g32"),
    // 96: int8 per output channel for W8A8 (formats/lowbit_w8_row.h).
    TypeTraits{kW8RowType, "lb_w8_row", kW8RowBlock, sizeof(BlockW8Row), true, dequantize_row_w8_row,
               quantize_row_w8_row},
    // 97: Q4_0 interleaved 16 blocks at a time (formats/lowbit_q4_0x16.h).
    TypeTraits{kQ4_0x16Type, "lb_q4_0x16", kQ4_0x16Block, sizeof(BlockQ4_0x16), true, dequantize_row_q4_0x16,
               quantize_row_q4_0x16, quantize_row_q4_0x16_weighted},
    // 98: Q4_K, two super-blocks interleaved (formats/lowbit_q4_kx2.h).
    TypeTraits{kQ4_Kx2Type, "lb_q4_kx2", kQ4_Kx2Block, sizeof(BlockQ4_Kx2), true, dequantize_row_q4_kx2,
               quantize_row_q4_kx2, quantize_row_q4_kx2_weighted},
    // 99: Q8_0 interleaved 16 blocks at a time (formats/lowbit_q8_0x16.h).
    TypeTraits{kQ8_0x16Type, "lb_q8_0x16", kQ8_0x16Block, sizeof(BlockQ8_0x16), true, dequantize_row_q8_0x16,
               quantize_row_q8_0x16, quantize_row_q8_0x16_weighted},
};

template <size_t... N>
constexpr std::array<TypeTraits, (N + ...)> concatenate(const std::array<TypeTraits, N>&... parts) {
  std::array<TypeTraits, (N + ...)> all{};
  size_t next = 0;
  for (const auto& part : {std::span<const TypeTraits>(parts)...}) {
    for (const TypeTraits& row : part) all[next++] = row;
  }
  return all;
}

constexpr auto kTypeTable =
    concatenate(kGgmlRows, lowbit_int_rows(std::make_index_sequence<std::size(kLowbitIntTypes)>()), kOtherLowbitRows);

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

std::span<const TypeTraits> all_type_traits() { return kTypeTable; }

}  // namespace lowbit
