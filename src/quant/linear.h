// Linear (uniform integer) quantization, 2 to 8 bits, per tensor, per output channel or per group.
//
//   asymmetric (affine): S = (max - min) / (qmax - qmin), Z = round(qmin - min / S)
//   symmetric:           S = max|r| / qmax,                Z = 0
//   q = clamp(round(r / S + Z), qmin, qmax),  r' = S * (q - Z)
//
// Signed codes span [-2^(bits-1), 2^(bits-1) - 1], unsigned ones [0, 2^bits - 1]. The range [min, max]
// is first widened to include 0, so Z is an integer in [qmin, qmax] and a real 0 is reconstructed
// exactly. S is rounded to its stored precision before the codes are chosen, so dequantizing from the
// stored scales gives exactly what the quantizer measured. A group whose range is {0} gets S = 0: its
// codes all equal Z and reconstruct to exactly 0.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "quant/quant_error.h"
#include "quant/quant_input.h"

namespace lowbit {

// How a group's clipping range [min, max] (or max|r| when symmetric) is chosen.
enum class RangeMethod {
  MinMax,      // the group's extremes: nothing is clipped
  Percentile,  // the p-th and (100-p)-th percentiles (of |r| when symmetric)
  Mse,         // the min-max range shrunk by the factor of kMseShrinkFactors with least squared error
};

struct LinearSpec {
  int bits = 4;  // 2..8
  bool symmetric = false;
  bool is_unsigned = false;
  Grouping grouping;
  ScalePrecision scale_precision = ScalePrecision::F16;
  RangeMethod range_method = RangeMethod::MinMax;
  double percentile = 99.9;  // used by RangeMethod::Percentile; in (50, 100]
  bool operator==(const LinearSpec&) const = default;
};

// The MSE search tries the min-max range scaled by 1.00, 0.98, ..., 0.20 (a 3-bit per-tensor grid
// on Gaussian weights does best near 0.5 of the range, a 2-bit one lower still).
inline constexpr int kMseShrinkSteps = 41;
inline constexpr double kMseShrinkStep = 0.02;

struct LinearQuantized {
  int64_t rows = 0;
  int64_t cols = 0;
  int bits = 0;
  int qmin = 0;
  int qmax = 0;
  int64_t group_size = 0;  // consecutive row-major elements sharing a scale and zero point
  ScalePrecision scale_precision = ScalePrecision::F16;
  bool symmetric = false;
  std::vector<uint8_t> codes;        // bitpack.h stream of `bits`-bit codes q - qmin, one per element
  std::vector<float> scales;         // [groups] S, each exactly representable in scale_precision
  std::vector<uint8_t> zero_points;  // bitpack.h stream of `bits`-bit Z - qmin per group; empty if symmetric

  int64_t elements() const { return rows * cols; }
  int64_t groups() const { return elements() / group_size; }
  double bits_per_weight() const;
};

// Throws lowbit::Error naming the tensor for bad input (see check_quant_input), a bit width outside
// 2..8, a group size that does not divide the rows, a percentile outside (50, 100], or a scale too
// large for FP16 storage.
LinearQuantized quantize_linear(std::string_view tensor_name, std::span<const float> values, int64_t rows,
                                int64_t cols, const LinearSpec& spec);

// out.size() == q.elements().
void dequantize_linear(const LinearQuantized& q, std::span<float> out);

// [groups] S * [qmin - Z - 1/2, qmax - Z + 1/2]: where a value's code is not changed by the clamp.
std::vector<GroupRange> representable_ranges(const LinearQuantized& q);

}  // namespace lowbit
