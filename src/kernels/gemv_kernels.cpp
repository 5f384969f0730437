#include "kernels/gemv_kernels.h"

namespace lowbit {

const GemvKernel* find_gemv_kernel(TensorType weight, CpuLevel level) {
  return level == CpuLevel::avx512 ? find_gemv_kernel_avx512(weight) : nullptr;
}

}  // namespace lowbit
