#include "core/cpu_features.h"

#include <gtest/gtest.h>

namespace lowbit {
namespace test_cpu_features {

#if defined(__x86_64__) || defined(__i386__)
// cpu_features() reads cpuid itself; the compiler's runtime reads the same bits its own way, so the
// two must agree on every feature both know by name.
TEST(CpuFeatures, AgreesWithTheCompilersRuntimeCheck) {
  __builtin_cpu_init();
  const CpuFeatures& f = cpu_features();
  EXPECT_EQ(f.avx2, __builtin_cpu_supports("avx2") != 0);
  EXPECT_EQ(f.fma, __builtin_cpu_supports("fma") != 0);
  EXPECT_EQ(f.avx512f, __builtin_cpu_supports("avx512f") != 0);
  EXPECT_EQ(f.avx512bw, __builtin_cpu_supports("avx512bw") != 0);
  EXPECT_EQ(f.avx512vl, __builtin_cpu_supports("avx512vl") != 0);
  EXPECT_EQ(f.avx512_vnni, __builtin_cpu_supports("avx512vnni") != 0);
  EXPECT_EQ(f.avx512_vbmi, __builtin_cpu_supports("avx512vbmi") != 0);
  EXPECT_EQ(f.avx512_bf16, __builtin_cpu_supports("avx512bf16") != 0);
  EXPECT_EQ(f.intel, __builtin_cpu_is("intel") != 0);
#if !defined(__clang__)
  // Names Clang 14's list lacks.
  EXPECT_EQ(f.f16c, __builtin_cpu_supports("f16c") != 0);
  EXPECT_EQ(f.avx_vnni, __builtin_cpu_supports("avxvnni") != 0);
#endif
}
#endif

}  // namespace test_cpu_features
}  // namespace lowbit
