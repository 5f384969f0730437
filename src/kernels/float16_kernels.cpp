#include "kernels/float16_kernels.h"

namespace lowbit {

const Float16Kernel* find_float16_gemm(TensorType weight, CpuLevel level) {
  if (level != CpuLevel::avx512) return nullptr;
  return find_float16_gemm_avx512(weight, cpu_features().avx512_bf16);
}

const Float16Kernel* find_float16_gemv(TensorType weight, CpuLevel level) {
  if (level != CpuLevel::avx512 || !cpu_features().avx512_bf16) return nullptr;
  return find_float16_gemv_avx512(weight);
}

bool matmul_rounds_activations_to_bf16(TensorType weight, CpuLevel level) {
  return weight == TensorType::BF16 && find_float16_gemv(weight, level) != nullptr;
}

}  // namespace lowbit
