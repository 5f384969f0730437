// Compiled with AVX-512 F/BW/VL/VNNI/BF16 (CMakeLists.txt); called only at CpuLevel::avx512.
#include "kernels/x86/vector_ops_x86.h"

namespace lowbit {

const VectorOps& vector_ops_avx512() { return kX86VectorOps; }

}  // namespace lowbit
