// Every SIMD vector operation against the scalar reference, on random rows of awkward lengths (tails of
// every size, one lane, long rows), with tolerances tight enough that one wrong lane fails.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/vector_ops.h"
#include "simd_levels.h"

namespace lowbit {
namespace test_vector_ops {

const int64_t kLengths[] = {1, 3, 7, 8, 15, 16, 17, 63, 64, 100, 2048, 5632};

std::vector<float> random_row(int64_t n, float low, float high, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(low, high);
  std::vector<float> row(static_cast<size_t>(n));
  for (float& x : row) x = value(rng);
  return row;
}

// |got - want| within a relative `tolerance` of want (an absolute one near 0); infinities must match.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, float tolerance, float floor) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << "element " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], tolerance * std::fabs(want[i]) + floor) << "element " << i;
    }
  }
}

class VectorOpsTest : public ::testing::TestWithParam<CpuLevel> {
 protected:
  const VectorOps& simd() const { return vector_ops(GetParam()); }
  const VectorOps& reference() const { return vector_ops_scalar(); }
};

TEST_P(VectorOpsTest, SumSquares) {
  for (int64_t n : kLengths) {
    const std::vector<float> x = random_row(n, -3.0f, 3.0f, 1);
    const double want = reference().sum_squares(x.data(), n);
    EXPECT_NEAR(simd().sum_squares(x.data(), n), want, 1e-12 * want) << "n " << n;
  }
}

TEST_P(VectorOpsTest, ScaleMul) {
  for (int64_t n : kLengths) {
    const std::vector<float> x = random_row(n, -3.0f, 3.0f, 2), w = random_row(n, -2.0f, 2.0f, 3);
    std::vector<float> got(x.size()), want(x.size());
    simd().scale_mul(x.data(), 0.7f, w.data(), got.data(), n);
    reference().scale_mul(x.data(), 0.7f, w.data(), want.data(), n);
    EXPECT_EQ(got, want) << "n " << n;  // the same two roundings in the same order
  }
}

TEST_P(VectorOpsTest, Dot) {
  for (int64_t n : kLengths) {
    const std::vector<float> a = random_row(n, -1.0f, 1.0f, 4), b = random_row(n, -1.0f, 1.0f, 5);
    double exact = 0.0, magnitude = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      exact += static_cast<double>(a[i]) * b[i];
      magnitude += std::fabs(static_cast<double>(a[i]) * b[i]);
    }
    // Summation order differs from the reference's; any lane dropped or doubled is off by ~|a_i b_i|.
    EXPECT_NEAR(simd().dot(a.data(), b.data(), n), exact, 1e-5 * magnitude + 1e-7) << "n " << n;
    EXPECT_NEAR(reference().dot(a.data(), b.data(), n), exact, 1e-5 * magnitude + 1e-7) << "n " << n;
  }
}

TEST_P(VectorOpsTest, AxpyAndScale) {
  for (int64_t n : kLengths) {
    const std::vector<float> x = random_row(n, -2.0f, 2.0f, 6), y = random_row(n, -2.0f, 2.0f, 7);
    std::vector<float> got = y, want = y;
    simd().axpy(0.3f, x.data(), got.data(), n);
    reference().axpy(0.3f, x.data(), want.data(), n);
    expect_close(got, want, 1e-6f, 1e-6f);  // FMA rounds once where the reference rounds twice
    simd().scale(got.data(), -1.5f, n);
    reference().scale(want.data(), -1.5f, n);
    expect_close(got, want, 1e-6f, 1e-6f);
  }
}

