// lb_w8_row: int8 weights with one scale per output channel (row), the weight half of SmoothQuant's
// W8A8. The row's scale is absmax(row) / 127; it is stored in every 64-element block of the row (an FP32
// field), so that the format is an ordinary block type every generic path (row dequantization, the
// quantize pipeline, the error report) reads without a companion tensor. That costs 0.5 bit per weight
// (8.5 in all, as Q8_0) and keeps the kernels general: a block may carry any scale.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace lowbit {

inline constexpr int64_t kW8RowBlock = 64;

struct BlockW8Row {
  float d;                 // the row's scale: element j stands for d * qs[j]
  int8_t qs[kW8RowBlock];  // codes in [-127, 127]
};
static_assert(sizeof(BlockW8Row) == 68);

// Offset 96 of lowbit's ids (formats/lowbit_block_common.h).
inline constexpr TensorType kW8RowType = static_cast<TensorType>(kLowbitTypeBase + 96);

// One scale for all n elements (n a multiple of 64): absmax / 127, codes rounded to nearest (ties to
// even) and clamped to [-127, 127]. Called on a whole row, as the quantize pipeline does, the scale is
// the row's channel scale. Non-finite values are stored as 0 and do not count towards the maximum.
void quantize_row_w8_row(const float* src, void* dst, int64_t n);
void dequantize_row_w8_row(const void* src, float* dst, int64_t n);

}  // namespace lowbit
