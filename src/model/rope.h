// Rotary position embedding (RoPE): each pair of a head's dimensions is rotated by position * freq_i,
// freq_i = theta^(-2i/head_dim) for pair i. Which dimensions pair up is the RopeStyle (io/model_file.h).
#pragma once

#include <cstdint>
#include <vector>

#include "io/model_file.h"

namespace lowbit {

class Rope {
 public:
  // Precomputes cos/sin for positions 0 .. max_positions-1 (angles in double, so large positions keep
  // their precision). head_dim must be even.
  Rope(RopeStyle style, int64_t head_dim, float theta, int64_t max_positions);

  // Rotates heads[n_heads][head_dim] in place for position `position` (< max_positions).
  void apply(float* heads, int64_t n_heads, int64_t position) const;

 private:
  RopeStyle style_;
  int64_t head_dim_;
  std::vector<float> cos_;  // [max_positions][head_dim/2]
  std::vector<float> sin_;  // [max_positions][head_dim/2]
};

}  // namespace lowbit
