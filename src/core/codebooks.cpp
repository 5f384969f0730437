#include "core/codebooks.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.h"

namespace lowbit {

Codebook::Codebook(std::string name, int bits, std::vector<float> values)
    : name_(std::move(name)), bits_(bits), values_(std::move(values)) {
  if (bits_ < 1 || bits_ > 8 || values_.size() != (size_t{1} << bits_)) {
    throw_error("code book {}: {} values for {} bits, expected 2^bits", name_, values_.size(), bits_);
  }
  const auto [lowest, highest] = std::minmax_element(values_.begin(), values_.end());
  if (*lowest != -1.0f || *highest != 1.0f || std::find(values_.begin(), values_.end(), 0.0f) == values_.end()) {
    throw_error("code book {}: values must span [-1, 1] and include 0", name_);
  }
  // Stable sort by value keeps the first-listed code of equal values in front; unique drops the rest.
  std::vector<uint8_t> order(values_.size());
  for (size_t code = 0; code < order.size(); ++code) order[code] = static_cast<uint8_t>(code);
  std::stable_sort(order.begin(), order.end(), [&](uint8_t a, uint8_t b) { return values_[a] < values_[b]; });
  for (uint8_t code : order) {
    if (!sorted_values_.empty() && sorted_values_.back() == values_[code]) continue;
    sorted_values_.push_back(values_[code]);
    sorted_codes_.push_back(code);
  }
  for (size_t i = 0; i + 1 < sorted_values_.size(); ++i) {
    midpoints_.push_back(0.5f * (sorted_values_[i] + sorted_values_[i + 1]));
  }
}

const Codebook& Codebook::nf4() {
  // QLoRA appendix E / bitsandbytes: NormalFloat4, codes 0..15 in ascending order, code 7 is zero.
  static const Codebook book("nf4", 4,
                             {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
                              -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
                              0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f,
                              0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
                              0.7229568362236023f, 1.0f});
  return book;
}

const Codebook& Codebook::fp4_e2m1() {
  static const Codebook book = [] {
    std::vector<float> values(16);
    for (int code = 0; code < 16; ++code) {
      const int exponent = (code >> 1) & 3;
      const int mantissa = code & 1;
      // Exponent 0 is subnormal: 0.m * 2^(1 - bias) with bias 1.
      const float magnitude = exponent == 0 ? 0.5f * static_cast<float>(mantissa)
                                            : std::ldexp(1.0f + 0.5f * static_cast<float>(mantissa), exponent - 1);
      values[static_cast<size_t>(code)] = ((code & 8) ? -magnitude : magnitude) / 6.0f;
    }
    return Codebook("fp4", 4, std::move(values));
  }();
  return book;
}

Codebook Codebook::power_of_two(int bits) {
  if (bits < 2 || bits > 8) throw_error("log2 quantization: {} bits, expected 2..8", bits);
  const int sign_bit = 1 << (bits - 1);
  const int levels = sign_bit - 1;
  std::vector<float> values(size_t{1} << bits);
  for (int code = 0; code < (1 << bits); ++code) {
    const int e = code & (sign_bit - 1);
    const float magnitude = e == 0 ? 0.0f : std::ldexp(1.0f, e - levels);
    values[static_cast<size_t>(code)] = (code & sign_bit) ? -magnitude : magnitude;
  }
  return Codebook("log2-" + std::to_string(bits), bits, std::move(values));
}

}  // namespace lowbit
