#include "quant/quantized_tensor.h"

namespace lowbit {
namespace {

void dequantize(const LinearQuantized& q, std::span<float> out) { dequantize_linear(q, out); }
void dequantize(const CodebookQuantized& q, std::span<float> out) { dequantize_codebook(q, out); }
void dequantize(const Fp8Quantized& q, std::span<float> out) { dequantize_fp8(q, out); }

QuantizedTensor quantize(const LinearSpec& spec, std::string_view name, std::span<const float> values, int64_t rows,
                         int64_t cols) {
  return quantize_linear(name, values, rows, cols, spec);
}
QuantizedTensor quantize(const CodebookSpec& spec, std::string_view name, std::span<const float> values, int64_t rows,
                         int64_t cols) {
  return quantize_codebook(name, values, rows, cols, spec);
}
QuantizedTensor quantize(const Fp8Spec& spec, std::string_view name, std::span<const float> values, int64_t rows,
                         int64_t cols) {
  return quantize_fp8(name, values, rows, cols, spec);
}

// Elements sharing one GroupRange: the whole tensor for FP8.
int64_t range_group_size(const LinearQuantized& q) { return q.group_size; }
int64_t range_group_size(const CodebookQuantized& q) { return q.block_size; }
int64_t range_group_size(const Fp8Quantized& q) { return q.elements(); }

}  // namespace

QuantizedTensor quantize_with_scheme(const QuantScheme& scheme, std::string_view tensor_name, std::span<const float> values,
                                int64_t rows, int64_t cols) {
  return std::visit([&](const auto& spec) { return quantize(spec, tensor_name, values, rows, cols); }, scheme.spec);
}

int64_t elements(const QuantizedTensor& q) {
  return std::visit([](const auto& quantized) { return quantized.elements(); }, q);
}

void dequantize_tensor(const QuantizedTensor& q, std::span<float> out) {
  std::visit([&](const auto& quantized) { dequantize(quantized, out); }, q);
}

std::vector<float> dequantize_tensor(const QuantizedTensor& q) {
  std::vector<float> out(static_cast<size_t>(elements(q)));
  dequantize_tensor(q, out);
  return out;
}

double bits_per_weight(const QuantizedTensor& q) {
  return std::visit([](const auto& quantized) { return quantized.bits_per_weight(); }, q);
}

QuantError measure_quant_error(const QuantizedTensor& q, std::span<const float> original) {
  const std::vector<float> reconstructed = dequantize_tensor(q);
  return std::visit(
      [&](const auto& quantized) {
        return measure_quant_error(original, reconstructed, range_group_size(quantized), representable_ranges(quantized),
                                   quantized.bits_per_weight());
      },
      q);
}

}  // namespace lowbit
