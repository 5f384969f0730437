// Double quantization (QLoRA, Dettmers et al. 2023, section 3): the FP32 per-block absmax scales of a
// code-book quantized tensor are themselves quantized. As in the paper, the mean of all the scales is
// subtracted first (scales are positive; centring lets a symmetric code use its whole range), then the
// centred scales are quantized symmetrically to 8 bits in blocks of 256, each block with an FP32
// second-level scale. For 64-element blocks this stores a scale in 8/64 + 32/(64*256) = 0.127 bits per
// weight instead of 32/64 = 0.5.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lowbit {

inline constexpr int64_t kDoubleQuantBlock = 256;

struct DoubleQuantizedScales {
  float mean = 0;                          // FP32 offset subtracted from every scale
  std::vector<int8_t> codes;               // [scales] round((scale - mean) / second_level[i / 256]), in -127..127
  std::vector<float> second_level_scales;  // [ceil(scales / 256)] FP32, max |scale - mean| / 127 of the block

  int64_t stored_bits() const;  // 8 per code, 32 per second-level scale, 32 for the mean
};

DoubleQuantizedScales double_quantize(std::span<const float> scales);
std::vector<float> dequantize_scales(const DoubleQuantizedScales& q);  // [scales] mean + code * second_level

}  // namespace lowbit
