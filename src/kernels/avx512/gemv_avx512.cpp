// Compiled with AVX-512 F/BW/VL/VNNI/BF16 (CMakeLists.txt); called only at CpuLevel::avx512.
#include "kernels/x86/gemv_x86.h"

namespace lowbit {

const GemvKernel* find_gemv_kernel_avx512(TensorType weight) { return find_x86_gemv_kernel(weight); }

}  // namespace lowbit
