#include "formats/ggml_k_search.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/half.h"
#include "formats/ggml_block_common.h"

namespace lowbit {
namespace {

// Candidate inverse scales put the sub-block's extreme value at q_max + t for t in
// [-1, 1] in steps of kGridStep (21 candidates).
constexpr int kGridHalfWidth = 10;
constexpr float kGridStep = 0.1f;
constexpr int kRefitRounds = 3;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// ---- affine: x ~ scale * q - offset, q in [0, q_max], offset >= 0 --------------------------------

struct AffineFit {
  float scale = 0.0f;
  float offset = 0.0f;
  double error = kInfinity;
};

// Weighted least squares of x ~ scale * q - offset for fixed quants q (offset clamped to >= 0).
AffineFit refit_affine(const float* x, const float* w, const int* q, int n) {
  double sw = 0, sq = 0, sqq = 0, sx = 0, sqx = 0, sxx = 0;
  for (int i = 0; i < n; ++i) {
    sw += w[i];
    sq += w[i] * q[i];
    sqq += w[i] * q[i] * q[i];
    sx += w[i] * x[i];
    sqx += w[i] * q[i] * x[i];
    sxx += w[i] * x[i] * x[i];
  }
  if (sqq <= 0) return {};
  const double det = sw * sqq - sq * sq;  // 0 when every quant is the same
  double scale = 0, bias = 0;             // bias = -offset
  if (det > 0) {
    scale = (sw * sqx - sq * sx) / det;
    bias = (sqq * sx - sq * sqx) / det;
  }
  if (det <= 0 || bias > 0) {  // the format can only subtract a minimum: fit the scale alone
    bias = 0;
    scale = sqx / sqq;
  }
  if (scale <= 0) return {};
  // At the least-squares optimum the residual is sxx - scale * sqx - bias * sx; recomputing it
  // directly avoids the cancellation of that formula.
  double error = 0;
  for (int i = 0; i < n; ++i) {
    const double r = scale * q[i] + bias - x[i];
    error += w[i] * r * r;
  }
  return {static_cast<float>(scale), static_cast<float>(-bias), error};
}

void round_affine(const float* x, int n, float inverse_scale, float offset, int q_max, int* q) {
  for (int i = 0; i < n; ++i) q[i] = round_clamped((x[i] + offset) * inverse_scale, 0, q_max);
}

AffineFit fit_affine(const float* x, const float* w, int n, int q_max) {
  const auto [lo_it, hi_it] = std::minmax_element(x, x + n);
  const float lo = std::min(*lo_it, 0.0f);  // the format's lowest value is -offset <= 0
  const float hi = *hi_it;
  if (!(hi > lo)) return {0.0f, -lo, 0.0};
  std::array<int, 32> q;
  AffineFit best;
  for (int k = -kGridHalfWidth; k <= kGridHalfWidth; ++k) {
    round_affine(x, n, (static_cast<float>(q_max) + kGridStep * static_cast<float>(k)) / (hi - lo), -lo, q_max, q.data());
    const AffineFit fit = refit_affine(x, w, q.data(), n);
    if (fit.error < best.error) best = fit;
  }
  for (int round = 0; round < kRefitRounds && best.scale > 0; ++round) {
    round_affine(x, n, 1.0f / best.scale, best.offset, q_max, q.data());
    const AffineFit fit = refit_affine(x, w, q.data(), n);
    if (!(fit.error < best.error)) break;
    best = fit;
  }
  if (best.error == kInfinity) return {0.0f, -lo, 0.0};  // every candidate rounded all quants to 0
  return best;
}

// Error of a sub-block with the coded scale and offset, its quants rounded to nearest into q.
double coded_affine_error(const float* x, const float* w, int n, float scale, float offset, int q_max, int* q) {
  if (scale > 0) {
    round_affine(x, n, 1.0f / scale, offset, q_max, q);
  } else {
    std::fill(q, q + n, 0);
  }
  double error = 0;
  for (int i = 0; i < n; ++i) {
    const double r = static_cast<double>(scale * static_cast<float>(q[i]) - offset) - x[i];
    error += w[i] * r * r;
  }
  return error;
}

// ---- symmetric: x ~ scale * q, q in [q_min, q_max] ---------------------------------------------------

struct SymmetricFit {
  float scale = 0.0f;
  double error = kInfinity;
};

SymmetricFit refit_symmetric(const float* x, const float* w, const int* q, int n) {
  double sqq = 0, sqx = 0, sxx = 0;
  for (int i = 0; i < n; ++i) {
    sqq += w[i] * q[i] * q[i];
    sqx += w[i] * q[i] * x[i];
    sxx += w[i] * x[i] * x[i];
  }
  if (sqq <= 0) return {};
  return {static_cast<float>(sqx / sqq), std::max(0.0, sxx - sqx * sqx / sqq)};
}

void round_symmetric(const float* x, int n, float inverse_scale, int q_min, int q_max, int* q) {
  for (int i = 0; i < n; ++i) q[i] = round_clamped(x[i] * inverse_scale, q_min, q_max);
}

SymmetricFit fit_symmetric(const float* x, const float* w, int n, int q_min, int q_max) {
  const float extreme = signed_absmax(x, n);
  if (extreme == 0.0f) return {0.0f, 0.0};
  std::array<int, 32> q;
  SymmetricFit best;
  // The extreme value may land on either end of the asymmetric range [q_min, q_max].
  for (const int end : {q_min, q_max}) {
    const float target = std::fabs(static_cast<float>(end));
    const float sign = end < 0 ? -1.0f : 1.0f;
    for (int k = -kGridHalfWidth; k <= kGridHalfWidth; ++k) {
      round_symmetric(x, n, sign * (target + kGridStep * static_cast<float>(k)) / extreme, q_min, q_max, q.data());
      const SymmetricFit fit = refit_symmetric(x, w, q.data(), n);
      if (fit.error < best.error) best = fit;
    }
  }
  for (int round = 0; round < kRefitRounds && best.scale != 0; ++round) {
    round_symmetric(x, n, 1.0f / best.scale, q_min, q_max, q.data());
    const SymmetricFit fit = refit_symmetric(x, w, q.data(), n);
    if (!(fit.error < best.error)) break;
    best = fit;
  }
  if (best.error == kInfinity) return {0.0f, 0.0};
  return best;
}

double coded_symmetric_error(const float* x, const float* w, int n, float scale, int q_min, int q_max, int* q) {
  if (scale != 0) {
    round_symmetric(x, n, 1.0f / scale, q_min, q_max, q);
  } else {
    std::fill(q, q + n, 0);
  }
  double error = 0;
  for (int i = 0; i < n; ++i) {
    const double r = static_cast<double>(scale * static_cast<float>(q[i])) - x[i];
    error += w[i] * r * r;
  }
  return error;
}

// Codes near `ideal` to try: its nearest code and the neighbours either side, within [lo, hi].
struct CodeRange {
  int first, last;
};
CodeRange codes_near(float ideal, int lo, int hi) {
  const int nearest = round_clamped(ideal, lo, hi);
  return {std::max(lo, nearest - 1), std::min(hi, nearest + 1)};
}

// FP16 super scale: the returned float is exactly what the file holds.
float to_stored_half(float value, uint16_t& bits) {
  bits = fp32_to_fp16(value);
  return fp16_to_fp32(bits);
}

const float* unit_weights() {
  static const std::array<float, kSuperBlockSize> ones = [] {
    std::array<float, kSuperBlockSize> a;
    a.fill(1.0f);
    return a;
  }();
  return ones.data();
}

}  // namespace

AffineSuperBlock quantize_affine_superblock(const float* x, const float* importance, const AffineGeometry& geometry) {
  const float* w = importance != nullptr ? importance : unit_weights();
  const int n_sub = kSuperBlockSize / geometry.sub_size;
  std::array<AffineFit, 16> fits;
  float max_scale = 0.0f, max_offset = 0.0f;
  for (int s = 0; s < n_sub; ++s) {
    const int start = s * geometry.sub_size;
    fits[s] = fit_affine(x + start, w + start, geometry.sub_size, geometry.q_max);
    max_scale = std::max(max_scale, fits[s].scale);
    max_offset = std::max(max_offset, fits[s].offset);
  }

  AffineSuperBlock block{};
  const float code_max = static_cast<float>(geometry.code_max);
  const float d = to_stored_half(max_scale / code_max, block.d);
  const float dmin = to_stored_half(max_offset / code_max, block.dmin);
  std::array<int, 32> q{}, best_q{};
  for (int s = 0; s < n_sub; ++s) {
    const int start = s * geometry.sub_size;
    const CodeRange scale_codes = codes_near(d > 0 ? fits[s].scale / d : 0.0f, 0, geometry.code_max);
    const CodeRange min_codes = codes_near(dmin > 0 ? fits[s].offset / dmin : 0.0f, 0, geometry.code_max);
    double best_error = kInfinity;
    for (int sc = scale_codes.first; sc <= scale_codes.last; ++sc) {
      for (int mc = min_codes.first; mc <= min_codes.last; ++mc) {
        const double error = coded_affine_error(x + start, w + start, geometry.sub_size, d * static_cast<float>(sc),
                                                dmin * static_cast<float>(mc), geometry.q_max, q.data());
        if (error < best_error) {
          best_error = error;
          block.scale_code[s] = static_cast<uint8_t>(sc);
          block.min_code[s] = static_cast<uint8_t>(mc);
          best_q = q;
        }
      }
    }
    for (int i = 0; i < geometry.sub_size; ++i) block.q[start + i] = static_cast<uint8_t>(best_q[i]);
  }
  return block;
}

SymmetricSuperBlock quantize_symmetric_superblock(const float* x, const float* importance,
                                                  const SymmetricGeometry& geometry) {
  const float* w = importance != nullptr ? importance : unit_weights();
  const int n_sub = kSuperBlockSize / geometry.sub_size;
  std::array<SymmetricFit, 16> fits;
  float extreme_scale = 0.0f;  // the sub-block scale of largest magnitude, sign kept
  for (int s = 0; s < n_sub; ++s) {
    const int start = s * geometry.sub_size;
    fits[s] = fit_symmetric(x + start, w + start, geometry.sub_size, geometry.q_min, geometry.q_max);
    if (std::fabs(fits[s].scale) > std::fabs(extreme_scale)) extreme_scale = fits[s].scale;
  }

  SymmetricSuperBlock block{};
  // The extreme scale takes the code of larger magnitude (code_min), so its sign is in d.
  const float d = to_stored_half(extreme_scale / static_cast<float>(geometry.code_min), block.d);
  std::array<int, 32> q{}, best_q{};
  for (int s = 0; s < n_sub; ++s) {
    const int start = s * geometry.sub_size;
    const CodeRange codes = codes_near(d != 0 ? fits[s].scale / d : 0.0f, geometry.code_min, geometry.code_max);
    double best_error = kInfinity;
    for (int code = codes.first; code <= codes.last; ++code) {
      const double error = coded_symmetric_error(x + start, w + start, geometry.sub_size, d * static_cast<float>(code),
                                                 geometry.q_min, geometry.q_max, q.data());
      if (error < best_error) {
        best_error = error;
        block.scale_code[s] = static_cast<int8_t>(code);
        best_q = q;
      }
    }
    for (int i = 0; i < geometry.sub_size; ++i) block.q[start + i] = static_cast<int8_t>(best_q[i]);
  }
  return block;
}

}  // namespace lowbit
