// Compiled with -mavx2 -mfma -mf16c (CMakeLists.txt); called only at CpuLevel::avx2.
#include "kernels/x86/vector_ops_x86.h"

namespace lowbit {

const VectorOps& vector_ops_avx2() { return kX86VectorOps; }

}  // namespace lowbit
