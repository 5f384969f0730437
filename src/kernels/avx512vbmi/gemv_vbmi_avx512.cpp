// Compiled with AVX-512 F/BW/VL/VNNI/BF16 and VBMI (CMakeLists.txt); called only at CpuLevel::avx512 on a
// CPU with VBMI (kernels/gemv_kernels.cpp).
#include "kernels/x86/gcc_avx512_warnings.h"
#include "kernels/lowbit_int_kernels.h"
#include "kernels/x86/gemv_lowbit_int_vbmi_x86.h"

namespace lowbit {

const GemvKernel* find_gemv_kernel_avx512_vbmi(TensorType weight) {
  return find_lowbit_int_kernel(weight, []<LowbitIntFormat F>() -> const GemvKernel* {
    if constexpr (F.bits != 4 && F.bits <= 6 && 128 % F.group == 0) {
      return &LowbitIntGemv<F, PermutedCodes<F>>::kKernel;
    } else {
      return nullptr;
    }
  });
}

}  // namespace lowbit
