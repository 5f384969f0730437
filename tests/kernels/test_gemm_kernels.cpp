// The prefill kernels (kernels/gemm_kernels.h) at every SIMD level this CPU runs against the scalar
// one-token dot products on the same quantized activations, on shapes that leave remainders everywhere:
// rows not a multiple of the micro-tile or the tile, tokens not a multiple of the token block, one block
// of columns, and more columns than one chunk.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "formats/lowbit_int.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "formats/type_traits.h"
#include "kernels/dot_kernels.h"
#include "kernels/gemm_kernels.h"
#include "kernel_test_data.h"
#include "simd_levels.h"

namespace lowbit {
namespace test_gemm_kernels {

// The interleaved layouts, which have no vector GEMM kernel at AVX-512: there their decode kernels'
// batched products serve every batch (tests/kernels/test_gemv_kernels.cpp).
const TensorType kInterleavedTypes[] = {kQ4_0x16Type, kQ4_Kx2Type, kQ8_0x16Type};

// ggml's integer types, every lowbit integer type, and the interleaved layouts.
const std::vector<TensorType> kIntegerTypes = [] {
  std::vector<TensorType> types = {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0, TensorType::Q4_1,
                                   TensorType::Q5_1, TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K,
                                   TensorType::Q5_K, TensorType::Q6_K, kQ4_0x16Type, kQ4_Kx2Type, kQ8_0x16Type};
  for (const LowbitIntType& entry : kLowbitIntTypes) types.push_back(entry.type);
  return types;
}();

bool is_interleaved(TensorType type) {
  return std::ranges::find(kInterleavedTypes, type) != std::end(kInterleavedTypes);
}

// The SIMD levels this CPU runs, at avx512 with each kind of GemmUnits it has.
std::vector<std::pair<CpuLevel, GemmUnits>> level_and_units() {
  std::vector<std::pair<CpuLevel, GemmUnits>> out;
  for (CpuLevel level : simd_levels()) out.emplace_back(level, GemmUnits::vectors);
  if (cpu_features().amx_int8) out.emplace_back(CpuLevel::avx512, GemmUnits::amx);
  return out;
}

struct Shape {
  int64_t rows, blocks, tokens;
};

class GemmKernelTest : public ::testing::TestWithParam<TensorType> {};

TEST_P(GemmKernelTest, MatchesScalarDotProductsOnAwkwardShapes) {
  const TensorType type = GetParam();
  const TypeTraits& traits = type_traits(type);
  const DotKernel& reference = *find_dot_kernel_scalar(type);
  const TypeTraits& activation_traits = type_traits(reference.activation_type);
  std::mt19937 rng(77);
  // blocks * block size: one block; more than a chunk of columns (kChunkCols = 4096 in x86/gemm_x86.h);
  // 37 rows: more than one tile of kTileRows = 36; odd row counts at matmul's GEMM token counts (16 and up).
  for (Shape shape : {Shape{1, 1, 2}, Shape{3, 1, 5}, Shape{37, 3, 4}, Shape{9, 4096 / traits.block_size + 3, 9},
                      Shape{5, 9, 1}, Shape{17, 3, 16}, Shape{13, 5, 17}, Shape{7, 2, 33}}) {
    const int64_t cols = shape.blocks * traits.block_size;
    SCOPED_TRACE(::testing::Message() << shape.rows << "x" << cols << " tokens " << shape.tokens);
    const std::vector<uint8_t> weights = quantize_rows(type, shape.rows, cols, rng);
    const std::vector<float> x = random_rows(shape.tokens, cols, rng);
    const size_t a_bytes = activation_traits.row_bytes(cols);
    std::vector<uint8_t> quantized(static_cast<size_t>(shape.tokens) * a_bytes);
    for (int64_t t = 0; t < shape.tokens; ++t) {
      reference.quantize_activation(&x[t * cols], &quantized[t * a_bytes], cols);
    }

    // expected[t][r] and the sum of |terms| that scales float rounding differences.
    std::vector<float> expected(static_cast<size_t>(shape.tokens * shape.rows)), magnitude(expected.size());
    std::vector<float> wf(static_cast<size_t>(cols)), af(static_cast<size_t>(cols));
    for (int64_t r = 0; r < shape.rows; ++r) {
      const uint8_t* row = &weights[r * traits.row_bytes(cols)];
      traits.to_float(row, wf.data(), cols);
      for (int64_t t = 0; t < shape.tokens; ++t) {
        expected[t * shape.rows + r] = reference.dot(cols, row, &quantized[t * a_bytes]);
        activation_traits.to_float(&quantized[t * a_bytes], af.data(), cols);
        double sum = 0.0;
        for (int64_t c = 0; c < cols; ++c) sum += std::fabs(static_cast<double>(wf[c]) * af[c]);
        magnitude[t * shape.rows + r] = static_cast<float>(sum);
      }
    }
    for (const auto& [level, units] : level_and_units()) {
      const GemmKernel* gemm = find_gemm_kernel(type, level, units);
      if (gemm == nullptr) continue;  // 8-bit codes at AVX2, the interleaved layouts' vectors at AVX-512
      SCOPED_TRACE(::testing::Message() << cpu_level_name(level) << (units == GemmUnits::amx ? " amx" : ""));
      ASSERT_EQ(gemm->activation_type, reference.activation_type);
      GemmActivations prepared;
      gemm->prepare(quantized.data(), a_bytes, shape.tokens, cols, prepared);
      // A wider output than the matrix: the columns past the rows must stay untouched.
      const int64_t y_stride = shape.rows + 3;
      std::vector<float> y(static_cast<size_t>(shape.tokens * y_stride), kUntouched);
      gemm->multiply(weights.data(), traits.row_bytes(cols), shape.rows, cols, prepared, shape.tokens, y.data(),
                     y_stride);
      check_strided_output(y, shape.tokens, shape.rows, y_stride, [&](int64_t t, int64_t r, float got) {
        const float want = expected[t * shape.rows + r];
        ASSERT_NEAR(got, want, 2e-5f * magnitude[t * shape.rows + r] + 1e-6f) << "row " << r << " token " << t;
      });
    }
  }
}

TEST(GemmKernels, Avx512VectorsCoverEveryIntegerTypeButTheInterleavedAndScalarNone) {
  for (TensorType type : kIntegerTypes) {
    EXPECT_EQ(find_gemm_kernel(type, CpuLevel::avx512, GemmUnits::vectors) != nullptr, !is_interleaved(type))
        << type_traits(type).name;
    EXPECT_EQ(find_gemm_kernel(type, CpuLevel::scalar), nullptr) << type_traits(type).name;
  }
  EXPECT_EQ(find_gemm_kernel(kQ4_0x16Type, CpuLevel::avx2), nullptr);  // its batched decode products serve
  EXPECT_NE(find_gemm_kernel(kQ4_Kx2Type, CpuLevel::avx2), nullptr);
  EXPECT_EQ(find_gemm_kernel(kQ8_0x16Type, CpuLevel::avx2), nullptr);
  EXPECT_EQ(find_gemm_kernel(TensorType::F32, CpuLevel::avx512, GemmUnits::vectors), nullptr);
}

TEST(GemmKernels, AmxCoversEveryIntegerType) {
  if (!cpu_features().amx_int8) GTEST_SKIP() << "no AMX on this CPU";
  EXPECT_EQ(preferred_gemm_units(), GemmUnits::amx);
  for (TensorType type : kIntegerTypes) {
    const GemmKernel* amx = find_gemm_kernel(type, CpuLevel::avx512, GemmUnits::amx);
    ASSERT_NE(amx, nullptr) << type_traits(type).name;
    EXPECT_NE(amx, find_gemm_kernel(type, CpuLevel::avx512, GemmUnits::vectors)) << type_traits(type).name;
  }
  EXPECT_EQ(find_gemm_kernel(TensorType::F32, CpuLevel::avx512, GemmUnits::amx), nullptr);
}

// At AVX2 the u8 x s8 products go through maddubs, which would saturate on codes up to 255.
TEST(GemmKernels, Avx2CoversLowbitIntTypesBelow8Bits) {
  for (const LowbitIntType& entry : kLowbitIntTypes) {
    EXPECT_EQ(find_gemm_kernel(entry.type, CpuLevel::avx2) != nullptr, entry.format.bits < 8) << entry.name;
  }
}

INSTANTIATE_TEST_SUITE_P(IntegerTypes, GemmKernelTest, ::testing::ValuesIn(kIntegerTypes),
                         [](const auto& info) { return std::string(type_traits(info.param).name); });

}  // namespace test_gemm_kernels
}  // namespace lowbit
