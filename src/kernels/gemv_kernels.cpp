#include "kernels/gemv_kernels.h"

namespace lowbit {

GemvLoads preferred_gemv_loads() {
  return cpu_features().intel ? GemvLoads::block_loads : GemvLoads::aligned_lines;
}

const GemvKernel* find_gemv_kernel(TensorType weight, CpuLevel level, GemvLoads loads) {
  if (level == CpuLevel::avx2) return find_gemv_kernel_avx2(weight);
  if (level != CpuLevel::avx512) return nullptr;
  if (const GemvKernel* kernel = find_gemv_kernel_avx512(weight, loads)) return kernel;
  return cpu_features().avx512_vbmi ? find_gemv_kernel_avx512_vbmi(weight) : nullptr;
}

}  // namespace lowbit
