// The SIMD dot products against the scalar reference (same activation quantization), and the packed
// matrix product against the F32 product of the dequantized weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/half.h"
#include "formats/lowbit_int.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "formats/type_traits.h"
#include "kernels/dot_kernels.h"
#include "kernels/float16_kernels.h"
#include "kernels/matmul.h"
#include "kernels/rows.h"
#include "kernel_test_data.h"
#include "simd_levels.h"

namespace lowbit {
namespace test_dot_kernels {

// ggml's integer and 16-bit float types, every lowbit integer type, and the interleaved layouts.
const std::vector<TensorType> kFastTypes = [] {
  std::vector<TensorType> types = {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0, TensorType::Q4_1,
                                   TensorType::Q5_1, TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K,
                                   TensorType::Q5_K, TensorType::Q6_K, TensorType::F16,  TensorType::BF16,
                                   kQ4_0x16Type,     kQ4_Kx2Type,      kQ8_0x16Type};
  for (const LowbitIntType& entry : kLowbitIntTypes) types.push_back(entry.type);
  return types;
}();

class DotKernelTest : public ::testing::TestWithParam<TensorType> {};

// x as matmul multiplies it with `type` weights: rounded to BF16 where it does so (float16_kernels.h).
std::vector<float> as_multiplied(TensorType type, std::vector<float> x) {
  if (matmul_rounds_activations_to_bf16(type, active_cpu_level())) {
    for (float& v : x) v = bf16_to_fp32(fp32_to_bf16(v));
  }
  return x;
}

TEST_P(DotKernelTest, ScalarReferenceExistsForEverySimdKernel) {
  ASSERT_NE(find_dot_kernel(GetParam(), CpuLevel::scalar), nullptr);
  for (CpuLevel level : {CpuLevel::avx2, CpuLevel::avx512}) {
    const DotKernel* simd = find_dot_kernel(GetParam(), level);
    if (simd == nullptr) continue;
    EXPECT_EQ(simd->activation_type, find_dot_kernel(GetParam(), CpuLevel::scalar)->activation_type);
  }
}

TEST_P(DotKernelTest, SimdMatchesScalarReference) {
  const TensorType type = GetParam();
  const int64_t block = type_traits(type).block_size == 1 ? 32 : type_traits(type).block_size;
  const DotKernel& reference = *find_dot_kernel(type, CpuLevel::scalar);
  std::mt19937 rng(7);
  for (CpuLevel level : simd_levels()) {
    const DotKernel* simd = find_dot_kernel(type, level);
    if (simd == nullptr) continue;
    // One block, a few, many, an odd number past 4096; float types also lengths that leave a tail for
    // every step size.
    std::vector<int64_t> lengths = {block, 3 * block, 16 * block, 4096 + block};
    if (type_traits(type).block_size == 1) lengths.insert(lengths.end(), {1, 7, 9, 33, 41, 1000});
    for (int64_t cols : lengths) {
      SCOPED_TRACE(::testing::Message() << cpu_level_name(level) << " cols " << cols);
      const int64_t rows = kRowGroup + 1;
      const std::vector<uint8_t> w = quantize_rows(type, rows, cols, rng);
      const std::vector<uint8_t> a = prepare_activations(reference, random_values(kTokenGroup * cols, rng), cols);
      const size_t a_row_bytes = a.size() / kTokenGroup;
      const size_t row_bytes = type_traits(type).row_bytes(cols);
      // row_group[t][r]: the row group (rows 0 .. kRowGroup - 1) times token t.
      float row_group[kTokenGroup][kRowGroup];
      if (simd->dot_row_group != nullptr) {
        for (int t = 0; t < kTokenGroup; ++t) {
          simd->dot_row_group(cols, w.data(), row_bytes, &a[t * a_row_bytes], row_group[t]);
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* row = &w[r * row_bytes];
        float group[kTokenGroup];
        if (simd->dot_token_group != nullptr) simd->dot_token_group(cols, row, a.data(), a_row_bytes, group);
        for (int t = 0; t < kTokenGroup; ++t) {
          const uint8_t* act = &a[t * a_row_bytes];
          const float expected = reference.dot(cols, row, act);
          const double tolerance = 1e-5 * magnitude(type, reference, cols, row, act) + 1e-6;
          EXPECT_NEAR(simd->dot(cols, row, act), expected, tolerance) << "row " << r << " token " << t;
          if (simd->dot_token_group != nullptr) {
            EXPECT_NEAR(group[t], expected, tolerance) << "token group: row " << r << " token " << t;
          }
          if (simd->dot_row_group != nullptr && r < kRowGroup) {
            EXPECT_NEAR(row_group[t][r], expected, tolerance) << "row group: row " << r << " token " << t;
          }
        }
      }
    }
  }
}

// Each level may quantize activations its own way, but to the reference's bytes exactly: random rows,
// values landing exactly on halves (scale 1), an all-zero block, and a NaN.
TEST_P(DotKernelTest, SimdActivationQuantizationMatchesReference) {
  const DotKernel& reference = *find_dot_kernel(GetParam(), CpuLevel::scalar);
  if (reference.quantize_activation == nullptr) GTEST_SKIP() << "float activations";
  const int64_t cols = 512;
  std::mt19937 rng(5);
  std::vector<std::vector<float>> rows = {random_values(cols, rng), random_values(cols, rng)};
  std::vector<float> halves(static_cast<size_t>(cols));
  for (int64_t i = 0; i < cols; ++i) halves[i] = static_cast<float>(i % 32 == 0 ? 127 : (i % 50) - 25) + 0.5f;
  for (int64_t i = 0; i < cols; i += 32) halves[i] = i % 64 == 0 ? 127.0f : -127.0f;
  rows.push_back(halves);
  std::vector<float> special = random_values(cols, rng);
  std::fill(special.begin(), special.begin() + 256, 0.0f);
  special[300] = std::nanf("");
  rows.push_back(special);
  const size_t row_bytes = type_traits(reference.activation_type).row_bytes(cols);
  for (CpuLevel level : simd_levels()) {
    const DotKernel* simd = find_dot_kernel(GetParam(), level);
    if (simd == nullptr) continue;
    for (size_t r = 0; r < rows.size(); ++r) {
      std::vector<uint8_t> expected(row_bytes), actual(row_bytes);
      reference.quantize_activation(rows[r].data(), expected.data(), cols);
      simd->quantize_activation(rows[r].data(), actual.data(), cols);
      EXPECT_EQ(actual, expected) << cpu_level_name(level) << " row " << r;
    }
  }
}

struct Shape {
  int64_t rows, blocks, n_tokens;
};

// matmul at the active level (LOWBIT_CPU picks it) equals the scalar reference per output, on shapes
// that leave partial row and token tiles, and on shapes large enough to run threaded.
TEST_P(DotKernelTest, MatmulMatchesScalarReferenceOnAwkwardShapes) {
  const TensorType type = GetParam();
  const TypeTraits& traits = type_traits(type);
  const int64_t block = traits.block_size == 1 ? 32 : traits.block_size;
  const DotKernel& reference = *find_dot_kernel(type, CpuLevel::scalar);
  std::mt19937 rng(11);
  // 9 tokens: the batched decode kernels for the interleaved layouts (at AVX-512), the GEMM for the other
  // formats that unpack cheaply, the token groups for the rest. 1100 rows of one token: decode split in
  // several pieces over the threads, the last piece and the last row group short.
  for (Shape shape : {Shape{1, 1, 1}, Shape{1, 1, 70}, Shape{17, 1, 1}, Shape{17, 3, 5}, Shape{19, 2, 9},
                      Shape{33, 2, 130}, Shape{1100, 1024 / block, 1}, Shape{301, 1024 / block, 20}}) {
    const int64_t cols = shape.blocks * block;
    SCOPED_TRACE(::testing::Message() << shape.rows << "x" << cols << " tokens " << shape.n_tokens);
    std::vector<uint8_t> w = quantize_rows(type, shape.rows, cols, rng);
    const TensorView view{"blk.0.ffn_up.weight", type, {shape.rows, cols}, w.data(), w.size()};
    const std::vector<float> x = random_values(shape.n_tokens * cols, rng);
    std::vector<float> y(static_cast<size_t>(shape.rows * shape.n_tokens), std::nanf(""));
    matmul(view, x.data(), shape.n_tokens, y.data());

    const std::vector<uint8_t> a = prepare_activations(reference, as_multiplied(type, x), cols);
    const size_t a_row_bytes = a.size() / static_cast<size_t>(shape.n_tokens);
    for (int64_t t = 0; t < shape.n_tokens; ++t) {
      for (int64_t r = 0; r < shape.rows; ++r) {
        const uint8_t* row = &w[r * traits.row_bytes(cols)];
        const uint8_t* act = &a[t * a_row_bytes];
        const float expected = reference.dot(cols, row, act);
        ASSERT_NEAR(y[t * shape.rows + r], expected, 1e-5 * magnitude(type, reference, cols, row, act) + 1e-6)
            << "row " << r << " token " << t;
      }
    }
  }
}

// Quantizing the activations costs accuracy, but only as much as 8 bits per block allow: the product
// stays close to the F32 product of the dequantized weights (root-mean-square error / RMS of the result).
TEST_P(DotKernelTest, QuantizedActivationProductIsCloseToF32Product) {
  const TensorType type = GetParam();
  const TypeTraits& traits = type_traits(type);
  const int64_t cols = 1024, rows = 64, n_tokens = 3;
  std::mt19937 rng(3);
  std::vector<uint8_t> w = quantize_rows(type, rows, cols, rng);
  const TensorView view{"w", type, {rows, cols}, w.data(), w.size()};
  const std::vector<float> x = random_values(n_tokens * cols, rng);
  std::vector<float> y(static_cast<size_t>(rows * n_tokens));
  matmul(view, x.data(), n_tokens, y.data());

  std::vector<float> row(static_cast<size_t>(cols));
  double error = 0.0, total = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(view, r, row.data());
    for (int64_t t = 0; t < n_tokens; ++t) {
      double exact = 0.0;
      for (int64_t c = 0; c < cols; ++c) exact += static_cast<double>(row[c]) * x[t * cols + c];
      error += (y[t * rows + r] - exact) * (y[t * rows + r] - exact);
      total += exact * exact;
    }
  }
  // Q8_0/Q8_1 activations: about 0.3% per value; Q8_K's 256-value blocks round coarser; BF16 at most 2^-8.
  const double float_tolerance = matmul_rounds_activations_to_bf16(type, active_cpu_level()) ? 0x1p-8 : 1e-6;
  const TensorType activation_type = find_dot_kernel(type, CpuLevel::scalar)->activation_type;
  const double tolerance = activation_type == TensorType::F32  ? float_tolerance
                           : activation_type == TensorType::Q8_K ? 0.02
                                                                 : 0.01;
  EXPECT_LT(std::sqrt(error / total), tolerance) << traits.name;
}

INSTANTIATE_TEST_SUITE_P(FastTypes, DotKernelTest, ::testing::ValuesIn(kFastTypes),
                         [](const auto& info) { return std::string(type_traits(info.param).name); });

TEST(CpuFeatures, LevelNamesParseBackAndOthersAreRejected) {
  for (CpuLevel level : {CpuLevel::scalar, CpuLevel::avx2, CpuLevel::avx512}) {
    EXPECT_EQ(parse_cpu_level(cpu_level_name(level)), level);
  }
  EXPECT_THROW(parse_cpu_level("sse4"), Error);
  EXPECT_THROW(parse_cpu_level(""), Error);
}

TEST(CpuFeatures, LevelNeedsAllOfItsFeatures) {
  CpuFeatures f;
  EXPECT_EQ(supported_cpu_level(f), CpuLevel::scalar);
  f.avx2 = f.fma = true;
  EXPECT_EQ(supported_cpu_level(f), CpuLevel::scalar);  // no F16C
  f.f16c = true;
  EXPECT_EQ(supported_cpu_level(f), CpuLevel::avx2);
  f.avx512f = f.avx512bw = f.avx512vl = true;
  EXPECT_EQ(supported_cpu_level(f), CpuLevel::avx2);  // no VNNI
  f.avx512_vnni = true;
  EXPECT_EQ(supported_cpu_level(f), CpuLevel::avx512);
  EXPECT_LE(active_cpu_level(), supported_cpu_level(cpu_features()));
}

}  // namespace test_dot_kernels
}  // namespace lowbit
