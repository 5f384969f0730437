// Which SIMD instruction sets this CPU (and its OS) supports, and which kernel level to run. The
// library is compiled for baseline x86-64; only the per-ISA kernel files use wider instructions, and
// they run only when the level chosen here allows it.
#pragma once

#include <string>

namespace lowbit {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false;
  bool avx512_vnni = false, avx_vnni = false, avx512_bf16 = false;
  bool avx512_vbmi = false;  // byte permutes: an extra kernel set at the avx512 level, not a level of its own
  bool intel = false;  // an Intel core: where a kernel's best instruction mix differs by vendor
  // AMX tiles with 8-bit products, and the OS's permission to use them (Linux grants the tile state per
  // process on request): an extra GEMM kernel set at the avx512 level (kernels/gemm_kernels.h). The
  // environment variable LOWBIT_AMX=0 turns AMX off (both flags false), to compare with the vector kernels.
  bool amx_int8 = false;
  bool amx_bf16 = false;  // AMX tiles with BF16 products (kernels/float16_kernels.h), the same permission
};

// Detected once (cpuid, with the OS's register-state support), then cached. Throws lowbit::Error naming
// LOWBIT_AMX when its value is neither 0 nor 1.
const CpuFeatures& cpu_features();

// Kernel levels, each a superset of the one before:
//   avx2   = AVX2 + FMA + F16C
//   avx512 = avx2 + AVX-512 F/BW/VL/VNNI
enum class CpuLevel { scalar = 0, avx2 = 1, avx512 = 2 };

// The best level `features` supports.
CpuLevel supported_cpu_level(const CpuFeatures& features);

// The level the kernels use: the best this CPU supports, lowered by the environment variable
// LOWBIT_CPU=scalar|avx2|avx512 (a level above the CPU's is capped to it). Read once, then cached.
// Throws lowbit::Error naming the variable when its value is none of those.
CpuLevel active_cpu_level();

const char* cpu_level_name(CpuLevel level);

// The kernels this process runs: active_cpu_level()'s name, and at avx512 the extra sets this CPU has
// ("avx512+vbmi+amx"), so that a speed figure says what produced it.
std::string active_kernel_set();

// LOWBIT_CPU's value parsed; throws lowbit::Error for any other text.
CpuLevel parse_cpu_level(const char* text);

}  // namespace lowbit
