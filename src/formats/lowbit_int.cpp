#include "formats/lowbit_int.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "formats/bitpack.h"
#include "formats/lowbit_block_common.h"

namespace lowbit {
namespace {

struct CodeRange {
  int qmin;
  int qmax;
};

CodeRange signed_code_range(int bits) { return {-(1 << (bits - 1)), (1 << (bits - 1)) - 1}; }

struct GroupParams {
  float scale;
  int zero;
};

// quant/linear.cpp's params_for_range for the min-max range and FP16 scales.
GroupParams min_max_params(const float* x, int64_t n, bool symmetric, CodeRange codes) {
  const auto [min_it, max_it] = std::minmax_element(x, x + n);
  float lo = *min_it, hi = *max_it;
  if (symmetric) {
    const float absmax = std::max(std::abs(lo), std::abs(hi));
    return {round_scale_to_f16(absmax / static_cast<float>(codes.qmax)), 0};
  }
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const auto exact_scale = static_cast<float>((static_cast<double>(hi) - lo) / (codes.qmax - codes.qmin));
  const float scale = round_scale_to_f16(exact_scale);
  if (scale == 0.0f) return {scale, codes.qmin};
  const float zero = std::nearbyint(static_cast<float>(codes.qmin) - lo / scale);
  return {scale, static_cast<int>(std::clamp(zero, static_cast<float>(codes.qmin), static_cast<float>(codes.qmax)))};
}

// round(clamp(r / S + Z, qmin, qmax)), ties to even, as quant/linear.cpp's quantize_value.
uint8_t code_of(float r, float inverse_scale, float zero, CodeRange codes) {
  const float x = std::clamp(r * inverse_scale + zero, static_cast<float>(codes.qmin), static_cast<float>(codes.qmax));
  return static_cast<uint8_t>(std::nearbyint(x) - static_cast<float>(codes.qmin));
}

// Stored parameters of the weighted search (value = S * q + offset): S as FP16, and for the
// asymmetric formats the offset -S * Z of an integer zero point Z in [qmin, qmax].
LinearParams stored_params(LinearParams exact, LinearCode code) {
  const float scale = round_scale_to_f16(exact.scale);
  if (!code.has_offset || scale == 0.0f) return {scale, 0.0f};
  const float zero = std::clamp(std::nearbyint(-exact.offset / scale), static_cast<float>(code.q_min),
                                static_cast<float>(code.q_max));
  return {scale, -scale * zero};
}

// Writes the n / f.group blocks of n elements from their codes (q - qmin, [n]) and one set of
// parameters, repeated in every block.
void write_blocks(LowbitIntFormat f, const uint8_t* element_codes, int64_t n, float scale, int zero, CodeRange codes,
                  uint8_t* out) {
  for (int64_t first = 0; first < n; first += f.group) {
    store_f16(out, scale);
    out += 2;
    if (!f.symmetric) *out++ = static_cast<uint8_t>(zero - codes.qmin);
    const std::vector<uint8_t> packed =
        pack_bits({element_codes + first, static_cast<size_t>(f.group)}, f.bits);
    out = std::copy(packed.begin(), packed.end(), out);
  }
}

// The blocks of src[0..n) under one set of min-max parameters taken over all n elements.
void quantize_min_max(LowbitIntFormat f, const float* src, int64_t n, CodeRange codes, uint8_t* out) {
  std::vector<float> finite(static_cast<size_t>(n));  // [n] the inputs, non-finite ones as 0
  std::transform(src, src + n, finite.begin(), [](float r) { return std::isfinite(r) ? r : 0.0f; });
  const GroupParams params = min_max_params(finite.data(), n, f.symmetric, codes);
  const float inverse_scale = params.scale == 0.0f ? 0.0f : 1.0f / params.scale;
  std::vector<uint8_t> element_codes(finite.size());  // [n] q - qmin
  for (size_t i = 0; i < finite.size(); ++i) {
    element_codes[i] = code_of(finite[i], inverse_scale, static_cast<float>(params.zero), codes);
  }
  write_blocks(f, element_codes.data(), n, params.scale, params.zero, codes, out);
}

}  // namespace

void search_lowbit_int(LowbitIntFormat f, const float* src, const float* w, void* dst, int64_t n) {
  const CodeRange codes = signed_code_range(f.bits);
  std::vector<int> q(static_cast<size_t>(n));  // [n]
  const LinearParams params =
      search_weighted_linear(src, w, static_cast<int>(n), {codes.qmin, codes.qmax, !f.symmetric}, stored_params, q.data());
  // The zero point is exactly what stored_params rounded the offset to.
  const int zero = params.scale == 0.0f ? 0 : static_cast<int>(std::nearbyint(-params.offset / params.scale));
  std::vector<uint8_t> element_codes(q.size());  // [n] q - qmin
  for (size_t i = 0; i < q.size(); ++i) element_codes[i] = static_cast<uint8_t>(q[i] - codes.qmin);
  write_blocks(f, element_codes.data(), n, params.scale, std::clamp(zero, codes.qmin, codes.qmax), codes,
               static_cast<uint8_t*>(dst));
}

void quantize_row_lowbit_int(LowbitIntFormat f, const float* src, void* dst, int64_t n) {
  const CodeRange codes = signed_code_range(f.bits);
  auto* out = static_cast<uint8_t*>(dst);
  if (f.per_row) {
    quantize_min_max(f, src, n, codes, out);
    return;
  }
  for (int64_t first = 0; first < n; first += f.group) {
    quantize_min_max(f, src + first, f.group, codes, out);
    out += lowbit_int_block_bytes(f);
  }
}

void dequantize_row_lowbit_int(LowbitIntFormat f, const void* src, float* dst, int64_t n) {
  const size_t code_bytes = static_cast<size_t>(f.group * f.bits / 8);
  const auto* in = static_cast<const uint8_t*>(src);
  uint8_t element_codes[256];  // unpacked in chunks of up to 256 codes
  for (int64_t first = 0; first < n; first += f.group) {
    const float scale = load_f16(in);
    const int offset = lowbit_int_zero_code(f, in);  // code - (Z - qmin) == q - Z
    in += lowbit_int_codes_offset(f);
    for (int64_t done = 0; done < f.group; done += 256) {
      const auto count = static_cast<size_t>(std::min<int64_t>(256, f.group - done));
      unpack_bits({in + done * f.bits / 8, count * static_cast<size_t>(f.bits) / 8}, f.bits, {element_codes, count});
      for (size_t i = 0; i < count; ++i) dst[first + done + static_cast<int64_t>(i)] = scale * static_cast<float>(element_codes[i] - offset);
    }
    in += code_bytes;
  }
}

}  // namespace lowbit
