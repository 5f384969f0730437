// Random weights and activations for the kernel tests, and the scale of float rounding differences.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "formats/type_traits.h"
#include "kernels/dot_kernels.h"

namespace lowbit {

// Uniform in [low, high) from 24 random bits. std::uniform_real_distribution and std::normal_distribution
// draw through std::generate_canonical, which libstdc++ computes with a long-double log per draw: a
// quarter of the time of the largest kernel tests under ASan.
inline float random_uniform(std::mt19937& rng, float low, float high) {
  return low + (high - low) * static_cast<float>(rng() >> 8) * 0x1p-24f;
}

// Standard normal values, two per Box-Muller step.
class StandardNormal {
 public:
  float operator()(std::mt19937& rng) {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const float u = random_uniform(rng, 0x1p-25f, 1.0f);  // > 0 for the log
    const float angle = random_uniform(rng, 0.0f, 6.28318531f);
    const float radius = std::sqrt(-2.0f * std::log(u));
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  float spare_ = 0.0f;
  bool has_spare_ = false;
};

inline std::vector<float> random_values(int64_t n, std::mt19937& rng) {
  StandardNormal normal;
  std::vector<float> v(static_cast<size_t>(n));
  for (float& value : v) value = normal(rng);
  return v;
}

// Values with a spread of row scales and an offset per row, as real weights (and the minimums and zero
// points of the asymmetric formats) have.
inline std::vector<float> random_rows(int64_t rows, int64_t cols, std::mt19937& rng) {
  StandardNormal normal;
  std::vector<float> v(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    const float s = random_uniform(rng, 0.01f, 2.0f), o = random_uniform(rng, -0.5f, 0.5f);
    for (int64_t c = 0; c < cols; ++c) v[r * cols + c] = s * normal(rng) + o;
  }
  return v;
}

// Rows of `type` holding random_rows' values, quantized one row at a time as the quantize pipeline does
// (the per-row formats take their parameters from all the elements they are given).
inline std::vector<uint8_t> quantize_rows(TensorType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  const TypeTraits& traits = type_traits(type);
  const std::vector<float> values = random_rows(rows, cols, rng);
  const size_t row_bytes = traits.row_bytes(cols);
  std::vector<uint8_t> bytes(static_cast<size_t>(rows) * row_bytes);
  for (int64_t r = 0; r < rows; ++r) traits.from_float(&values[r * cols], &bytes[r * row_bytes], cols);
  return bytes;
}

// Activations in the kernel's format: [n_tokens][activation row bytes].
inline std::vector<uint8_t> prepare_activations(const DotKernel& kernel, const std::vector<float>& x, int64_t cols) {
  const int64_t n_tokens = static_cast<int64_t>(x.size()) / cols;
  if (kernel.quantize_activation == nullptr) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(x.data());
    return std::vector<uint8_t>(bytes, bytes + x.size() * sizeof(float));
  }
  const size_t row_bytes = type_traits(kernel.activation_type).row_bytes(cols);
  std::vector<uint8_t> out(static_cast<size_t>(n_tokens) * row_bytes);
  for (int64_t t = 0; t < n_tokens; ++t) kernel.quantize_activation(&x[t * cols], &out[t * row_bytes], cols);
  return out;
}

// sum |w_i * a_i| of the stored values: the scale of float rounding differences between kernels.
inline double magnitude(TensorType weight_type, const DotKernel& kernel, int64_t cols, const uint8_t* w, const uint8_t* a) {
  std::vector<float> wf(static_cast<size_t>(cols)), af(static_cast<size_t>(cols));
  type_traits(weight_type).to_float(w, wf.data(), cols);
  type_traits(kernel.activation_type).to_float(a, af.data(), cols);
  double sum = 0.0;
  for (int64_t i = 0; i < cols; ++i) sum += std::fabs(static_cast<double>(wf[i]) * af[i]);
  return sum;
}

// A kernel's output of tokens x rows written at y[t * y_stride + r], y_stride > rows, into a buffer
// filled with kUntouched: check(t, r, got) on every written value, and the columns past the rows must
// still hold kUntouched.
inline constexpr float kUntouched = -7.0f;
template <typename Check>
void check_strided_output(const std::vector<float>& y, int64_t tokens, int64_t rows, int64_t y_stride,
                          const Check& check) {
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t r = 0; r < y_stride; ++r) {
      const float got = y[t * y_stride + r];
      if (r < rows) {
        check(t, r, got);
      } else {
        ASSERT_EQ(got, kUntouched) << "wrote past the rows: token " << t << " column " << r;
      }
    }
  }
}

}  // namespace lowbit
