// Compiled with AVX-512 F/BW/VL/VNNI/BF16 (CMakeLists.txt); called only at CpuLevel::avx512, the BF16-pair
// kernels only where cpu_features().avx512_bf16.
#include "kernels/x86/float16_x86.h"

namespace lowbit {

const Float16Kernel* find_float16_gemm_avx512(TensorType weight, Bf16Gemm bf16) {
  switch (weight) {
    case TensorType::F16: return &kF16Gemm;
    case TensorType::BF16:
      switch (bf16) {
        case Bf16Gemm::widened: return &kBF16FmaGemm;
        case Bf16Gemm::rounded_widened: return &kBF16RoundedFmaGemm;
        case Bf16Gemm::bf16_pairs: return &kBF16DotGemm;
        case Bf16Gemm::amx_tiles: return find_float16_gemm_amx(weight);
      }
      return nullptr;
    default: return nullptr;
  }
}

const Float16Kernel* find_float16_gemv_avx512(TensorType weight) {
  switch (weight) {
    case TensorType::F16: return &kF16Gemv;
    case TensorType::BF16: return &kBF16DotGemv;
    default: return nullptr;
  }
}

}  // namespace lowbit
