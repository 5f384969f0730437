#include "quant/codebook_quant.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "formats/bitpack.h"

namespace lowbit {

Codebook codebook_for(const CodebookSpec& spec) {
  switch (spec.kind) {
    case CodebookSpec::Kind::NF4: return Codebook::nf4();
    case CodebookSpec::Kind::FP4: return Codebook::fp4_e2m1();
    case CodebookSpec::Kind::Log2: break;
  }
  return Codebook::power_of_two(spec.bits);
}

std::vector<float> CodebookQuantized::block_scales() const {
  return double_quantized ? dequantize_scales(*double_quantized) : absmax;
}

double CodebookQuantized::bits_per_weight() const {
  const double scale_storage = double_quantized ? static_cast<double>(double_quantized->stored_bits())
                                                : static_cast<double>(absmax.size()) * scale_bits(scale_precision);
  return (8.0 * static_cast<double>(codes.size()) + scale_storage) / static_cast<double>(elements());
}

CodebookQuantized quantize_codebook(std::string_view tensor_name, std::span<const float> values, int64_t rows,
                                    int64_t cols, const CodebookSpec& spec) {
  check_quant_input(tensor_name, values, rows, cols);
  if (spec.double_quant && spec.scale_precision != ScalePrecision::F32) {
    throw_error("tensor {}: double quantization quantizes FP32 scales; do not combine it with f16 scales", tensor_name);
  }
  CodebookQuantized q{.codebook = codebook_for(spec)};
  q.rows = rows;
  q.cols = cols;
  q.block_size = resolve_group_size(spec.grouping, tensor_name, rows, cols);
  q.scale_precision = spec.scale_precision;
  const int64_t blocks = q.blocks();

  std::vector<float> absmax(static_cast<size_t>(blocks));  // [blocks]
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    float m = 0;
    for (int64_t i = b * q.block_size; i < (b + 1) * q.block_size; ++i) m = std::max(m, std::abs(values[static_cast<size_t>(i)]));
    absmax[static_cast<size_t>(b)] = round_scale_to_storage(m, spec.scale_precision);
  }
  for (int64_t b = 0; b < blocks; ++b) {
    if (!std::isfinite(absmax[static_cast<size_t>(b)])) {
      throw_error("tensor {}: block {} has absmax above the FP16 maximum 65504; store scales as f32", tensor_name, b);
    }
  }
  if (spec.double_quant) {
    q.double_quantized = double_quantize(absmax);
  } else {
    q.absmax = std::move(absmax);
  }

  const std::vector<float> scales = q.block_scales();
  for (size_t b = 0; b < scales.size(); ++b) {
    // Only double quantization can overshoot: mean + code * second-level scale past FLT_MAX.
    if (!std::isfinite(scales[b])) throw_error("tensor {}: block {} scale overflows after double quantization", tensor_name, b);
  }
  std::vector<uint8_t> element_codes(values.size());  // [rows * cols]
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const float scale = scales[static_cast<size_t>(b)];
    const float inverse = scale == 0.0f ? 0.0f : 1.0f / scale;
    for (int64_t i = b * q.block_size; i < (b + 1) * q.block_size; ++i) {
      element_codes[static_cast<size_t>(i)] = q.codebook.nearest_code(values[static_cast<size_t>(i)] * inverse);
    }
  }
  q.codes = pack_bits(element_codes, q.codebook.bits());
  return q;
}

void dequantize_codebook(const CodebookQuantized& q, std::span<float> out) {
  std::vector<uint8_t> element_codes(static_cast<size_t>(q.elements()));
  unpack_bits(q.codes, q.codebook.bits(), element_codes);
  const std::vector<float> scales = q.block_scales();
  const int64_t blocks = q.blocks();
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const float scale = scales[static_cast<size_t>(b)];
    for (int64_t i = b * q.block_size; i < (b + 1) * q.block_size; ++i) {
      out[static_cast<size_t>(i)] = scale * q.codebook.value(element_codes[static_cast<size_t>(i)]);
    }
  }
}

std::vector<GroupRange> representable_ranges(const CodebookQuantized& q) {
  std::vector<float> sorted = q.codebook.values();
  std::sort(sorted.begin(), sorted.end());
  const size_t last = sorted.size() - 1;
  // Every code book has at least the distinct values -1, 0, 1, so the neighbours exist.
  const float lowest = sorted[0] - 0.5f * (sorted[1] - sorted[0]);
  const float highest = sorted[last] + 0.5f * (sorted[last] - sorted[last - 1]);
  const std::vector<float> scales = q.block_scales();
  std::vector<GroupRange> ranges(scales.size());
  for (size_t b = 0; b < ranges.size(); ++b) {
    const float a = scales[b] * lowest, c = scales[b] * highest;
    ranges[b] = {std::min(a, c), std::max(a, c)};
  }
  return ranges;
}

}  // namespace lowbit
