// One row per tensor type: its name, block geometry and converters. A new format adds one file in
// src/formats/ and one row in the table in type_traits.cpp; nothing else switches on the type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/tensor.h"

namespace lowbit {

struct TypeTraits {
  TensorType type;
  const char* name;      // as ggml prints it: "f32", "q4_0", "q4_K", "bf16"
  int64_t block_size;    // elements per block (1 for plain floats)
  size_t block_bytes;    // bytes per block
  bool is_quantized;
  // Dequantize n elements (n a multiple of block_size) from src to dst. nullptr: lowbit cannot read
  // this type's values yet (the table still knows its size, so files holding it can be checked).
  void (*to_float)(const void* src, float* dst, int64_t n);
  // Quantize n elements (n a multiple of block_size); nullptr where lowbit cannot write the type yet.
  void (*from_float)(const float* src, void* dst, int64_t n);
  // Quantize n elements (n a multiple of block_size) choosing the values that minimize
  // sum_i importance[i] * (src[i] - dequantized[i])^2. importance[0..n) >= 0 holds one weight per
  // element of the row, typically the mean square activation of that element's input channel from
  // calibration; all-zero importance is allowed. Per block it is never worse on that error than
  // from_float (formats/weighted_search.h). nullptr where the type has no weighted quantizer
  // (callers then use from_float).
  void (*from_float_weighted)(const float* src, const float* importance, void* dst, int64_t n) = nullptr;

  double bits_per_weight() const { return 8.0 * static_cast<double>(block_bytes) / static_cast<double>(block_size); }
  // Bytes of a row of n elements; the caller has checked n % block_size == 0.
  size_t row_bytes(int64_t n) const { return static_cast<size_t>(n / block_size) * block_bytes; }
};

// nullptr for an id no table row has.
const TypeTraits* find_type_traits(uint32_t type_id);
const TypeTraits* find_type_traits(std::string_view name);  // case-insensitive
const TypeTraits& type_traits(TensorType type);              // throws lowbit::Error for an unknown type
std::span<const TypeTraits> all_type_traits();               // every row, in table order

}  // namespace lowbit
