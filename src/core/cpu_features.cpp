#include "core/cpu_features.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
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

#if defined(__x86_64__) || defined(__i386__)
struct CpuidRegisters {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegisters cpuid(unsigned leaf, unsigned subleaf) {
  CpuidRegisters r;
  if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) return {};
  return r;
}

bool bit(unsigned reg, int index) { return (reg >> index) & 1u; }

// The register state the OS saves on a context switch (XCR0): a wider register file is usable only if
// its state is in it.
unsigned long long os_saved_state() {
  unsigned eax = 0, edx = 0;
  __asm__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

// Read from cpuid directly (Intel SDM vol. 2, CPUID; the same bits on AMD) rather than through
// __builtin_cpu_supports, whose list of names differs between GCC and Clang versions.
CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  const CpuidRegisters vendor = cpuid(0, 0);
  f.intel = vendor.ebx == 0x756e6547 && vendor.edx == 0x49656e69 && vendor.ecx == 0x6c65746e;  // "GenuineIntel"
  const CpuidRegisters leaf1 = cpuid(1, 0);
  const bool os_xsave = bit(leaf1.ecx, 27);
  const unsigned long long saved = os_xsave ? os_saved_state() : 0;
  const bool avx_state = (saved & 0x6) == 0x6;              // SSE and the upper halves of YMM
  const bool avx512_state = avx_state && (saved & 0xe0) == 0xe0;  // opmasks and ZMM
  const bool amx_state = (saved & 0x60000) == 0x60000;      // tile configuration and tile data
  const bool avx = avx_state && bit(leaf1.ecx, 28);
  f.fma = avx && bit(leaf1.ecx, 12);
  f.f16c = avx && bit(leaf1.ecx, 29);
  const unsigned max_leaf = vendor.eax;
  const CpuidRegisters leaf7 = max_leaf >= 7 ? cpuid(7, 0) : CpuidRegisters{};
  const CpuidRegisters leaf7_1 = max_leaf >= 7 && leaf7.eax >= 1 ? cpuid(7, 1) : CpuidRegisters{};
  f.avx2 = avx && bit(leaf7.ebx, 5);
  f.avx_vnni = avx && bit(leaf7_1.eax, 4);
  f.avx512f = avx512_state && bit(leaf7.ebx, 16);
  f.avx512bw = f.avx512f && bit(leaf7.ebx, 30);
  f.avx512vl = f.avx512f && bit(leaf7.ebx, 31);
  f.avx512_vbmi = f.avx512f && bit(leaf7.ecx, 1);
  f.avx512_vnni = f.avx512f && bit(leaf7.ecx, 11);
  f.avx512_bf16 = f.avx512f && bit(leaf7_1.eax, 5);
  // The variable is checked on every CPU, so that a bad value is an error wherever it is set.
  const bool allowed = amx_allowed();
  const bool amx_tiles = allowed && amx_state && bit(leaf7.edx, 24) && request_amx_permission();
  f.amx_int8 = amx_tiles && bit(leaf7.edx, 25);
  f.amx_bf16 = amx_tiles && bit(leaf7.edx, 22);
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
