// Compiled with -mavx2 -mfma -mf16c (CMakeLists.txt); called only at CpuLevel::avx2.
#include "kernels/x86/gemm_x86.h"

namespace lowbit {

const GemmKernel* find_gemm_kernel_avx2(TensorType weight) { return find_x86_gemm_kernel(weight); }

}  // namespace lowbit
