#include "quant/smoothquant.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "quant/channel_scaling.h"

namespace lowbit {
namespace {

constexpr int kAutoAlphaSteps = 20;  // --alpha auto tries 0, 1/20, ..., 1

// attn_out_in under grouped-query attention: channel d of every head of a KV group gets the group's
// largest activation and weight magnitudes, so the formula gives the group one scale (as the fold needs).
void share_kv_group_maxima(const ModelConfig& config, std::vector<float>& values) {
  const int64_t group = config.n_heads / config.n_kv_heads, head_dim = config.head_dim;
  for (int64_t kv = 0; kv < config.n_kv_heads; ++kv) {
    for (int64_t d = 0; d < head_dim; ++d) {
      float largest = 0;
      for (int64_t h = kv * group; h < (kv + 1) * group; ++h) largest = std::max(largest, values[static_cast<size_t>(h * head_dim + d)]);
      for (int64_t h = kv * group; h < (kv + 1) * group; ++h) values[static_cast<size_t>(h * head_dim + d)] = largest;
    }
  }
}

}  // namespace

std::vector<float> smoothquant_scales(std::span<const float> activation_max, std::span<const float> weight_max,
                                      double alpha) {
  std::vector<float> scales(activation_max.size(), 1.0f);
  for (size_t c = 0; c < scales.size(); ++c) {
    if (activation_max[c] > 0.0f && weight_max[c] > 0.0f) {
      scales[c] = static_cast<float>(std::pow(static_cast<double>(activation_max[c]), alpha) /
                                     std::pow(static_cast<double>(weight_max[c]), 1.0 - alpha));
    }
  }
  return scales;
}

std::vector<float> column_abs_max(std::span<const FloatTensor* const> matrices) {
  std::vector<float> largest;
  for (const FloatTensor* m : matrices) {
    const int64_t rows = m->shape[0], cols = m->shape[1];
    largest.resize(static_cast<size_t>(cols), 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) largest[c] = std::max(largest[c], std::fabs(m->values[r * cols + c]));
    }
  }
  return largest;
}

float static_activation_scale(std::span<const float> abs_max, std::span<const float> scales) {
  float largest = 0;
  for (size_t c = 0; c < abs_max.size(); ++c) largest = std::max(largest, abs_max[c] / scales[c]);
  return largest / 127.0f;
}

double smoothing_error_estimate(const SiteStats& site, std::span<const FloatTensor* const> quantized_readers,
                                std::span<const float> scales) {
  const double step_x = static_activation_scale(site.abs_max, scales);
  double activation_error = 0, weight_error = 0, smoothed_mean_square = 0;
  for (size_t c = 0; c < scales.size(); ++c) {
    smoothed_mean_square += site.mean_square[c] / (static_cast<double>(scales[c]) * scales[c]);
  }
  for (const FloatTensor* m : quantized_readers) {
    const int64_t rows = m->shape[0], cols = m->shape[1];
    for (int64_t r = 0; r < rows; ++r) {
      double row_max = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const double w = static_cast<double>(m->values[r * cols + c]) * scales[c];
        activation_error += w * w;
        row_max = std::max(row_max, std::fabs(w));
      }
      const double step_w = row_max / 127.0;
      weight_error += step_w * step_w * smoothed_mean_square;
    }
  }
  return (step_x * step_x * activation_error + weight_error) / 12.0;
}

std::string act_scale_name(const std::string& weight_name) {
  constexpr std::string_view kWeight = ".weight";
  const std::string_view base = std::string_view(weight_name).substr(
      0, weight_name.ends_with(kWeight) ? weight_name.size() - kWeight.size() : weight_name.size());
  return std::string(base) + ".act_scale";
}

void smoothquant_rewrite_layer(const LayerRewriteContext& context, LayerTensors& tensors) {
  const MethodOptions& options = context.options;
  if (options.act_quant != "static" && options.act_quant != "dynamic" && options.act_quant != "none") {
    throw_error("SmoothQuant: --act-quant must be static, dynamic or none, got '{}'", options.act_quant);
  }
  if (!(options.alpha >= 0.0 && options.alpha <= 1.0)) {
    throw_error("SmoothQuant: --alpha must lie in [0, 1], got {}", options.alpha);
  }
  const ModelConfig& config = context.model.config();
  for (const SiteStats* site : sites_of_layer(context.stats, context.layer)) {
    const SiteName name = parse_site_name(site->name);
    if (site->abs_max.size() != static_cast<size_t>(site->channels) ||
        site->mean_square.size() != static_cast<size_t>(site->channels)) {
      throw_error("{}: calibration stats hold {} maxima and {} mean squares for {} channels", site->name,
                  site->abs_max.size(), site->mean_square.size(), site->channels);
    }
    std::vector<SiteReader> quantized = find_site_readers(context, *site, tensors);
    std::erase_if(quantized, [](const SiteReader& r) { return !r.type->is_quantized; });
    if (quantized.empty()) continue;

    std::vector<float> scales(static_cast<size_t>(site->channels), 1.0f);
    if (site_is_foldable(config, name)) {
      // The maximum over every reader, float ones too: all of them are multiplied by s.
      std::vector<const FloatTensor*> readers;
      for (const SiteReader& r : find_site_readers(context, *site, tensors)) readers.push_back(r.tensor);
      std::vector<float> activation_max = site->abs_max, weight_max = column_abs_max(readers);
      if (name.kind == SiteKind::kAttnOutIn) {
        share_kv_group_maxima(config, activation_max);
        share_kv_group_maxima(config, weight_max);
      }
      if (options.auto_alpha) {
        std::vector<const FloatTensor*> quantized_tensors;
        for (const SiteReader& r : quantized) quantized_tensors.push_back(r.tensor);
        double least_error = std::numeric_limits<double>::infinity();
        for (int step = 0; step <= kAutoAlphaSteps; ++step) {
          const double alpha = static_cast<double>(step) / kAutoAlphaSteps;
          std::vector<float> candidate = smoothquant_scales(activation_max, weight_max, alpha);
          const double error = smoothing_error_estimate(*site, quantized_tensors, candidate);
          if (error < least_error) {
            least_error = error;
            scales = std::move(candidate);
          }
        }
      } else {
        scales = smoothquant_scales(activation_max, weight_max, options.alpha);
      }
      fold_channel_scales(config, name, scales, tensors);
      if (context.site_scales != nullptr) (*context.site_scales)[site->name] = scales;
    }
    if (options.act_quant != "static") continue;
    const float act_scale = static_activation_scale(site->abs_max, scales);
    if (!(act_scale > 0.0f) || !std::isfinite(act_scale)) {
      throw_error("{}: the calibration saw no non-zero activation, so no static scale exists", site->name);
    }
    for (const SiteReader& r : quantized) tensors[act_scale_name(r.name)] = FloatTensor{{1}, {act_scale}};
  }
}

}  // namespace lowbit
