#include "kernels/float16_kernels.h"

namespace lowbit {

Bf16Gemm preferred_bf16_gemm() {
  const CpuFeatures& features = cpu_features();
  if (!features.avx512_bf16) return Bf16Gemm::widened;
  if (features.amx_bf16) return Bf16Gemm::amx_tiles;
  return features.intel ? Bf16Gemm::rounded_widened : Bf16Gemm::bf16_pairs;
}

const Float16Kernel* find_float16_gemm(TensorType weight, CpuLevel level) {
  if (level != CpuLevel::avx512) return nullptr;
  return find_float16_gemm_avx512(weight, preferred_bf16_gemm());
}

const Float16Kernel* find_float16_gemv(TensorType weight, CpuLevel level) {
  if (level != CpuLevel::avx512 || (weight == TensorType::BF16 && !cpu_features().avx512_bf16)) return nullptr;
  return find_float16_gemv_avx512(weight);
}

bool matmul_rounds_activations_to_bf16(TensorType weight, CpuLevel level) {
  return weight == TensorType::BF16 && find_float16_gemv(weight, level) != nullptr;
}

}  // namespace lowbit
