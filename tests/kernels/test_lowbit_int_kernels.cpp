// lowbit's integer formats on the packed-weight kernels, against products computed here from the
// dequantized weights: the scalar reference with the same Q8_1 activations, and matmul (decode, token
// groups and GEMM at the active level) with F32 activations. test_dot_kernels.cpp and
// test_gemm_kernels.cpp check the SIMD levels against the scalar reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/half.h"
#include "formats/ggml_q8_1.h"
#include "formats/lowbit_int.h"
#include "formats/type_traits.h"
#include "kernels/dot_kernels.h"
#include "kernels/matmul.h"
#include "kernels/rows.h"
#include "kernel_test_data.h"

namespace lowbit {
namespace test_lowbit_int_kernels {

class LowbitIntKernelTest : public ::testing::TestWithParam<LowbitIntType> {};

TEST_P(LowbitIntKernelTest, EveryLevelHasAPackedKernel) {
  for (CpuLevel level : {CpuLevel::scalar, CpuLevel::avx2, CpuLevel::avx512}) {
    const DotKernel* kernel = find_dot_kernel(GetParam().type, level);
    ASSERT_NE(kernel, nullptr) << cpu_level_name(level);
    EXPECT_EQ(kernel->activation_type, TensorType::Q8_1) << cpu_level_name(level);
  }
}

// Where the kernels' product of Q8_1 activations may differ from the exact product of the same
// activations: Q8_1's stored s = d * (sum of quants) is an FP16 of the unrounded d times the sum, off
// from the FP16 d times the sum by up to 2^-10 of it, and the kernels multiply it by S * zu, the value
// of code 0, at most 3 times the row's largest weight. Plus float rounding.
struct Bound {
  double exact = 0.0, tolerance = 0.0;
};

// Row `w` (cols dequantized weights) times activations x quantized to Q8_1 (q8_1, cols / 32 blocks):
// the exact product of the dequantized values, and how far the kernels may be from it.
Bound dequantized_product(const std::vector<float>& w, const BlockQ8_1* q8_1) {
  const int64_t cols = static_cast<int64_t>(w.size());
  double largest_weight = 0.0, magnitude = 0.0, stored_sums = 0.0;
  Bound bound;
  for (int64_t i = 0; i < cols; ++i) {
    const BlockQ8_1& block = q8_1[i / 32];
    const double term = static_cast<double>(w[i]) * fp16_to_fp32(block.d) * block.qs[i % 32];
    bound.exact += term;
    magnitude += std::fabs(term);
    largest_weight = std::max(largest_weight, std::fabs(static_cast<double>(w[i])));
  }
  for (int64_t b = 0; b < cols / 32; ++b) stored_sums += std::fabs(fp16_to_fp32(q8_1[b].s));
  bound.tolerance = 3.0 * largest_weight * 0x1p-10 * stored_sums + 1e-5 * magnitude + 1e-6;
  return bound;
}

TEST_P(LowbitIntKernelTest, ReferenceEqualsDequantizedWeightsTimesDequantizedActivations) {
  const LowbitIntType& type = GetParam();
  const TypeTraits& traits = type_traits(type.type);
  const DotKernel& reference = *find_dot_kernel(type.type, CpuLevel::scalar);
  std::mt19937 rng(21);
  for (int64_t cols : {type.format.group, 3 * type.format.group, int64_t{4096 + 128}}) {
    SCOPED_TRACE(::testing::Message() << "cols " << cols);
    const int64_t rows = 6, n_tokens = 3;
    const std::vector<uint8_t> w = quantize_rows(type.type, rows, cols, rng);
    const std::vector<uint8_t> a = prepare_activations(reference, random_rows(n_tokens, cols, rng), cols);
    const size_t row_bytes = traits.row_bytes(cols), a_row_bytes = a.size() / n_tokens;
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      traits.to_float(&w[r * row_bytes], row.data(), cols);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const Bound bound = dequantized_product(row, reinterpret_cast<const BlockQ8_1*>(&a[t * a_row_bytes]));
        EXPECT_NEAR(reference.dot(cols, &w[r * row_bytes], &a[t * a_row_bytes]), bound.exact, bound.tolerance)
            << "row " << r << " token " << t;
      }
    }
  }
}

struct Shape {
  int64_t rows, groups, n_tokens;
};

// matmul's product against the F32 product of the dequantized rows with the unquantized x: each
// activation is off from x by at most 0.6 of its block's Q8_1 scale d (half a step, plus d's rounding to
// FP16 times up to 127 steps), so an output by at most 0.6 * sum |w| d, beyond what Bound allows.
TEST_P(LowbitIntKernelTest, MatmulIsCloseToF32ProductOfDequantizedRows) {
  const LowbitIntType& type = GetParam();
  const int64_t group = type.format.group;
  const DotKernel& kernel = *find_dot_kernel(type.type, active_cpu_level());
  std::mt19937 rng(5);
  // One block; odd numbers of blocks; 1 to 17 rows (row groups and their remainders); one token (decode),
  // token groups with a remainder, and the GEMM's token counts; a row of 4096 + 128.
  for (Shape shape : {Shape{1, 1, 1}, Shape{17, 3, 1}, Shape{5, (4096 + 128) / group, 1}, Shape{2, 1, 5},
                      Shape{13, 3, 16}, Shape{7, 5, 17}, Shape{3, (4096 + 128) / group, 33}, Shape{16, 1, 33}}) {
    const int64_t cols = shape.groups * group;
    SCOPED_TRACE(::testing::Message() << shape.rows << "x" << cols << " tokens " << shape.n_tokens);
    std::vector<uint8_t> w = quantize_rows(type.type, shape.rows, cols, rng);
    const TensorView view{"blk.0.ffn_down.weight", type.type, {shape.rows, cols}, w.data(), w.size()};
    const std::vector<float> x = random_rows(shape.n_tokens, cols, rng);
    std::vector<float> y(static_cast<size_t>(shape.rows * shape.n_tokens), std::nanf(""));
    matmul(view, x.data(), shape.n_tokens, y.data());

    const std::vector<uint8_t> a = prepare_activations(kernel, x, cols);
    const size_t a_row_bytes = a.size() / static_cast<size_t>(shape.n_tokens);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < shape.rows; ++r) {
      dequantize_row(view, r, row.data());
      for (int64_t t = 0; t < shape.n_tokens; ++t) {
        const auto* q8_1 = reinterpret_cast<const BlockQ8_1*>(&a[t * a_row_bytes]);
        double exact = 0.0, rounding = 0.0;
        for (int64_t c = 0; c < cols; ++c) {
          exact += static_cast<double>(row[c]) * x[t * cols + c];
          rounding += 0.6 * std::fabs(row[c]) * fp16_to_fp32(q8_1[c / 32].d);
        }
        const double tolerance = rounding + dequantized_product(row, q8_1).tolerance;
        ASSERT_NEAR(y[t * shape.rows + r], exact, tolerance) << "row " << r << " token " << t;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(LowbitIntTypes, LowbitIntKernelTest, ::testing::ValuesIn(kLowbitIntTypes),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace test_lowbit_int_kernels
}  // namespace lowbit
