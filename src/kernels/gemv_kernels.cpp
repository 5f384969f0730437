#include "kernels/gemv_kernels.h"

namespace lowbit {

GemvLoads preferred_gemv_loads() {
  return cpu_features().intel ? GemvLoads::block_loads : GemvLoads::aligned_lines;
}

const GemvKernel* find_gemv_kernel(TensorType weight, CpuLevel level, GemvLoads loads) {
  return level == CpuLevel::avx512 ? find_gemv_kernel_avx512(weight, loads) : nullptr;
}

}  // namespace lowbit
