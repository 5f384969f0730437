#include "quant/double_quant.h"

#include <algorithm>
#include <cmath>

namespace lowbit {

int64_t DoubleQuantizedScales::stored_bits() const {
  return 8 * static_cast<int64_t>(codes.size()) + 32 * static_cast<int64_t>(second_level_scales.size()) + 32;
}

DoubleQuantizedScales double_quantize(std::span<const float> scales) {
  DoubleQuantizedScales q;
  double sum = 0;
  for (float s : scales) sum += s;
  q.mean = scales.empty() ? 0.0f : static_cast<float>(sum / static_cast<double>(scales.size()));
  q.codes.resize(scales.size());
  for (size_t begin = 0; begin < scales.size(); begin += kDoubleQuantBlock) {
    const size_t end = std::min(scales.size(), begin + kDoubleQuantBlock);
    float absmax = 0;
    for (size_t i = begin; i < end; ++i) absmax = std::max(absmax, std::abs(scales[i] - q.mean));
    const float second_level = absmax / 127.0f;
    const float inverse = second_level == 0.0f ? 0.0f : 1.0f / second_level;
    for (size_t i = begin; i < end; ++i) {
      const float code = std::clamp(std::nearbyint((scales[i] - q.mean) * inverse), -127.0f, 127.0f);
      q.codes[i] = static_cast<int8_t>(code);
    }
    q.second_level_scales.push_back(second_level);
  }
  return q;
}

std::vector<float> dequantize_scales(const DoubleQuantizedScales& q) {
  std::vector<float> scales(q.codes.size());
  for (size_t i = 0; i < scales.size(); ++i) {
    scales[i] = q.mean + static_cast<float>(q.codes[i]) * q.second_level_scales[i / kDoubleQuantBlock];
  }
  return scales;
}

}  // namespace lowbit
