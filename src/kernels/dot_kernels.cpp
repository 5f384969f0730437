#include "kernels/dot_kernels.h"

#include "formats/lowbit_w8_row.h"
#include "kernels/w8a8_kernels.h"

namespace lowbit {

const DotKernel* find_dot_kernel(TensorType weight, CpuLevel level) {
  if (weight == kW8RowType) return &w8_row_f32_kernel(level);
  switch (level) {
    case CpuLevel::scalar: return find_dot_kernel_scalar(weight);
    case CpuLevel::avx2: return find_dot_kernel_avx2(weight);
    case CpuLevel::avx512: return find_dot_kernel_avx512(weight);
  }
  return nullptr;
}

}  // namespace lowbit
