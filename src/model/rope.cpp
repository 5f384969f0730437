#include "model/rope.h"

#include <cmath>

#include "kernels/vector_ops.h"

namespace lowbit {

Rope::Rope(RopeStyle style, int64_t head_dim, float theta, int64_t max_positions)
    : style_(style), head_dim_(head_dim) {
  const int64_t half = head_dim / 2;
  cos_.resize(static_cast<size_t>(max_positions * half));
  sin_.resize(cos_.size());
  for (int64_t pos = 0; pos < max_positions; ++pos) {
    for (int64_t i = 0; i < half; ++i) {
      const double freq = std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
      const double angle = static_cast<double>(pos) * freq;
      cos_[pos * half + i] = static_cast<float>(std::cos(angle));
      sin_[pos * half + i] = static_cast<float>(std::sin(angle));
    }
  }
}

void Rope::apply(float* heads, int64_t n_heads, int64_t position) const {
  const int64_t half = head_dim_ / 2;
  const float* cos_row = cos_.data() + position * half;
  const float* sin_row = sin_.data() + position * half;
  const VectorOps& ops = vector_ops();
  const auto rotate = style_ == RopeStyle::kInterleaved ? ops.rope_interleaved : ops.rope_rotate_half;
  for (int64_t h = 0; h < n_heads; ++h) rotate(heads + h * head_dim_, cos_row, sin_row, half);
}

}  // namespace lowbit
