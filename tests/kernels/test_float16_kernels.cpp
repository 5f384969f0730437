// The F16/BF16 kernels (kernels/float16_kernels.h) against plain loops in double on the same values: the
// weights' stored values times the activations, rounded to BF16 first for the kernels that round them
// (vdpbf16ps, and the FMA GEMM that matches it), on shapes that leave remainders everywhere: rows not a
// multiple of the panel, one row, token counts around the token block, columns not a multiple of a step
// group or of two, and more columns than one packed chunk.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/half.h"
#include "kernels/float16_kernels.h"
#include "kernel_test_data.h"

namespace lowbit {
namespace test_float16_kernels {

struct Variant {
  std::string name;
  TensorType type;
  const Float16Kernel* kernel;
  bool rounds_activations;  // to BF16
};

// The kernels this CPU runs: every AVX-512 one, the vdpbf16ps ones where it has AVX512-BF16.
std::vector<Variant> variants(bool decode) {
  std::vector<Variant> out;
  if (supported_cpu_level(cpu_features()) < CpuLevel::avx512) return out;
  const bool bf16 = cpu_features().avx512_bf16;
  if (decode) {
    out.push_back({"f16_gemv", TensorType::F16, find_float16_gemv_avx512(TensorType::F16), false});
    if (bf16) out.push_back({"bf16_dot_gemv", TensorType::BF16, find_float16_gemv_avx512(TensorType::BF16), true});
    return out;
  }
  out.push_back({"f16_gemm", TensorType::F16, find_float16_gemm_avx512(TensorType::F16, Bf16Gemm::widened), false});
  out.push_back(
      {"bf16_fma_gemm", TensorType::BF16, find_float16_gemm_avx512(TensorType::BF16, Bf16Gemm::widened), false});
  out.push_back({"bf16_rounded_fma_gemm", TensorType::BF16,
                 find_float16_gemm_avx512(TensorType::BF16, Bf16Gemm::rounded_widened), true});
  if (bf16) {
    out.push_back({"bf16_dot_gemm", TensorType::BF16,
                   find_float16_gemm_avx512(TensorType::BF16, Bf16Gemm::bf16_pairs), true});
  }
  if (bf16 && cpu_features().amx_bf16) {
    out.push_back({"bf16_amx_gemm", TensorType::BF16,
                   find_float16_gemm_avx512(TensorType::BF16, Bf16Gemm::amx_tiles), true});
  }
  return out;
}

uint16_t to_bits(TensorType type, float v) { return type == TensorType::F16 ? fp32_to_fp16(v) : fp32_to_bf16(v); }
float from_bits(TensorType type, uint16_t b) { return type == TensorType::F16 ? fp16_to_fp32(b) : bf16_to_fp32(b); }

struct Shape {
  int64_t rows, cols, tokens;
};

// Runs `v` on random weights and activations of `shape` and checks every output against double
// precision, to float accumulation's error (relative to sum |w * x|); y's columns past the rows must
// stay untouched.
void check(const Variant& v, Shape shape, std::mt19937& rng) {
  SCOPED_TRACE(::testing::Message() << v.name << " " << shape.rows << "x" << shape.cols << " tokens " << shape.tokens);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<uint16_t> w(static_cast<size_t>(shape.rows * shape.cols));
  for (uint16_t& b : w) b = to_bits(v.type, dist(rng));
  std::vector<float> x(static_cast<size_t>(shape.tokens * shape.cols));
  for (float& f : x) f = dist(rng);

  Float16Activations prepared;
  v.kernel->prepare(x.data(), shape.tokens, shape.cols, prepared);
  const int64_t y_stride = shape.rows + 3;
  std::vector<float> y(static_cast<size_t>(shape.tokens * y_stride), kUntouched);
  v.kernel->multiply(w.data(), shape.rows, shape.cols, prepared, y.data(), y_stride);

  check_strided_output(y, shape.tokens, shape.rows, y_stride, [&](int64_t t, int64_t r, float got) {
    double want = 0.0, magnitude = 0.0;
    for (int64_t c = 0; c < shape.cols; ++c) {
      const float a = x[t * shape.cols + c];
      const double term = static_cast<double>(from_bits(v.type, w[r * shape.cols + c])) *
                          (v.rounds_activations ? bf16_to_fp32(fp32_to_bf16(a)) : a);
      want += term;
      magnitude += std::fabs(term);
    }
    ASSERT_NEAR(got, want, 1e-5 * magnitude + 1e-6) << "row " << r << " token " << t;
  });
}

TEST(Float16Kernels, GemmMatchesDoublePrecisionOnAwkwardShapes) {
  std::mt19937 rng(5);
  // 2100 columns: more than one 1024-step chunk, for one or two columns per step.
  const Shape shapes[] = {{1, 32, 2},    {31, 96, 3},   {33, 2048, 13}, {70, 96, 129},  {5, 2048, 129},
                          {64, 33, 12},  {40, 2100, 5}, {32, 7, 24},    {3, 1, 2},      {17, 100, 14}};
  const std::vector<Variant> kernels = variants(false);
  if (kernels.empty()) GTEST_SKIP() << "no AVX-512";
  for (const Variant& v : kernels) {
    ASSERT_NE(v.kernel, nullptr) << v.name;
    for (Shape shape : shapes) check(v, shape, rng);
  }
}

TEST(Float16Kernels, GemvMatchesDoublePrecisionOnAwkwardShapes) {
  std::mt19937 rng(6);
  // Rows below, at and past the eight read side by side; columns not a multiple of a 32-column step.
  const Shape shapes[] = {{1, 32, 1}, {7, 96, 1}, {9, 2048, 1}, {5, 33, 1}, {6, 1, 1}, {4, 2100, 1}, {8, 40, 1},
                          {17, 100, 1}};
  const std::vector<Variant> kernels = variants(true);
  if (kernels.empty()) GTEST_SKIP() << "no AVX-512";
  for (const Variant& v : kernels) {
    ASSERT_NE(v.kernel, nullptr) << v.name;
    for (Shape shape : shapes) check(v, shape, rng);
  }
}

// A one-hot weight row reads one activation back as the kernel rounded it: bit for bit fp32_to_bf16,
// ties to even, and a subnormal input that rounds up to a normal value (vcvtneps2bf16 would flush it; a
// subnormal BF16 is flushed by vdpbf16ps itself, so none is tried).
TEST(Float16Kernels, Bf16KernelsRoundActivationsLikeFp32ToBf16) {
  const float values[] = {1.0f + 0x1p-8f, 1.0f + 0x3p-8f, -1.0f - 0x1p-9f, 3.14159f, 0x1.ffffp-127f,
                          -2.5e-3f,       65504.0f,       0.0f};
  std::vector<Variant> kernels;
  for (bool decode : {true, false}) {
    for (Variant& v : variants(decode)) {
      if (v.rounds_activations) kernels.push_back(v);
    }
  }
  if (kernels.empty()) GTEST_SKIP() << "no AVX512-BF16";
  const int64_t cols = 40;
  for (const Variant& v : kernels) {
    for (float value : values) {
      for (int64_t c : {int64_t{0}, int64_t{1}, int64_t{39}}) {
        std::vector<uint16_t> w(cols, 0);
        w[c] = fp32_to_bf16(1.0f);
        const int64_t tokens = v.kernel->row_step == 1 ? 1 : 2;
        std::vector<float> x(static_cast<size_t>(tokens * cols), 0.5f);
        x[(tokens - 1) * cols + c] = value;
        Float16Activations prepared;
        v.kernel->prepare(x.data(), tokens, cols, prepared);
        std::vector<float> y(static_cast<size_t>(tokens));
        v.kernel->multiply(w.data(), 1, cols, prepared, y.data(), 1);
        EXPECT_EQ(y[tokens - 1], bf16_to_fp32(fp32_to_bf16(value))) << v.name << " value " << value << " column " << c;
      }
    }
  }
}

TEST(Float16Kernels, DispatchFollowsLevelAndFeatures) {
  EXPECT_EQ(find_float16_gemm(TensorType::F16, CpuLevel::scalar), nullptr);
  EXPECT_EQ(find_float16_gemm(TensorType::F32, CpuLevel::avx512), nullptr);
  EXPECT_NE(find_float16_gemv(TensorType::F16, CpuLevel::avx512), nullptr);
  EXPECT_EQ(find_float16_gemv(TensorType::F16, CpuLevel::avx2), nullptr);
  EXPECT_EQ(find_float16_gemv(TensorType::BF16, CpuLevel::avx2), nullptr);
  EXPECT_EQ(find_float16_gemv(TensorType::BF16, CpuLevel::avx512) != nullptr, cpu_features().avx512_bf16);
  EXPECT_EQ(preferred_bf16_gemm(), !cpu_features().avx512_bf16 ? Bf16Gemm::widened
                                   : cpu_features().amx_bf16   ? Bf16Gemm::amx_tiles
                                   : cpu_features().intel      ? Bf16Gemm::rounded_widened
                                                               : Bf16Gemm::bf16_pairs);
  EXPECT_EQ(find_float16_gemm(TensorType::BF16, CpuLevel::avx512),
            find_float16_gemm_avx512(TensorType::BF16, preferred_bf16_gemm()));
}

}  // namespace test_float16_kernels
}  // namespace lowbit
