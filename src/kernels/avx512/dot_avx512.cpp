// Compiled with AVX-512 F/BW/VL/VNNI/BF16 (CMakeLists.txt); called only at CpuLevel::avx512.
#include "kernels/x86/gcc_avx512_warnings.h"
#include "kernels/x86/dot_x86.h"

namespace lowbit {

const DotKernel* find_dot_kernel_avx512(TensorType weight) { return find_x86_dot_kernel(weight); }

}  // namespace lowbit
