#include "quant/awq.h"

#include <cblas.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "core/error.h"
#include "quant/channel_scaling.h"

namespace lowbit {
namespace {

// Rows of a matrix measured in the grid search: enough to rank the candidates, few enough that a 7B
// layer's search stays in seconds.
constexpr int64_t kMaxMeasuredRows = 256;
// Clip ratios tried per block: 1.0, 0.95, ..., 0.5.
constexpr int kClipSteps = 11;
constexpr double kClipStep = 0.05;

// The activations' second moments as the error metric sees them: the Gram matrix, or its diagonal.
class OutputErrorMetric {
 public:
  explicit OutputErrorMetric(const SiteStats& site) : site_(site), channels_(site.channels) {
    const auto n = static_cast<size_t>(channels_);
    if (site.mean_square.size() != n || (!site.gram.empty() && site.gram.size() != n * n)) {
      throw_error("{}: calibration stats hold {} mean squares and {} Gram entries for {} channels", site.name,
                  site.mean_square.size(), site.gram.size(), channels_);
    }
  }

  // sum over the rows of d [n][channels] of d_r G d_r^T.
  double rows_error(const float* d, int64_t n) const {
    if (site_.gram.empty()) {
      double sum = 0;
      for (int64_t r = 0; r < n; ++r) {
        for (int64_t c = 0; c < channels_; ++c) sum += site_.mean_square[static_cast<size_t>(c)] * square(d[r * channels_ + c]);
      }
      return sum;
    }
    std::vector<float> dg(static_cast<size_t>(n * channels_));  // [n][channels] d G
    const auto m = static_cast<int>(n), k = static_cast<int>(channels_);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, k, 1.0f, d, k, site_.gram.data(), k, 0.0f, dg.data(), k);
    double sum = 0;
    for (size_t i = 0; i < dg.size(); ++i) sum += static_cast<double>(dg[i]) * d[i];
    return sum;
  }

  // d G_bb d^T for the block of channels [first, first + length): d holds that block's errors.
  double block_error(const float* d, int64_t first, int64_t length) const {
    double sum = 0;
    if (site_.gram.empty()) {
      for (int64_t i = 0; i < length; ++i) sum += site_.mean_square[static_cast<size_t>(first + i)] * square(d[i]);
      return sum;
    }
    for (int64_t i = 0; i < length; ++i) {
      const float* g = site_.gram.data() + (first + i) * channels_ + first;
      double gd = 0;
      for (int64_t j = 0; j < length; ++j) gd += static_cast<double>(g[j]) * d[j];
      sum += gd * d[i];
    }
    return sum;
  }

 private:
  static double square(float x) { return static_cast<double>(x) * x; }

  const SiteStats& site_;
  int64_t channels_;
};

// Quantizes and dequantizes n elements (a multiple of the block size) as the writer would: with the
// type's importance-weighted quantizer where it has one.
class RoundTrip {
 public:
  explicit RoundTrip(const TypeTraits& type) : type_(type) {}

  void run(const float* src, const float* importance, float* dst, int64_t n) {
    bytes_.resize(type_.row_bytes(n));
    if (type_.from_float_weighted != nullptr) {
      type_.from_float_weighted(src, importance, bytes_.data(), n);
    } else {
      type_.from_float(src, bytes_.data(), n);
    }
    type_.to_float(bytes_.data(), dst, n);
  }

 private:
  const TypeTraits& type_;
  std::vector<uint8_t> bytes_;
};

// mean_square_c / s_c^2: the importance of column c of W diag(s), whose input is x / s.
std::vector<float> scaled_importance(const SiteStats& site, std::span<const float> scales) {
  std::vector<float> importance(scales.size());
  for (size_t c = 0; c < scales.size(); ++c) {
    importance[c] = static_cast<float>(site.mean_square[c] / (static_cast<double>(scales[c]) * scales[c]));
  }
  return importance;
}

std::vector<double> channel_magnitude(const SiteStats& site, AwqMagnitude kind) {
  std::vector<double> m(static_cast<size_t>(site.channels));
  for (size_t c = 0; c < m.size(); ++c) {
    m[c] = kind == AwqMagnitude::kRms ? std::sqrt(site.mean_square[c]) : static_cast<double>(site.abs_max[c]);
  }
  return m;
}

void check_matrix(const AwqMatrix& matrix, const SiteStats& site) {
  if (matrix.cols != site.channels || matrix.type == nullptr || matrix.cols % matrix.type->block_size != 0) {
    throw_error("{}: a matrix of {} columns in type {} cannot read {} channels", site.name, matrix.cols,
                matrix.type == nullptr ? "(none)" : matrix.type->name, site.channels);
  }
}

}  // namespace

std::vector<float> awq_scales(std::span<const double> magnitude, double alpha) {
  const double largest = *std::max_element(magnitude.begin(), magnitude.end());
  if (!(largest > 0) || !std::isfinite(largest)) throw_error("AWQ: channel magnitudes must be finite and not all zero");
  const double floor = 1e-4 * largest;
  std::vector<double> s(magnitude.size());
  for (size_t c = 0; c < s.size(); ++c) s[c] = std::pow(std::max(magnitude[c], floor), alpha);
  const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
  const double norm = std::sqrt(*lo * *hi);
  std::vector<float> scales(s.size());
  for (size_t c = 0; c < s.size(); ++c) scales[c] = static_cast<float>(s[c] / norm);
  return scales;
}

