// Compiled with AVX-512 F/BW/VL/VNNI/BF16 (CMakeLists.txt); called only at CpuLevel::avx512.
#include "kernels/x86/gcc_avx512_warnings.h"
#include "kernels/lowbit_int_kernels.h"
#include "kernels/x86/gemv_k_x86.h"
#include "kernels/x86/gemv_legacy_x86.h"
#include "kernels/x86/gemv_lowbit_int_x86.h"
#include "kernels/x86/gemv_interleaved_x86.h"
#include "kernels/x86/gemv_x86.h"

namespace lowbit {

const GemvKernel* find_gemv_kernel_avx512(TensorType weight, GemvLoads loads) {
  const bool block_loads = loads == GemvLoads::block_loads;
  if (weight == kQ4_0x16Type) return &Q4_0x16Gemv::kKernel;
  if (weight == kQ4_Kx2Type) return &Q4_Kx2Gemv::kKernel;
  if (weight == kQ8_0x16Type) return &Q8_0x16Gemv::kKernel;
  switch (weight) {
    case TensorType::Q4_0: return block_loads ? &kQ4_0BlockLoadsGemv : &kQ4_0Gemv;
    case TensorType::Q8_0: return block_loads ? &kQ8_0BlockLoadsGemv : &kQ8_0Gemv;
    // Read by block loads on every CPU: no aligned-lines version written.
    case TensorType::Q5_0: return &kQ5_0Gemv;
    case TensorType::Q4_1: return &Q4_1Gemv::kKernel;
    case TensorType::Q5_1: return &Q5_1Gemv::kKernel;
    case TensorType::Q2_K: return &kQ2_KGemv;
    case TensorType::Q3_K: return &kQ3_KGemv;
    case TensorType::Q4_K: return &kQ4_KGemv;
    case TensorType::Q5_K: return &kQ5_KGemv;
    case TensorType::Q6_K: return &kQ6_KGemv;
    default:
      // lowbit's 4-bit formats; the other widths need VBMI (kernels/avx512vbmi/).
      return find_lowbit_int_kernel(weight, []<LowbitIntFormat F>() -> const GemvKernel* {
        if constexpr (F.bits == 4 && 128 % F.group == 0) {
          return &LowbitIntGemv<F, NibbleCodes<F>>::kKernel;
        } else {
          return nullptr;
        }
      });
  }
}

}  // namespace lowbit
