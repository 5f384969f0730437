#include "kernels/gemm_kernels.h"

namespace lowbit {

GemmUnits preferred_gemm_units() { return cpu_features().amx_int8 ? GemmUnits::amx : GemmUnits::vectors; }

const GemmKernel* find_gemm_kernel(TensorType weight, CpuLevel level, GemmUnits units) {
  switch (level) {
    case CpuLevel::scalar: return nullptr;
    case CpuLevel::avx2: return find_gemm_kernel_avx2(weight);
    case CpuLevel::avx512:
      if (units == GemmUnits::amx && cpu_features().amx_int8) {
        if (const GemmKernel* kernel = find_gemm_kernel_amx(weight)) return kernel;
      }
      return find_gemm_kernel_avx512(weight);
  }
  return nullptr;
}

}  // namespace lowbit