// A KV cache's rows: `positions` key and value rows of n values, `stride` apart (a head's slice of a wider
// row), read by `heads` query heads; positions across several of the kernel's chunks.
TEST_P(VectorOpsTest, AttendHeads) {
  for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{32}, int64_t{33}, int64_t{64}, int64_t{100}, int64_t{128}}) {
    for (int64_t heads : {1, 3, 8}) {
      for (int64_t positions : {1, 2, 9, 130}) {
        const int64_t stride = n + 5;
        const std::vector<float> keys = random_row(positions * stride, -2.0f, 2.0f, 11);
        const std::vector<float> values = random_row(positions * stride, -2.0f, 2.0f, 12);
        const std::vector<float> queries = random_row(heads * n, -1.0f, 1.0f, 13);
        std::vector<float> scores(static_cast<size_t>(heads * positions), 3.0f);
        std::vector<float> got(static_cast<size_t>(heads * n), 7.0f), want(static_cast<size_t>(heads * n), -7.0f);
        simd().attend_heads(queries.data(), heads, keys.data(), values.data(), stride, positions, n, 0.125f,
                            scores.data(), got.data());
        reference().attend_heads(queries.data(), heads, keys.data(), values.data(), stride, positions, n, 0.125f,
                                 scores.data(), want.data());
        expect_close(got, want, 1e-5f, 1e-5f * static_cast<float>(n));  // summation order differs
      }
    }
  }
}

TEST_P(VectorOpsTest, SoftmaxOverWideRange) {
  for (int64_t n : kLengths) {
    // -100..+20: after subtracting the max, exponents from about -120 (underflow to 0) up to 0.
    const std::vector<float> x = random_row(n, -100.0f, 20.0f, 8);
    std::vector<float> got = x, want = x;
    simd().softmax(got.data(), n);
    reference().softmax(want.data(), n);
    expect_close(got, want, 1e-5f, 1e-37f);
  }
}

TEST_P(VectorOpsTest, SoftmaxOfMaskedPositionsIsZero) {
  std::vector<float> x = {1.0f, -INFINITY, 2.0f, -INFINITY, -INFINITY, 0.5f, -INFINITY, 3.0f, -INFINITY};
  std::vector<float> want = x;
  simd().softmax(x.data(), static_cast<int64_t>(x.size()));
  reference().softmax(want.data(), static_cast<int64_t>(want.size()));
  expect_close(x, want, 1e-6f, 0.0f);
}

TEST_P(VectorOpsTest, SiluMulOverWideRange) {
  for (int64_t n : kLengths) {
    // exp(-gate) from e^-20 to e^100 (infinity): silu from about 0 (-0 at the bottom) up to gate.
    const std::vector<float> gate = random_row(n, -100.0f, 20.0f, 9), up = random_row(n, -2.0f, 2.0f, 10);
    std::vector<float> got = gate, want = gate;
    simd().silu_mul(got.data(), up.data(), n);
    reference().silu_mul(want.data(), up.data(), n);
    expect_close(got, want, 2e-6f, 1e-37f);
  }
}

TEST_P(VectorOpsTest, RopeBothPairings) {
  for (int64_t n : kLengths) {
    const int64_t half = n;  // a head of 2n values
    const std::vector<float> head = random_row(2 * half, -2.0f, 2.0f, 11);
    const std::vector<float> angle = random_row(half, -3.2f, 3.2f, 12);
    std::vector<float> cos(angle.size()), sin(angle.size());
    for (size_t i = 0; i < angle.size(); ++i) {
      cos[i] = std::cos(angle[i]);
      sin[i] = std::sin(angle[i]);
    }
    for (auto rope : {&VectorOps::rope_interleaved, &VectorOps::rope_rotate_half}) {
      std::vector<float> got = head, want = head;
      (simd().*rope)(got.data(), cos.data(), sin.data(), half);
      (reference().*rope)(want.data(), cos.data(), sin.data(), half);
      expect_close(got, want, 1e-6f, 1e-6f);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, VectorOpsTest, ::testing::ValuesIn(simd_levels()),
                         [](const ::testing::TestParamInfo<CpuLevel>& info) { return cpu_level_name(info.param); });

}  // namespace test_vector_ops
}  // namespace lowbit
