#include "kernels/rows.h"

#include "core/error.h"

namespace lowbit {

const TypeTraits& readable_row_traits(const TensorView& tensor) {
  const TypeTraits& traits = type_traits(tensor.type);
  if (traits.to_float == nullptr) {
    throw_error("tensor {}: type {} cannot be dequantized by this build", tensor.name, traits.name);
  }
  const int64_t cols = tensor.cols();
  if (cols <= 0 || tensor.rows() <= 0) throw_error("tensor {}: empty shape", tensor.name);
  if (cols % traits.block_size != 0) {
    throw_error("tensor {}: row length {} is not a multiple of the {} block size {}", tensor.name, cols, traits.name,
                traits.block_size);
  }
  // rows * row_bytes cannot overflow here: both come from a tensor whose bytes were checked against a file.
  const size_t needed = static_cast<size_t>(tensor.rows()) * traits.row_bytes(cols);
  if (tensor.data == nullptr || tensor.bytes < needed) {
    throw_error("tensor {}: holds {} bytes, its shape needs {}", tensor.name, tensor.bytes, needed);
  }
  return traits;
}

void dequantize_row(const TensorView& tensor, int64_t row, float* dst) {
  const TypeTraits& traits = readable_row_traits(tensor);
  if (row < 0 || row >= tensor.rows()) {
    throw_error("tensor {}: row {} out of range (rows: {})", tensor.name, row, tensor.rows());
  }
  const size_t row_bytes = traits.row_bytes(tensor.cols());
  traits.to_float(static_cast<const uint8_t*>(tensor.data) + static_cast<size_t>(row) * row_bytes, dst, tensor.cols());
}

}  // namespace lowbit
