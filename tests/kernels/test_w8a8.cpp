// lb_w8_row and the W8A8 product: the format's per-row scale, the SIMD kernels against the scalar
// reference on awkward shapes, and matmul_w8_row's static / dynamic / none modes against a reference
// computed here in double.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "formats/lowbit_w8_row.h"
#include "formats/type_traits.h"
#include "kernels/matmul.h"
#include "kernels/w8a8_kernels.h"
#include "kernels/w8a8_matmul.h"
#include "simd_levels.h"

namespace lowbit {
namespace test_w8a8 {

std::vector<float> gaussian(size_t n, std::mt19937& rng, float sigma = 1.0f) {
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// rows x cols quantized row by row, as the quantize pipeline does.
std::vector<BlockW8Row> quantize_matrix(const std::vector<float>& w, int64_t rows, int64_t cols) {
  std::vector<BlockW8Row> blocks(static_cast<size_t>(rows * cols / kW8RowBlock));
  for (int64_t r = 0; r < rows; ++r) quantize_row_w8_row(w.data() + r * cols, blocks.data() + r * cols / kW8RowBlock, cols);
  return blocks;
}

TensorView w8_view(const std::vector<BlockW8Row>& blocks, int64_t rows, int64_t cols) {
  return TensorView{"blk.0.test.weight", kW8RowType, {rows, cols}, blocks.data(), blocks.size() * sizeof(BlockW8Row)};
}

TEST(W8RowFormat, TypeTableRow) {
  const TypeTraits* traits = find_type_traits("lb_w8_row");
  ASSERT_NE(traits, nullptr);
  EXPECT_EQ(traits->type, kW8RowType);
  EXPECT_EQ(traits->block_size, 64);
  EXPECT_DOUBLE_EQ(traits->bits_per_weight(), 8.5);
}

TEST(W8RowFormat, EveryBlockHoldsTheRowScaleAbsmaxOver127) {
  std::mt19937 rng(1);
  std::vector<float> row = gaussian(192, rng);
  row[150] = -5.0f;  // the row's largest magnitude, in its last block
  std::vector<BlockW8Row> blocks(3);
  quantize_row_w8_row(row.data(), blocks.data(), 192);
  std::vector<float> back(192);
  dequantize_row_w8_row(blocks.data(), back.data(), 192);
  for (const BlockW8Row& b : blocks) EXPECT_EQ(b.d, 5.0f / 127.0f);
  EXPECT_EQ(blocks[2].qs[150 - 128], -127);
  for (int i = 0; i < 192; ++i) EXPECT_LE(std::abs(back[i] - row[i]), 0.5f * 5.0f / 127.0f * 1.0001f) << i;
}

TEST(W8RowFormat, NonFiniteValuesAreStoredAsZeroAndAZeroRowStaysZero) {
  std::vector<float> row(64, 0.0f);
  std::vector<BlockW8Row> blocks(1);
  quantize_row_w8_row(row.data(), blocks.data(), 64);
  EXPECT_EQ(blocks[0].d, 0.0f);
  row[3] = std::numeric_limits<float>::quiet_NaN();
  row[4] = std::numeric_limits<float>::infinity();
  row[5] = 2.54f;
  quantize_row_w8_row(row.data(), blocks.data(), 64);
  EXPECT_EQ(blocks[0].d, 0.02f);
  EXPECT_EQ(blocks[0].qs[3], 0);
  EXPECT_EQ(blocks[0].qs[4], 0);
  EXPECT_EQ(blocks[0].qs[5], 127);
}

// Relative comparison with a bound on the terms' magnitude (SIMD sums in another order).
void expect_close(double actual, double expected, double magnitude, const std::string& what) {
  EXPECT_NEAR(actual, expected, 1e-5 * magnitude + 1e-30) << what;
}

TEST(W8A8Kernels, SimdLevelsMatchTheScalarReference) {
  std::mt19937 rng(2);
  std::uniform_int_distribution<int> weight_code(-128, 127);  // a file may hold -128
  std::uniform_int_distribution<int> activation_code(-127, 127);
  const W8A8Kernel& reference = find_w8a8_kernel(CpuLevel::scalar);
  const DotKernel& reference_f32 = w8_row_f32_kernel(CpuLevel::scalar);
  for (int64_t cols : {64, 128, 320, 4096}) {
    const int64_t n_blocks = cols / kW8RowBlock;
    std::vector<BlockW8Row> row(static_cast<size_t>(n_blocks));
    for (BlockW8Row& b : row) {
      b.d = std::uniform_real_distribution<float>(-0.1f, 0.1f)(rng);
      for (int8_t& q : b.qs) q = static_cast<int8_t>(weight_code(rng));
    }
    std::vector<int8_t> codes(static_cast<size_t>(kTokenGroup * cols));  // [kTokenGroup][cols]
    for (int8_t& q : codes) q = static_cast<int8_t>(activation_code(rng));
    const std::vector<float> x = gaussian(static_cast<size_t>(cols), rng);
    double magnitude = 0, magnitude_f32 = 0;  // sum of |terms| for the tolerance
    for (int64_t i = 0; i < cols; ++i) {
      const BlockW8Row& b = row[i / kW8RowBlock];
      magnitude += std::abs(b.d * b.qs[i % kW8RowBlock]) * 127.0;
      magnitude_f32 += std::abs(b.d * b.qs[i % kW8RowBlock] * x[i]);
    }
    float expected_group[kTokenGroup];
    reference.dot_token_group(cols, row.data(), codes.data(), static_cast<size_t>(cols), expected_group);
    for (int t = 0; t < kTokenGroup; ++t) {
      EXPECT_EQ(expected_group[t], reference.dot(cols, row.data(), codes.data() + t * cols));
    }
    const float expected_f32 = reference_f32.dot(cols, row.data(), x.data());
    for (CpuLevel level : simd_levels()) {
      const std::string what = fmt::format("{} cols {}", cpu_level_name(level), cols);
      const W8A8Kernel& kernel = find_w8a8_kernel(level);
      float group[kTokenGroup];
      kernel.dot_token_group(cols, row.data(), codes.data(), static_cast<size_t>(cols), group);
      for (int t = 0; t < kTokenGroup; ++t) {
        expect_close(kernel.dot(cols, row.data(), codes.data() + t * cols), expected_group[t], magnitude, what);
        expect_close(group[t], expected_group[t], magnitude, what + " group");
      }
      expect_close(w8_row_f32_kernel(level).dot(cols, row.data(), x.data()), expected_f32, magnitude_f32, what + " f32");
    }
  }
}

// y[t][r] = scale_t * sum_i w[r][i] * code_t[i] in double, with the codes matmul_w8_row must use.
std::vector<double> reference_w8a8(const std::vector<BlockW8Row>& w, int64_t rows, int64_t cols, const std::vector<float>& x,
                                   int64_t n_tokens, ActQuant mode, float static_scale) {
  std::vector<double> y(static_cast<size_t>(n_tokens * rows));
  std::vector<float> weights(static_cast<size_t>(rows * cols));
  dequantize_row_w8_row(w.data(), weights.data(), rows * cols);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* token = x.data() + t * cols;
    float absmax = 0;
    for (int64_t i = 0; i < cols; ++i) absmax = std::max(absmax, std::abs(token[i]));
    const float scale = mode == ActQuant::kStatic ? static_scale : absmax / 127.0f;
    const float inverse = 1.0f / scale;  // the arithmetic quantize_activation_int8 uses
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (int64_t i = 0; i < cols; ++i) {
        const double code = mode == ActQuant::kNone ? token[i] * inverse
                                                    : std::clamp(std::nearbyint(token[i] * inverse), -127.0f, 127.0f);
        sum += static_cast<double>(weights[r * cols + i]) * code;
      }
      y[t * rows + r] = sum * scale;
    }
  }
  return y;
}

struct Shape {
  int64_t rows, cols, tokens;
};

// One row; rows not a multiple of the 16-row tile; tokens across the 4-token groups and the 64-token tile.
constexpr Shape kShapes[] = {{1, 64, 1}, {17, 128, 5}, {33, 64, 70}, {3, 192, 4}, {40, 320, 2}};

TEST(W8A8Matmul, EveryModeMatchesTheReferenceOnAwkwardShapes) {
  std::mt19937 rng(3);
  for (const Shape& s : kShapes) {
    const std::vector<BlockW8Row> w = quantize_matrix(gaussian(static_cast<size_t>(s.rows * s.cols), rng, 0.05f), s.rows, s.cols);
    const TensorView view = w8_view(w, s.rows, s.cols);
    const std::vector<float> x = gaussian(static_cast<size_t>(s.tokens * s.cols), rng);
    // 1.5 / 127: the largest activations (about 3 sigma) clip, as a calibrated static scale may make them.
    for (auto [mode, scale] : {std::pair{ActQuant::kDynamic, 0.0f}, {ActQuant::kStatic, 1.5f / 127.0f}, {ActQuant::kNone, 1.0f}}) {
      std::vector<float> y(static_cast<size_t>(s.tokens * s.rows));
      matmul_w8_row(view, x.data(), s.tokens, y.data(), mode, mode == ActQuant::kStatic ? scale : 0.0f);
      const std::vector<double> expected = reference_w8a8(w, s.rows, s.cols, x, s.tokens, mode, scale);
      double magnitude = 0;
      for (double e : expected) magnitude = std::max(magnitude, std::abs(e));
      for (size_t i = 0; i < y.size(); ++i) {
        EXPECT_NEAR(y[i], expected[i], 1e-4 * magnitude + 1e-6)
            << act_quant_name(mode) << " " << s.rows << "x" << s.cols << " tokens " << s.tokens << " at " << i;
      }
    }
  }
}

TEST(W8A8Matmul, DynamicInt8ActivationsStayCloseToFloatActivations) {
  std::mt19937 rng(4);
  const int64_t rows = 48, cols = 256, tokens = 6;
  const std::vector<BlockW8Row> w = quantize_matrix(gaussian(static_cast<size_t>(rows * cols), rng), rows, cols);
  const TensorView view = w8_view(w, rows, cols);
  const std::vector<float> x = gaussian(static_cast<size_t>(tokens * cols), rng);
  std::vector<float> exact(static_cast<size_t>(tokens * rows)), w8a8(exact.size());
  matmul(view, x.data(), tokens, exact.data());
  matmul_w8_row(view, x.data(), tokens, w8a8.data(), ActQuant::kDynamic);
  double error_sq = 0, norm_sq = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    error_sq += std::pow(w8a8[i] - exact[i], 2);
    norm_sq += std::pow(exact[i], 2);
  }
  EXPECT_LT(std::sqrt(error_sq / norm_sq), 0.02);  // int8 with ~3-sigma range: about 1% relative error
}

