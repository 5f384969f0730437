// The decode kernels against the scalar dot products (same activation quantization), at every phase of
// the rows against cache lines and with the rows at the very end of their buffer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/aligned_vector.h"
#include "core/cpu_features.h"
#include "formats/lowbit_int.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "formats/type_traits.h"
#include "kernels/dot_kernels.h"
#include "kernels/gemv_kernels.h"
#include "kernel_test_data.h"
#include "simd_levels.h"

namespace lowbit {
namespace test_gemv_kernels {

const TensorType kTypes[] = {TensorType::Q4_0,
                             TensorType::Q8_0,
                             TensorType::Q5_0,
                             TensorType::Q4_1,
                             TensorType::Q5_1,
                             TensorType::Q2_K,
                             TensorType::Q3_K,
                             TensorType::Q4_K,
                             TensorType::Q5_K,
                             TensorType::Q6_K,
                             kQ4_0x16Type,
                             kQ4_Kx2Type,
                             kQ8_0x16Type,
                             find_type_traits("lb_i4_sym_g32")->type,
                             find_type_traits("lb_i4_asym_g32")->type,
                             find_type_traits("lb_i4_asym_g64")->type,
                             find_type_traits("lb_i4_sym_g128")->type,
                             find_type_traits("lb_i4_asym_g128")->type,
                             find_type_traits("lb_i4_asym_row")->type,
                             // These need AVX-512 VBMI as well.
                             find_type_traits("lb_i2_sym_g32")->type,
                             find_type_traits("lb_i2_asym_g64")->type,
                             find_type_traits("lb_i3_sym_g32")->type,
                             find_type_traits("lb_i3_asym_g32")->type,
                             find_type_traits("lb_i3_asym_g64")->type,
                             find_type_traits("lb_i3_asym_g128")->type,
                             find_type_traits("lb_i3_asym_row")->type,
                             find_type_traits("lb_i5_asym_g32")->type,
                             find_type_traits("lb_i5_sym_g128")->type,
                             find_type_traits("lb_i6_asym_g32")->type,
                             find_type_traits("lb_i6_asym_g64")->type,
                             find_type_traits("lb_i6_sym_g128")->type};

// Whether `type` has a decode kernel at `level` on this CPU: every listed type at AVX-512, the lowbit
// formats other than 4 bits only with VBMI; lb_q4_0x16 and lb_q8_0x16 at AVX2 too.
bool expects_gemv(TensorType type, CpuLevel level) {
  const std::optional<LowbitIntFormat> format = lowbit_int_format(type);
  const bool needs_vbmi = format.has_value() && format->bits != 4;
  if (level == CpuLevel::avx2) return type == kQ4_0x16Type || type == kQ8_0x16Type;
  return level == CpuLevel::avx512 && (!needs_vbmi || cpu_features().avx512_vbmi);
}

const GemvLoads kLoads[] = {GemvLoads::aligned_lines, GemvLoads::block_loads};

std::vector<std::pair<CpuLevel, GemvLoads>> level_and_loads() {
  std::vector<std::pair<CpuLevel, GemvLoads>> pairs;
  for (CpuLevel level : simd_levels()) {
    for (GemvLoads loads : kLoads) pairs.emplace_back(level, loads);
  }
  return pairs;
}

class GemvKernelTest : public ::testing::TestWithParam<TensorType> {};

TEST_P(GemvKernelTest, TakesTheDotProductsActivationFormat) {
  const DotKernel* reference = find_dot_kernel(GetParam(), CpuLevel::scalar);
  ASSERT_NE(reference, nullptr);
  EXPECT_EQ(find_gemv_kernel(GetParam(), CpuLevel::scalar), nullptr);
  for (CpuLevel level : simd_levels()) {
    for (GemvLoads loads : kLoads) {
      if (const GemvKernel* gemv = find_gemv_kernel(GetParam(), level, loads)) {
        EXPECT_EQ(gemv->activation_type, reference->activation_type);
      }
    }
  }
}

TEST_P(GemvKernelTest, MatchesScalarDotAtEveryPhase) {
  const TensorType type = GetParam();
  const DotKernel& reference = *find_dot_kernel(type, CpuLevel::scalar);
  const TypeTraits& traits = type_traits(type);
  std::mt19937 rng(7);
  for (const auto& [level, loads] : level_and_loads()) {
    const GemvKernel* gemv = find_gemv_kernel(type, level, loads);
    ASSERT_EQ(gemv != nullptr, expects_gemv(type, level)) << cpu_level_name(level);
    if (gemv == nullptr) continue;
    // Most types read their blocks one way only: each kernel is checked once.
    if (loads != kLoads[0] && gemv == find_gemv_kernel(type, level, kLoads[0])) continue;
    for (int64_t cols : {gemv->column_step, 3 * gemv->column_step, int64_t{2048}, int64_t{5632}}) {
      if (cols % gemv->column_step != 0) continue;
      const size_t row_bytes = traits.row_bytes(cols);
      const std::vector<uint8_t> a = prepare_activations(reference, random_values(cols, rng), cols);
      GemvActivations prepared;
      gemv->prepare(a.data(), cols, prepared);
      for (int64_t rows : {1, 2, 3, 6, 11, 17}) {
        const std::vector<uint8_t> w = quantize_rows(type, rows, cols, rng);
        std::vector<float> expected(static_cast<size_t>(rows));
        for (int64_t r = 0; r < rows; ++r) expected[r] = reference.dot(cols, &w[r * row_bytes], a.data());
        // The rows at each allowed offset from a cache line, ending exactly at the end of their buffer (an
        // allocation of just the bytes needed: a sanitizer build reports any read past it).
        for (int64_t phase = 0; phase < 64; phase += gemv->alignment) {
          const size_t size = static_cast<size_t>(phase) + w.size();
          CacheLineVector<uint8_t> buffer(size);
          uint8_t* rows_at = buffer.data() + phase;
          std::memcpy(rows_at, w.data(), w.size());
          std::vector<float> y(static_cast<size_t>(rows));
          gemv->multiply(rows_at, row_bytes, rows, cols, prepared, y.data());
          for (int64_t r = 0; r < rows; ++r) {
            const double tolerance = 1e-5 * magnitude(type, reference, cols, &w[r * row_bytes], a.data()) + 1e-6;
            EXPECT_NEAR(y[r], expected[r], tolerance)
                << cpu_level_name(level) << " loads " << static_cast<int>(loads) << " cols " << cols << " rows " << rows
                << " row " << r << " phase " << phase;
          }
        }
      }
    }
  }
}

// The batched products, where a kernel has them, for every batch size up to two chunks of tokens: each
// token's outputs at its stride, against the scalar dot products.
TEST_P(GemvKernelTest, TokenBatchesMatchScalarDot) {
  const TensorType type = GetParam();
  const DotKernel& reference = *find_dot_kernel(type, CpuLevel::scalar);
  const TypeTraits& traits = type_traits(type);
  // Every decode kernel has batched products but Q4_0's and Q8_0's reading aligned lines.
  const bool reads_lines = type == TensorType::Q4_0 || type == TensorType::Q8_0;
  std::mt19937 rng(11);
  bool checked = false;
  for (const auto& [level, loads] : level_and_loads()) {
    const GemvKernel* gemv = find_gemv_kernel(type, level, loads);
    const bool batched = gemv != nullptr && gemv->multiply_tokens != nullptr;
    const bool expected =
        gemv != nullptr && !(reads_lines && loads == GemvLoads::aligned_lines);
    ASSERT_EQ(batched, expected) << cpu_level_name(level) << " loads " << static_cast<int>(loads);
    if (!batched || (loads != kLoads[0] && gemv == find_gemv_kernel(type, level, kLoads[0]))) continue;
    checked = true;
    const int64_t cols = 2 * gemv->column_step;
    const int64_t rows = 5;
    const int64_t y_stride = rows + 3;
    const size_t row_bytes = traits.row_bytes(cols);
    const std::vector<uint8_t> w = quantize_rows(type, rows, cols, rng);
    CacheLineVector<uint8_t> weights(w.size());  // exactly the rows: a sanitizer build reports reads past them
    std::memcpy(weights.data(), w.data(), w.size());
    for (int64_t n_tokens = 1; n_tokens <= 9; ++n_tokens) {
      std::vector<std::vector<uint8_t>> a;
      std::vector<GemvActivations> prepared(static_cast<size_t>(n_tokens));
      for (int64_t t = 0; t < n_tokens; ++t) {
        a.push_back(prepare_activations(reference, random_values(cols, rng), cols));
        gemv->prepare(a[t].data(), cols, prepared[t]);
      }
      std::vector<float> y(static_cast<size_t>(n_tokens * y_stride), -1.0f);
      gemv->multiply_tokens(weights.data(), row_bytes, rows, cols, prepared.data(), n_tokens, y.data(), y_stride);
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t r = 0; r < y_stride; ++r) {
          if (r >= rows) {
            EXPECT_EQ(y[t * y_stride + r], -1.0f) << "wrote past the rows, token " << t;
            continue;
          }
          const float expected = reference.dot(cols, &w[r * row_bytes], a[t].data());
          const double tolerance = 1e-5 * magnitude(type, reference, cols, &w[r * row_bytes], a[t].data()) + 1e-6;
          EXPECT_NEAR(y[t * y_stride + r], expected, tolerance)
              << cpu_level_name(level) << " tokens " << n_tokens << " token " << t << " row " << r;
        }
      }
    }
  }
  if (!checked) GTEST_SKIP() << "no batched products for this type on this CPU";
}

INSTANTIATE_TEST_SUITE_P(Types, GemvKernelTest, ::testing::ValuesIn(kTypes),
                         [](const auto& info) { return std::string(type_traits(info.param).name); });

}  // namespace test_gemv_kernels
}  // namespace lowbit
