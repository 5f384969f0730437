#include "quant/linear.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "formats/bitpack.h"

namespace lowbit {
namespace {

struct CodeRange {
  int qmin;
  int qmax;
};

CodeRange code_range(int bits, bool is_unsigned) {
  if (is_unsigned) return {0, (1 << bits) - 1};
  return {-(1 << (bits - 1)), (1 << (bits - 1)) - 1};
}

struct GroupParams {
  float scale;
  int zero;
};

// [lo, hi] is the clipping range; a symmetric scheme uses max(|lo|, |hi|).
GroupParams params_for_range(float lo, float hi, const LinearSpec& spec, CodeRange codes) {
  if (spec.symmetric) {
    const float absmax = std::max(std::abs(lo), std::abs(hi));
    return {round_scale_to_storage(absmax / static_cast<float>(codes.qmax), spec.scale_precision), 0};
  }
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  // hi - lo in double: it can exceed the float range when |lo| and hi are both near FLT_MAX.
  const auto exact_scale = static_cast<float>((static_cast<double>(hi) - lo) / (codes.qmax - codes.qmin));
  const float scale = round_scale_to_storage(exact_scale, spec.scale_precision);
  if (scale == 0.0f || !std::isfinite(scale)) return {scale, codes.qmin};
  const float zero = std::nearbyint(static_cast<float>(codes.qmin) - lo / scale);
  return {scale, static_cast<int>(std::clamp(zero, static_cast<float>(codes.qmin), static_cast<float>(codes.qmax)))};
}

// round(clamp(r / S + Z, qmin, qmax)) as a float holding an integer. Clamping first keeps the value
// within +-2^22, where adding and subtracting 1.5 * 2^23 rounds to the nearest integer, ties to even,
// like std::nearbyint but without a library call in the innermost loop.
inline float quantize_value(float r, float inverse_scale, float zero, CodeRange codes) {
  constexpr float kRoundingMagic = 12582912.0f;  // 1.5 * 2^23
  const float x = std::clamp(r * inverse_scale + zero, static_cast<float>(codes.qmin), static_cast<float>(codes.qmax));
  return (x + kRoundingMagic) - kRoundingMagic;
}

inline float inverse(float scale) { return scale == 0.0f ? 0.0f : 1.0f / scale; }

double squared_error(std::span<const float> group, GroupParams params, CodeRange codes) {
  const float inverse_scale = inverse(params.scale);
  const auto zero = static_cast<float>(params.zero);
  double sum = 0;
  for (float r : group) {
    const float error = r - params.scale * (quantize_value(r, inverse_scale, zero, codes) - zero);
    sum += static_cast<double>(error) * error;
  }
  return sum;
}

// The q-quantile (q in [0, 1]) of the values in scratch, interpolating linearly between order
// statistics; reorders scratch.
float quantile_in_place(std::vector<float>& scratch, double q) {
  const double position = q * static_cast<double>(scratch.size() - 1);
  const auto k = static_cast<size_t>(position);
  std::nth_element(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(k), scratch.end());
  const float below = scratch[k];
  const double fraction = position - static_cast<double>(k);
  if (fraction == 0 || k + 1 >= scratch.size()) return below;
  const float above = *std::min_element(scratch.begin() + static_cast<std::ptrdiff_t>(k + 1), scratch.end());
  return static_cast<float>(below + fraction * (above - below));
}

GroupParams choose_params(std::span<const float> group, const LinearSpec& spec, CodeRange codes,
                          std::vector<float>& scratch) {
  const auto [min_it, max_it] = std::minmax_element(group.begin(), group.end());
  const float lo = *min_it, hi = *max_it;
  switch (spec.range_method) {
    case RangeMethod::MinMax: return params_for_range(lo, hi, spec, codes);
    case RangeMethod::Percentile: {
      const double upper = spec.percentile / 100.0;
      if (spec.symmetric) {
        scratch.resize(group.size());
        std::transform(group.begin(), group.end(), scratch.begin(), [](float r) { return std::abs(r); });
        return params_for_range(0.0f, quantile_in_place(scratch, upper), spec, codes);
      }
      scratch.assign(group.begin(), group.end());
      const float clip_lo = quantile_in_place(scratch, 1.0 - upper);
      const float clip_hi = quantile_in_place(scratch, upper);
      return params_for_range(clip_lo, clip_hi, spec, codes);
    }
    case RangeMethod::Mse: {
      GroupParams best = params_for_range(lo, hi, spec, codes);
      double best_error = squared_error(group, best, codes);
      for (int step = 1; step < kMseShrinkSteps; ++step) {
        const auto shrink = static_cast<float>(1.0 - kMseShrinkStep * step);
        const GroupParams candidate = params_for_range(shrink * lo, shrink * hi, spec, codes);
        const double error = squared_error(group, candidate, codes);
        if (error < best_error) {
          best = candidate;
          best_error = error;
        }
      }
      return best;
    }
  }
  return params_for_range(lo, hi, spec, codes);
}

void check_spec(const LinearSpec& spec, std::string_view tensor_name) {
  if (spec.bits < 2 || spec.bits > 8) throw_error("tensor {}: {}-bit integer quantization, expected 2..8 bits", tensor_name, spec.bits);
  if (spec.range_method == RangeMethod::Percentile && !(spec.percentile > 50.0 && spec.percentile <= 100.0)) {
    throw_error("tensor {}: clipping percentile {}, expected more than 50 and at most 100", tensor_name, spec.percentile);
  }
}

}  // namespace

double LinearQuantized::bits_per_weight() const {
  const double bits = 8.0 * static_cast<double>(codes.size() + zero_points.size()) +
                      static_cast<double>(scales.size()) * scale_bits(scale_precision);
  return bits / static_cast<double>(elements());
}

LinearQuantized quantize_linear(std::string_view tensor_name, std::span<const float> values, int64_t rows,
                                int64_t cols, const LinearSpec& spec) {
  check_quant_input(tensor_name, values, rows, cols);
  check_spec(spec, tensor_name);
  const CodeRange codes = code_range(spec.bits, spec.is_unsigned);
  LinearQuantized q;
  q.rows = rows;
  q.cols = cols;
  q.bits = spec.bits;
  q.qmin = codes.qmin;
  q.qmax = codes.qmax;
  q.group_size = resolve_group_size(spec.grouping, tensor_name, rows, cols);
  q.scale_precision = spec.scale_precision;
  q.symmetric = spec.symmetric;
  const int64_t groups = q.groups();
  q.scales.resize(static_cast<size_t>(groups));
  std::vector<uint8_t> zero_codes(static_cast<size_t>(groups));  // [groups] Z - qmin
  std::vector<uint8_t> element_codes(values.size());             // [rows * cols] q - qmin
#pragma omp parallel
  {
    std::vector<float> scratch;
#pragma omp for schedule(dynamic, 16)
    for (int64_t g = 0; g < groups; ++g) {
      const auto group = values.subspan(static_cast<size_t>(g * q.group_size), static_cast<size_t>(q.group_size));
      const GroupParams params = choose_params(group, spec, codes, scratch);
      q.scales[static_cast<size_t>(g)] = params.scale;
      zero_codes[static_cast<size_t>(g)] = static_cast<uint8_t>(params.zero - codes.qmin);
      const float inverse_scale = inverse(params.scale);
      const auto zero = static_cast<float>(params.zero);
      uint8_t* out = element_codes.data() + g * q.group_size;
      for (size_t i = 0; i < group.size(); ++i) {
        out[i] = static_cast<uint8_t>(quantize_value(group[i], inverse_scale, zero, codes) - static_cast<float>(codes.qmin));
      }
    }
  }
  for (int64_t g = 0; g < groups; ++g) {
    const float scale = q.scales[static_cast<size_t>(g)];
    if (!std::isfinite(scale)) {
      throw_error("tensor {}: group {} needs a scale above the FP16 maximum 65504; store scales as f32", tensor_name, g);
    }
    // Z rounds the grid up to half a step past the data, which past +-FLT_MAX / 2 can overflow.
    const int zero = zero_codes[static_cast<size_t>(g)] + codes.qmin;
    if (!std::isfinite(scale * static_cast<float>(codes.qmin - zero)) || !std::isfinite(scale * static_cast<float>(codes.qmax - zero))) {
      throw_error("tensor {}: group {} spans a range too close to the float limits to quantize", tensor_name, g);
    }
  }
  q.codes = pack_bits(element_codes, spec.bits);
  if (!spec.symmetric) q.zero_points = pack_bits(zero_codes, spec.bits);
  return q;
}

namespace {

// [groups] the integer zero point of each group.
std::vector<int> zero_points_of(const LinearQuantized& q) {
  std::vector<int> zeros(static_cast<size_t>(q.groups()), 0);
  if (q.symmetric) return zeros;
  std::vector<uint8_t> zero_codes(zeros.size());
  unpack_bits(q.zero_points, q.bits, zero_codes);
  for (size_t g = 0; g < zeros.size(); ++g) zeros[g] = zero_codes[g] + q.qmin;
  return zeros;
}

}  // namespace

void dequantize_linear(const LinearQuantized& q, std::span<float> out) {
  std::vector<uint8_t> element_codes(static_cast<size_t>(q.elements()));
  unpack_bits(q.codes, q.bits, element_codes);
  const std::vector<int> zeros = zero_points_of(q);
  const int64_t groups = q.groups();
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < groups; ++g) {
    const float scale = q.scales[static_cast<size_t>(g)];
    // code - (Z - qmin) == q - Z, an exact small integer.
    const int offset = zeros[static_cast<size_t>(g)] - q.qmin;
    for (int64_t i = g * q.group_size; i < (g + 1) * q.group_size; ++i) {
      out[static_cast<size_t>(i)] = scale * static_cast<float>(element_codes[static_cast<size_t>(i)] - offset);
    }
  }
}

std::vector<GroupRange> representable_ranges(const LinearQuantized& q) {
  const std::vector<int> zeros = zero_points_of(q);
  std::vector<GroupRange> ranges(zeros.size());
  for (size_t g = 0; g < ranges.size(); ++g) {
    ranges[g] = {q.scales[g] * (static_cast<float>(q.qmin - zeros[g]) - 0.5f),
                 q.scales[g] * (static_cast<float>(q.qmax - zeros[g]) + 0.5f)};
  }
  return ranges;
}

}  // namespace lowbit