double awq_output_error(const AwqMatrix& matrix, std::span<const float> scales, const SiteStats& site) {
  check_matrix(matrix, site);
  const OutputErrorMetric metric(site);
  const std::vector<float> importance = scaled_importance(site, scales);
  const int64_t measured = std::min(matrix.rows, kMaxMeasuredRows), cols = matrix.cols;
  std::vector<float> d(static_cast<size_t>(measured * cols));  // [measured][cols] dW of the measured rows
#pragma omp parallel if (measured * cols > (int64_t{1} << 16))
  {
    RoundTrip round_trip(*matrix.type);
    std::vector<float> scaled(static_cast<size_t>(cols)), restored(static_cast<size_t>(cols));
#pragma omp for
    for (int64_t i = 0; i < measured; ++i) {
      const float* w = matrix.weights + (i * matrix.rows / measured) * cols;
      for (int64_t c = 0; c < cols; ++c) scaled[c] = w[c] * scales[static_cast<size_t>(c)];
      round_trip.run(scaled.data(), importance.data(), restored.data(), cols);
      for (int64_t c = 0; c < cols; ++c) d[i * cols + c] = restored[c] / scales[static_cast<size_t>(c)] - w[c];
    }
  }
  return metric.rows_error(d.data(), measured);
}

AwqChoice search_awq_scales(const ModelConfig& config, const SiteStats& site, std::span<const AwqMatrix> matrices,
                            int grid) {
  if (grid < 1) throw_error("AWQ: the grid needs at least one point, got {}", grid);
  const SiteName name = parse_site_name(site.name);
  auto total_error = [&](std::span<const float> scales) {
    double sum = 0;
    for (const AwqMatrix& m : matrices) sum += awq_output_error(m, scales, site);
    return sum;
  };
  AwqChoice best;
  best.scales.assign(static_cast<size_t>(site.channels), 1.0f);
  best.error = best.unscaled_error = total_error(best.scales);
  for (AwqMagnitude magnitude : {AwqMagnitude::kRms, AwqMagnitude::kAbsMax}) {
    const std::vector<double> m = channel_magnitude(site, magnitude);
    for (int k = 1; k < grid; ++k) {
      const double alpha = static_cast<double>(k) / grid;
      std::vector<float> scales = awq_scales(m, alpha);
      tie_kv_group_scales(config, name, scales);
      const double error = total_error(scales);
      if (error < best.error) best = AwqChoice{alpha, magnitude, std::move(scales), error, best.unscaled_error};
    }
  }
  return best;
}

void clip_awq_blocks(float* w, int64_t rows, int64_t cols, const TypeTraits& type, std::span<const float> scales,
                     const SiteStats& site) {
  const OutputErrorMetric metric(site);
  check_matrix(AwqMatrix{w, rows, cols, &type}, site);
  const std::vector<float> importance = scaled_importance(site, scales);
  const int64_t block = type.block_size;
#pragma omp parallel if (rows * cols > (int64_t{1} << 14))
  {
    RoundTrip round_trip(type);
    std::vector<float> clipped(static_cast<size_t>(block)), restored(static_cast<size_t>(block)),
        best_clipped(static_cast<size_t>(block)), d(static_cast<size_t>(block));
#pragma omp for
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t first = 0; first < cols; first += block) {
        float* x = w + r * cols + first;
        const auto [lo, hi] = std::minmax_element(x, x + block);
        double best_error = std::numeric_limits<double>::infinity();
        for (int step = 0; step < kClipSteps; ++step) {
          const auto ratio = static_cast<float>(1.0 - kClipStep * step);
          for (int64_t i = 0; i < block; ++i) clipped[i] = std::clamp(x[i], ratio * *lo, ratio * *hi);
          round_trip.run(clipped.data(), importance.data() + first, restored.data(), block);
          // The error against the unclipped weights, back in the unscaled domain where G applies.
          for (int64_t i = 0; i < block; ++i) d[i] = (restored[i] - x[i]) / scales[static_cast<size_t>(first + i)];
          const double error = metric.block_error(d.data(), first, block);
          if (error < best_error) {
            best_error = error;
            best_clipped = clipped;
          }
        }
        std::copy(best_clipped.begin(), best_clipped.end(), x);
      }
    }
  }
}

void awq_rewrite_layer(const LayerRewriteContext& context, LayerTensors& tensors) {
  const ModelConfig& config = context.model.config();
  struct Quantized {
    std::string name;
    const TypeTraits* type;
    const SiteStats* site;
    std::vector<float> scales;  // of the site, as folded
  };
  std::vector<Quantized> quantized;
  for (const SiteStats* site : sites_of_layer(context.stats, context.layer)) {
    const SiteName name = parse_site_name(site->name);
    if (!site_is_foldable(config, name) || site->tokens == 0) continue;
    std::vector<AwqMatrix> matrices;
    std::vector<std::string> names;
    for (const SiteReader& reader : find_site_readers(context, *site, tensors)) {
      if (!reader.type->is_quantized) continue;
      matrices.push_back(AwqMatrix{reader.tensor->values.data(), reader.tensor->shape[0], reader.tensor->shape[1], reader.type});
      names.push_back(reader.name);
    }
    if (matrices.empty()) continue;
    AwqChoice choice = search_awq_scales(config, *site, matrices, context.options.awq_grid);
    if (choice.alpha > 0) {
      fold_channel_scales(config, name, choice.scales, tensors);
      if (context.site_scales != nullptr) (*context.site_scales)[site->name] = choice.scales;
    }
    for (size_t i = 0; i < names.size(); ++i) quantized.push_back({names[i], matrices[i].type, site, choice.scales});
  }
  if (!context.options.awq_clip) return;
  for (Quantized& q : quantized) {
    FloatTensor& t = tensors.at(q.name);
    clip_awq_blocks(t.values.data(), t.shape[0], t.shape[1], *q.type, q.scales, *q.site);
  }
}

}  // namespace lowbit
