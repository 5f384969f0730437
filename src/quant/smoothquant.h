// SmoothQuant (Xiao et al. 2022): activations with outlier channels are hard to quantize to int8 per
// tensor, weights are easy; dividing input channel c by s_c and multiplying the weights' column c by s_c
// (X' = X diag(s)^-1, W' = W diag(s)) migrates part of the difficulty from the activations to the weights
// without changing the product:
//   s_c = max|X_c|^alpha / max|W_c|^(1 - alpha),
// max|X_c| from the calibration stats' abs_max, max|W_c| over all matrices reading the site, alpha the
// migration strength (options.alpha, or per site the one of least smoothing_error_estimate: a fixed alpha
// that suits dynamic activations leaves static int8 scales too coarse where outliers are large). The
// paper smooths the inputs of the attention projections and of the first FFN matrices; here every site whose scales fold exactly is smoothed (attn_in, attn_out_in
// with the scales of a KV group made equal, ffn_in, ffn_down_in, and output_in unless the output matrix
// is the tied embedding table), because W8A8 quantizes every matrix's input and the outliers of
// silu(gate)*up are the largest of the block. The fold is quant/channel_scaling.h's.
//
// With static activation quantization (options.act_quant == "static"), every quantized matrix that reads
// a site gets "<name without .weight>.act_scale", an F32 tensor of shape {1}: the int8 scale of its
// smoothed input, max_c(abs_max_c / s_c) / 127, which the W8A8 runtime reads.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "quant/calib_stats.h"
#include "quant/quant_method.h"

namespace lowbit {

// activation_max, weight_max: [channels]. A channel where either is 0 (never active, or read by no
// weight) keeps s = 1.
std::vector<float> smoothquant_scales(std::span<const float> activation_max, std::span<const float> weight_max,
                                      double alpha);

// max over the rows of every matrix of |w[r][c]|: [cols]. Each matrix is [rows][cols].
std::vector<float> column_abs_max(std::span<const FloatTensor* const> matrices);

// max_c(abs_max_c / s_c) / 127: the int8 scale of activations divided by the scales s.
float static_activation_scale(std::span<const float> abs_max, std::span<const float> scales);

// The int8 error of one site's quantized readers after smoothing by `scales`, estimated from the stats as
// the summed variance of the readers' outputs: rounding noise is uniform, Δ²/12 per element, so
//   activations: Δx²/12 · Σ_r Σ_c (W_rc s_c)²,        Δx = max_c(abs_max_c / s_c) / 127 (the static scale)
//   weights:     Σ_r (max_c |W_rc s_c| / 127)²/12 · Σ_c mean_square_c / s_c²   (int8 per row)
// The activation term is static quantization's; dynamic per-token scales are at most as coarse, so it
// bounds theirs. Clipping is not modelled: abs_max alone does not tell how much mass the tail holds.
double smoothing_error_estimate(const SiteStats& site, std::span<const FloatTensor* const> quantized_readers,
                                std::span<const float> scales);

// "blk.0.attn_q.weight" -> "blk.0.attn_q.act_scale".
std::string act_scale_name(const std::string& weight_name);

// quant_method.h's rewrite stage for "smoothquant": smooths every site of the layer that has a quantized
// reader (with options.auto_alpha, by the alpha of 0, 0.05, ..., 1 of least smoothing_error_estimate), then adds the activation scales when options.act_quant is "static". Throws lowbit::Error for
// an act_quant other than static, dynamic or none, or alpha outside [0, 1].
void smoothquant_rewrite_layer(const LayerRewriteContext& context, LayerTensors& tensors);

}  // namespace lowbit