TEST(W8A8Matmul, RejectsAnotherTypeAndAnInvalidStaticScale) {
  const std::vector<float> weights(64, 1.0f), x(64, 1.0f);
  std::vector<float> y(1);
  const TensorView f32{"f.weight", TensorType::F32, {1, 64}, weights.data(), weights.size() * sizeof(float)};
  EXPECT_THROW(matmul_w8_row(f32, x.data(), 1, y.data(), ActQuant::kDynamic), Error);
  const std::vector<BlockW8Row> w = quantize_matrix(weights, 1, 64);
  const TensorView view = w8_view(w, 1, 64);
  for (float bad : {0.0f, -1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    EXPECT_THROW(matmul_w8_row(view, x.data(), 1, y.data(), ActQuant::kStatic, bad), Error) << bad;
  }
  TensorView short_view = view;
  short_view.bytes -= 1;
  EXPECT_THROW(matmul_w8_row(short_view, x.data(), 1, y.data(), ActQuant::kDynamic), Error);
}

TEST(W8A8Activation, QuantizesWithClampingAndParsesModes) {
  const float x[] = {0.5f, -1.26f, 300.0f, std::numeric_limits<float>::quiet_NaN(), -0.0f};
  int8_t codes[5];
  quantize_activation_int8(x, 5, 0.01f, codes);
  EXPECT_EQ(codes[0], 50);
  EXPECT_EQ(codes[1], -126);
  EXPECT_EQ(codes[2], 127);
  EXPECT_EQ(codes[3], 0);
  EXPECT_EQ(codes[4], 0);
  EXPECT_FLOAT_EQ(dynamic_activation_scale(x, 5), 300.0f / 127.0f);
  EXPECT_EQ(parse_act_quant("static"), ActQuant::kStatic);
  EXPECT_EQ(parse_act_quant("dynamic"), ActQuant::kDynamic);
  EXPECT_EQ(parse_act_quant("none"), ActQuant::kNone);
  EXPECT_THROW(parse_act_quant("int8"), Error);
}

}  // namespace test_w8a8
}  // namespace lowbit
