// Reading rows of a weight matrix of any type lowbit can dequantize (formats/type_traits.h).
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "formats/type_traits.h"

namespace lowbit {

// The type's converters, after checking that `tensor` can be read row by row: its type has a to_float,
// its row length is a whole number of blocks and its bytes hold rows() full rows. Throws lowbit::Error
// naming the tensor and the type otherwise.
const TypeTraits& readable_row_traits(const TensorView& tensor);

// dst[cols] = row `row` of `tensor` as floats. Throws lowbit::Error when the tensor cannot be read
// (see readable_row_traits) or the row is out of range.
void dequantize_row(const TensorView& tensor, int64_t row, float* dst);

}  // namespace lowbit
