// The SIMD levels this CPU runs, each tested against the scalar reference.
#pragma once

#include <vector>

#include "core/cpu_features.h"

namespace lowbit {

inline std::vector<CpuLevel> simd_levels() {
  std::vector<CpuLevel> levels;
  const CpuLevel best = supported_cpu_level(cpu_features());
  if (best >= CpuLevel::avx2) levels.push_back(CpuLevel::avx2);
  if (best >= CpuLevel::avx512) levels.push_back(CpuLevel::avx512);
  return levels;
}

}  // namespace lowbit
