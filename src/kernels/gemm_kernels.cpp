#include "kernels/gemm_kernels.h"

namespace lowbit {

const GemmKernel* find_gemm_kernel(TensorType weight, CpuLevel level) {
  switch (level) {
    case CpuLevel::scalar: return nullptr;
    case CpuLevel::avx2: return find_gemm_kernel_avx2(weight);
    case CpuLevel::avx512: return find_gemm_kernel_avx512(weight);
  }
  return nullptr;
}

}  // namespace lowbit
