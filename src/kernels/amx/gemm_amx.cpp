// Compiled with AVX-512 F/BW/VL/VNNI/BF16 and AMX tiles with int8 products (CMakeLists.txt); called only
// where cpu_features() reports amx_int8.
#include "kernels/x86/gemm_amx_x86.h"

namespace lowbit {

const GemmKernel* find_gemm_kernel_amx(TensorType weight) { return find_amx_gemm_kernel(weight); }

}  // namespace lowbit
