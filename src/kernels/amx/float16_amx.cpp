// Compiled with AVX-512 F/BW/VL/VNNI/BF16 and AMX tiles with BF16 products (CMakeLists.txt); called only
// where cpu_features() reports amx_bf16.
#include "kernels/x86/float16_amx_x86.h"

namespace lowbit {

const Float16Kernel* find_float16_gemm_amx(TensorType weight) {
  return weight == TensorType::BF16 && cpu_features().amx_bf16 ? &kBF16AmxGemm : nullptr;
}

}  // namespace lowbit
