// Compiled with -mavx2 -mfma -mf16c (CMakeLists.txt); called only at CpuLevel::avx2.
#include "kernels/x86/dot_x86.h"

namespace lowbit {

const DotKernel* find_dot_kernel_avx2(TensorType weight) { return find_x86_dot_kernel(weight); }

}  // namespace lowbit
