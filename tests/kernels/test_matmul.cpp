#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/type_traits.h"
#include "kernels/matmul.h"
#include "kernels/rows.h"
#include "kernel_test_data.h"

static_assert(301 * 160 * 100 >= lowbit::kMinParallelWork && 2100 * 2048 >= lowbit::kMinParallelWork);

namespace lowbit {
namespace test_matmul {

// A weight tensor of `type` holding `values` [rows][cols] stored in that type.
struct OwnedTensor {
  std::vector<uint8_t> bytes;
  TensorView view;
};

OwnedTensor make_tensor(TensorType type, int64_t rows, int64_t cols, const std::vector<float>& values) {
  const TypeTraits& traits = type_traits(type);
  OwnedTensor t;
  t.bytes.resize(static_cast<size_t>(rows) * traits.row_bytes(cols));
  traits.from_float(values.data(), t.bytes.data(), rows * cols);
  t.view = TensorView{"blk.0.test.weight", type, {rows, cols}, t.bytes.data(), t.bytes.size()};
  return t;
}

// The scalar reference: the weight's stored values (dequantized once) times x, accumulated in double.
// Returns the product and, per output, sum |w*x| to scale the tolerance of float accumulation.
void reference_matmul(const TensorView& w, const std::vector<float>& x, int64_t n_tokens, std::vector<double>& y,
                      std::vector<double>& magnitude) {
  const int64_t rows = w.rows(), cols = w.cols();
  std::vector<float> row(static_cast<size_t>(cols));
  y.assign(static_cast<size_t>(n_tokens * rows), 0.0);
  magnitude.assign(y.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    dequantize_row(w, r, row.data());
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t c = 0; c < cols; ++c) {
        const double term = static_cast<double>(row[c]) * x[t * cols + c];
        y[t * rows + r] += term;
        magnitude[t * rows + r] += std::fabs(term);
      }
    }
  }
}

struct Shape {
  int64_t rows, cols, n_tokens;
};

class MatmulTest : public ::testing::TestWithParam<TensorType> {};

TEST_P(MatmulTest, MatchesScalarReferenceOnAwkwardShapes) {
  std::mt19937 rng(1234);
  for (Shape shape : {Shape{1, 1, 1}, Shape{1, 1, 3}, Shape{7, 13, 1}, Shape{7, 13, 2}, Shape{33, 172, 1},
                      Shape{33, 172, 5}, Shape{64, 3, 17}, Shape{5, 1000, 9}, Shape{257, 64, 128},
                      // above kMinParallelWork: the threaded paths
                      Shape{301, 160, 100}, Shape{2100, 2048, 1}}) {
    SCOPED_TRACE(::testing::Message() << shape.rows << "x" << shape.cols << " tokens " << shape.n_tokens);
    OwnedTensor w = make_tensor(GetParam(), shape.rows, shape.cols, random_values(shape.rows * shape.cols, rng));
    std::vector<float> x = random_values(shape.n_tokens * shape.cols, rng);
    std::vector<float> y(static_cast<size_t>(shape.n_tokens * shape.rows), std::nanf(""));
    matmul(w.view, x.data(), shape.n_tokens, y.data());

    std::vector<double> expected, magnitude;
    reference_matmul(w.view, x, shape.n_tokens, expected, magnitude);
    // BF16 weights may take activations rounded to BF16 (kernels/float16_kernels.h): each term then off by
    // up to 2^-8 of itself.
    const double relative = GetParam() == TensorType::BF16 ? 0x1p-8 + 1e-5 : 1e-5;
    for (size_t i = 0; i < y.size(); ++i) {
      ASSERT_NEAR(y[i], expected[i], relative * magnitude[i] + 1e-6) << "at " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(FloatTypes, MatmulTest, ::testing::Values(TensorType::F32, TensorType::F16, TensorType::BF16),
                         [](const auto& info) { return std::string(type_traits(info.param).name); });

// The shared-input product equals separate products: one token on one type (one job over all the rows,
// several pieces per weight and shares over both threads), a batch, and mixed types (separate products).
TEST(Matmul, SameInputEqualsSeparateProducts) {
  std::mt19937 rng(11);
  const int64_t cols = 2048;
  for (const auto& types : {std::vector<TensorType>{TensorType::Q4_0, TensorType::Q4_0, TensorType::Q4_0},
                            std::vector<TensorType>{TensorType::Q4_K, TensorType::Q4_K},
                            std::vector<TensorType>{TensorType::Q4_K, TensorType::Q6_K}}) {
    const std::vector<int64_t> rows = {1024, 256, 130};
    std::vector<OwnedTensor> weights;
    for (size_t i = 0; i < types.size(); ++i) {
      weights.push_back(make_tensor(types[i], rows[i], cols, random_values(rows[i] * cols, rng)));
    }
    for (int64_t n_tokens : {1, 3}) {
      const std::vector<float> x = random_values(n_tokens * cols, rng);
      std::vector<std::vector<float>> together(types.size()), apart(types.size());
      std::vector<MatmulOutput> outputs;
      for (size_t i = 0; i < types.size(); ++i) {
        together[i].assign(static_cast<size_t>(n_tokens * rows[i]), -1.0f);
        apart[i].assign(together[i].size(), -2.0f);
        outputs.push_back({&weights[i].view, together[i].data()});
        matmul(weights[i].view, x.data(), n_tokens, apart[i].data());
      }
      matmul_same_input(outputs, x.data(), n_tokens);
      for (size_t i = 0; i < types.size(); ++i) {
        EXPECT_EQ(together[i], apart[i]) << type_traits(types[i]).name << " weight " << i << ", " << n_tokens << " tokens";
      }
    }
  }
}

TEST(Matmul, UnreadableTypeNamesTensorAndType) {
  std::vector<int32_t> data(6, 1);
  TensorView w{"blk.3.ffn_up.weight", TensorType::I32, {2, 3}, data.data(), data.size() * sizeof(int32_t)};
  std::vector<float> x(3, 1.0f), y(2);
  try {
    matmul(w, x.data(), 1, y.data());
    FAIL() << "expected lowbit::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.3.ffn_up.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("i32"), std::string::npos) << e.what();
  }
}

TEST(Matmul, TensorSmallerThanItsShapeIsAnError) {
  std::vector<float> data(5);
  TensorView w{"short", TensorType::F32, {2, 3}, data.data(), data.size() * sizeof(float)};
  std::vector<float> x(3), y(2);
  EXPECT_THROW(matmul(w, x.data(), 1, y.data()), Error);
}

TEST(DequantizeRow, ReadsOneRowAndRejectsOutOfRange) {
  std::vector<float> values = {1, 2, 3, 4, 5, 6};
  OwnedTensor w = make_tensor(TensorType::F16, 3, 2, values);
  float row[2];
  dequantize_row(w.view, 2, row);
  EXPECT_EQ(row[0], 5.0f);
  EXPECT_EQ(row[1], 6.0f);
  EXPECT_THROW(dequantize_row(w.view, 3, row), Error);
  EXPECT_THROW(dequantize_row(w.view, -1, row), Error);
}

}  // namespace test_matmul
}  // namespace lowbit
