// Compiled with -mavx2 -mfma -mf16c (CMakeLists.txt); called only at CpuLevel::avx2.
#include "kernels/x86/w8a8_x86.h"

namespace lowbit {

const W8A8Kernel& w8a8_kernel_avx2() { return kX86W8A8; }
const DotKernel& w8_row_f32_kernel_avx2() { return kX86W8F32; }

}  // namespace lowbit
