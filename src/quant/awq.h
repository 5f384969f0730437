// Activation-aware weight quantization (Lin et al. 2023): before rounding, the input columns of a site's
// matrices that meet large activations are scaled up, W diag(s) with s_c = magnitude_c^alpha, and the
// inverse is folded into the site's producer (quant/channel_scaling.h), so that the model computes the
// same function while the salient channels lose less to rounding. Per site, alpha (options.awq_grid
// values k/grid in [0, 1)) and the magnitude measure (RMS from the stats' mean squares, or abs max) are
// chosen by the output error they cause; alpha = 0 is plain round-to-nearest, so the choice is never
// worse than RTN on that objective. Then each block of the target type may be clipped to a narrower
// range where that lowers the output error (options.awq_clip).
//
// Output error of a matrix W reading a site whose activations have Gram matrix G = X^T X / n:
//   tr(dW G dW^T),  dW = Q(W diag(s)) diag(s)^-1 - W,
// Q the target type's quantize-dequantize (its importance-weighted quantizer where it has one, fed the
// scaled activations' mean squares, mean_square_c / s_c^2). It is the mean squared error of the matrix's
// output over the calibration tokens, so no activations are needed. Stats recorded without the Gram
// matrix use its diagonal (mean_square).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "formats/type_traits.h"
#include "quant/calib_stats.h"
#include "quant/quant_method.h"

namespace lowbit {

enum class AwqMagnitude { kRms, kAbsMax };

// One matrix reading a site, in the type it will be written in.
struct AwqMatrix {
  const float* weights = nullptr;  // [rows][cols]
  int64_t rows = 0;
  int64_t cols = 0;
  const TypeTraits* type = nullptr;  // quantized; cols % block_size == 0
};

struct AwqChoice {
  double alpha = 0;  // 0: no scaling
  AwqMagnitude magnitude = AwqMagnitude::kRms;
  std::vector<float> scales;   // [channels]; all 1 when alpha is 0
  double error = 0;            // output error at the choice, summed over the matrices
  double unscaled_error = 0;   // output error of plain round-to-nearest (alpha = 0)
};

// s_c = m_c^alpha, m floored at 1e-4 of its largest value (channels never active would get no scale
// at all), normalized so that sqrt(max s * min s) = 1. magnitude: [channels], not all zero.
std::vector<float> awq_scales(std::span<const double> magnitude, double alpha);

// The output error of one matrix whose columns are scaled by `scales` before quantization. Large
// matrices are measured on 256 evenly spaced rows (rows quantize independently, so this estimates
// the whole matrix's error up to the factor rows / 256).
double awq_output_error(const AwqMatrix& matrix, std::span<const float> scales, const SiteStats& site);

// The grid search over alpha and magnitude for one site; scales of attn_out_in are tied across the q
// heads of a KV group (channel_scaling.h) before they are measured.
AwqChoice search_awq_scales(const ModelConfig& config, const SiteStats& site, std::span<const AwqMatrix> matrices,
                            int grid);

// Clips each block of the target type in w [rows][cols] (already multiplied by `scales`, the site's
// channel scales) to [r*min, r*max] of the block, r from 1 down to 0.5 in steps of 0.05, choosing the r
// whose quantized block has the least output error (the block's part of the Gram matrix); the quantizer
// that later writes w then sees the clipped values.
void clip_awq_blocks(float* w, int64_t rows, int64_t cols, const TypeTraits& type, std::span<const float> scales,
                     const SiteStats& site);

// quant_method.h's rewrite stage for "awq": for every site of the layer with a quantized reader, the
// search and the fold, then the clipping of every quantized reader. Tensors whose target type is a float
// type (F32/F16/BF16) are not quantized, so they are neither measured nor clipped (they are still scaled
// when they read a scaled site, as the fold requires).
void awq_rewrite_layer(const LayerRewriteContext& context, LayerTensors& tensors);

}  // namespace lowbit
