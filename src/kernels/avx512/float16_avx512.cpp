// Compiled with AVX-512 F/BW/VL/VNNI/BF16 (CMakeLists.txt); called only at CpuLevel::avx512, the BF16-pair
// kernels only where cpu_features().avx512_bf16.
#include "kernels/x86/float16_x86.h"

namespace lowbit {

const Float16Kernel* find_float16_gemm_avx512(TensorType weight, bool bf16_dot) {
  switch (weight) {
    case TensorType::F16: return &kF16Gemm;
    case TensorType::BF16: return bf16_dot ? &kBF16DotGemm : &kBF16FmaGemm;
    default: return nullptr;
  }
}

const Float16Kernel* find_float16_gemv_avx512(TensorType weight) {
  return weight == TensorType::BF16 ? &kBF16DotGemv : nullptr;
}

}  // namespace lowbit
