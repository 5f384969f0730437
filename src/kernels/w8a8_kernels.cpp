#include "kernels/w8a8_kernels.h"

namespace lowbit {

const W8A8Kernel& find_w8a8_kernel(CpuLevel level) {
  switch (level) {
    case CpuLevel::avx2: return w8a8_kernel_avx2();
    case CpuLevel::avx512: return w8a8_kernel_avx512();
    case CpuLevel::scalar: break;
  }
  return w8a8_kernel_scalar();
}

const DotKernel& w8_row_f32_kernel(CpuLevel level) {
  switch (level) {
    case CpuLevel::avx2: return w8_row_f32_kernel_avx2();
    case CpuLevel::avx512: return w8_row_f32_kernel_avx512();
    case CpuLevel::scalar: break;
  }
  return w8_row_f32_kernel_scalar();
}

}  // namespace lowbit
