// Code books for non-linear 4-bit (and power-of-two) quantization: a code is an index into a short
// table of values normalized to [-1, 1]; a block stores codes plus one scale (its absmax), and a
// weight is reconstructed as scale * value(code).
//
//   NF4 (QLoRA, Dettmers et al. 2023, appendix E): the 16 published NormalFloat constants, built from
//        quantiles of N(0, 1) so each code is equally likely for normally distributed weights, with
//        an exact zero. tests/core/test_codebooks.cpp re-derives them from the normal quantiles.
//   FP4 E2M1 (the OCP MX element format): code = sign<<3 | exponent<<1 | mantissa, exponent bias 1,
//        so magnitudes {0, 0.5, 1, 1.5, 2, 3, 4, 6}; the table holds them divided by 6 so the block
//        absmax maps to the largest code. (bitsandbytes' FP4, QLoRA's FP4 baseline, is also E2M1 but
//        with bias 3 and a special subnormal: normalized it shares 1/6 ... 1 and has 1/192 instead of
//        1/12 as its smallest magnitude, with a different code numbering.)
//   power of two (log2): code = sign<<(bits-1) | e; e = 0 is zero, e = k >= 1 is 2^(k - L) with
//        L = 2^(bits-1) - 1 levels, so magnitudes {0, 2^-(L-1), ..., 1/2, 1}.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {

class Codebook {
 public:
  static const Codebook& nf4();
  static const Codebook& fp4_e2m1();
  static Codebook power_of_two(int bits);  // bits 2..8; throws lowbit::Error otherwise

  // values[code] for code in [0, 2^bits); values must lie in [-1, 1] and include 0 and +/-1.
  Codebook(std::string name, int bits, std::vector<float> values);

  const std::string& name() const { return name_; }
  int bits() const { return bits_; }
  int size() const { return static_cast<int>(values_.size()); }
  float value(uint8_t code) const { return values_[code]; }
  const std::vector<float>& values() const { return values_; }

  // The code whose value is nearest to x (x is normally in [-1, 1]; outside, the end codes). A tie
  // between two neighbours goes to the larger value; duplicate values (FP4's -0) map to the code
  // listed first. Quantizers reject NaN before asking.
  uint8_t nearest_code(float x) const {
    // The nearest sorted value's index is the number of midpoints at or below x. Inline, and for the
    // 4-bit books a branch-free count, because quantizers call this once per weight.
    if (midpoints_.size() <= kLinearSearchLimit) {
      size_t index = 0;
      for (float midpoint : midpoints_) index += x >= midpoint ? 1 : 0;
      return sorted_codes_[index];
    }
    const auto above = std::upper_bound(midpoints_.begin(), midpoints_.end(), x);
    return sorted_codes_[static_cast<size_t>(above - midpoints_.begin())];
  }

 private:
  static constexpr size_t kLinearSearchLimit = 32;

  std::string name_;
  int bits_;
  std::vector<float> values_;          // [2^bits] indexed by code
  std::vector<float> sorted_values_;   // [distinct values] ascending
  std::vector<uint8_t> sorted_codes_;  // [distinct values] code of sorted_values_[i]
  std::vector<float> midpoints_;       // [distinct values - 1] between neighbours in sorted_values_
};

}  // namespace lowbit
