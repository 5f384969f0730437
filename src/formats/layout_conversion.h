// A lossless change of a tensor's layout: the same values, the same bytes per row, another type whose
// layout a kernel reads faster (formats/lowbit_q4_0x16.h). Rows must be whole blocks of both types.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace lowbit {

struct LayoutConversion {
  TensorType from, to;
  // n elements of `from` at src -> `to` at dst (not overlapping).
  void (*convert)(const void* src, void* dst, int64_t n);
};

}  // namespace lowbit
