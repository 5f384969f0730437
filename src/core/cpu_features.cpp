#include "core/cpu_features.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "core/error.h"

namespace lowbit {
namespace {

// Linux keeps the AMX tile data out of a process's register state until the process asks for it
// (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA, Linux 5.16 and later); a tile instruction
// before that faults.
bool request_amx_permission() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  constexpr int kRequestPermission = 0x1023;  // ARCH_REQ_XCOMP_PERM
  constexpr int kTileData = 18;               // XFEATURE_XTILEDATA
  return syscall(SYS_arch_prctl, kRequestPermission, kTileData) == 0;
#else
  return false;
#endif
}

// LOWBIT_AMX: unset, empty or 1 allows AMX, 0 turns it off.
bool amx_allowed() {
  const char* value = std::getenv("LOWBIT_AMX");
  if (value == nullptr || *value == '\0' || std::string_view(value) == "1") return true;
  if (std::string_view(value) == "0") return false;
  throw_error("LOWBIT_AMX={}: expected 0 or 1", value);
}

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  // libgcc's checks include the OS's XSAVE state (xgetbv), so a feature reported here is usable.
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.f16c = __builtin_cpu_supports("f16c");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512_vnni = __builtin_cpu_supports("avx512vnni");
  f.avx_vnni = __builtin_cpu_supports("avxvnni");
  f.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
  f.avx512_vbmi = __builtin_cpu_supports("avx512vbmi");
  f.intel = __builtin_cpu_is("intel");
  // The variable is checked on every CPU, so that a bad value is an error wherever it is set.
  const bool allowed = amx_allowed();
  const bool amx_tiles = allowed && __builtin_cpu_supports("amx-tile") && request_amx_permission();
  f.amx_int8 = amx_tiles && __builtin_cpu_supports("amx-int8");
  f.amx_bf16 = amx_tiles && __builtin_cpu_supports("amx-bf16");
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect_cpu_features();
  return features;
}

CpuLevel supported_cpu_level(const CpuFeatures& f) {
  if (!(f.avx2 && f.fma && f.f16c)) return CpuLevel::scalar;
  if (!(f.avx512f && f.avx512bw && f.avx512vl && f.avx512_vnni)) return CpuLevel::avx2;
  return CpuLevel::avx512;
}

const char* cpu_level_name(CpuLevel level) {
  switch (level) {
    case CpuLevel::scalar: return "scalar";
    case CpuLevel::avx2: return "avx2";
    case CpuLevel::avx512: return "avx512";
  }
  return "unknown";
}

std::string active_kernel_set() {
  const CpuLevel level = active_cpu_level();
  std::string name = cpu_level_name(level);
  if (level == CpuLevel::avx512) {
    if (cpu_features().avx512_vbmi) name += "+vbmi";
    if (cpu_features().amx_int8) name += "+amx";
  }
  return name;
}

CpuLevel parse_cpu_level(const char* text) {
  const std::string_view value(text);
  for (CpuLevel level : {CpuLevel::scalar, CpuLevel::avx2, CpuLevel::avx512}) {
    if (value == cpu_level_name(level)) return level;
  }
  throw_error("LOWBIT_CPU={}: expected scalar, avx2 or avx512", value);
}

CpuLevel active_cpu_level() {
  static const CpuLevel level = [] {
    const CpuLevel best = supported_cpu_level(cpu_features());
    const char* requested = std::getenv("LOWBIT_CPU");
    if (requested == nullptr || *requested == '\0') return best;
    return std::min(best, parse_cpu_level(requested));
  }();
  return level;
}

}  // namespace lowbit
