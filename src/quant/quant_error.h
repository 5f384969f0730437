// The one result type of every quantizer: how many bits a weight costs and how far the reconstruction
// is from the original.
#pragma once

#include <cstdint>
#include <span>

namespace lowbit {

struct QuantError {
  // Everything stored, per weight: packed codes, scales and zero points in their stored precision, and
  // second-level scales of double quantization.
  double bits_per_weight = 0;
  double max_abs_error = 0;
  double mse = 0;      // mean of (original - reconstructed)^2 over all elements
  double sqnr_db = 0;  // 10 log10(mean(original^2) / mse); +infinity when mse == 0
  // mse split by where an element lies: clip_mse sums the squared errors of elements outside their
  // group's GroupRange (truncated by the clamp to the end codes), rounding_mse those inside; both are
  // divided by the total element count, so clip_mse + rounding_mse == mse.
  double clip_mse = 0;
  double rounding_mse = 0;
};

// The real interval a group quantizes without saturating: its end codes' values widened by half the
// step to their neighbours. Inside, an element's error is rounding to the nearest code; outside, the
// clamp to an end code changed its code, so its whole error counts as clipping.
struct GroupRange {
  float lo = 0;
  float hi = 0;
};

// original and reconstructed have the same length, a multiple of group_size; ranges[g] belongs to
// elements [g*group_size, (g+1)*group_size).
QuantError measure_quant_error(std::span<const float> original, std::span<const float> reconstructed,
                               int64_t group_size, std::span<const GroupRange> ranges, double bits_per_weight);

}  // namespace lowbit
