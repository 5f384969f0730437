// What the importance-weighted quantizers (TypeTraits::from_float_weighted) share.
//
// A weighted quantizer minimises sum_i importance[i] * (x_i - value_i)^2 over a block. It runs a
// weighted search, then keeps whichever of the search's block and the plain quantizer's block has
// the smaller weighted error once dequantized: it is never worse than from_float on that measure,
// and uniform importance gives from_float's bytes wherever the search cannot beat them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lowbit {

// A type's weighted quantizer from its plain one and a weighted search of one block. Per block:
// search weights w from the importance (each raised to at least a small fraction of the block's mean,
// so that elements of near-zero importance still get sensible codes), the search's block, and the
// plain quantizer's block; the one with the smaller weighted error against the true importance is
// written. A block whose importance sums to zero (or is not finite) gets the plain block.
struct WeightedQuantizer {
  int64_t block_size;
  size_t block_bytes;
  void (*quantize)(const float* x, void* dst, int64_t n);  // the plain quantizer
  void (*dequantize)(const void* src, float* dst, int64_t n);
  // Quantizes one block (n == block_size) minimising sum w (x - value)^2.
  void (*search)(const float* x, const float* w, void* dst, int64_t n);
};

// n is a multiple of quantizer.block_size; importance[0..n) >= 0.
void quantize_row_weighted(const WeightedQuantizer& quantizer, const float* x, const float* importance, void* dst,
                           int64_t n);

// A block's linear code: value = scale * q + offset, integer q in [q_min, q_max]; offset is 0 when
// the format has none.
struct LinearCode {
  int q_min, q_max;
  bool has_offset;
};
struct LinearParams {
  float scale = 0.0f;
  float offset = 0.0f;
};
// The parameters as a block of that code stores them (FP16 rounding, an integer zero point, ...).
using StoreLinearParams = LinearParams (*)(LinearParams exact, LinearCode code);
// ggml's legacy blocks: scale and offset as FP16.
LinearParams round_to_f16(LinearParams exact, LinearCode code);

// Weighted scale search for one block x[0..n), weights w[0..n):
// candidate scales on a grid around the one that maps the block's range onto the code range, each
// followed by a weighted least-squares refit of scale (and offset) to its quants, stored, the quants
// rounded again against the stored values, and scored; then refits from the best. Returns the
// stored parameters of the lowest weighted error and writes their nearest quants to q[0..n).
LinearParams search_weighted_linear(const float* x, const float* w, int n, LinearCode code, StoreLinearParams store,
                                    int* q);

}  // namespace lowbit
