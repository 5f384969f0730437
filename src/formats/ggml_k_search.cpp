#include "formats/ggml_k_search.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include "core/half.h"
#include "formats/ggml_block_common.h"

namespace lowbit {
namespace {

// Candidate inverse scales put the sub-block's extreme value at end + t, end being q_max (or q_min),
// for 41 values of t (scale_grid_step in ggml_block_common.h).
constexpr int kGridHalfWidth = 20;
float grid_step(int end) { return scale_grid_step(end, kGridHalfWidth); }

// Rounds of re-rounding and least-squares refitting of the sub-block scales after the grid search,
// and of refitting the super-block scales after coding (further super rounds gain under 0.1%).
// Both stop early once the error stops falling.
constexpr int kRefitRounds = 3;
constexpr int kSuperRefitRounds = 1;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// A sub-block with the weighted sums that do not depend on the quants. Every error below is
// expanded into these sums and the quant sums (sum w q, sum w q^2, sum w q x), so one pass over
// the elements scores a candidate.
struct SubBlock {
  const float* x;
  const float* w;
  int n;
  double sw = 0, sx = 0, sxx = 0;  // sum w, sum w x, sum w x^2

  SubBlock(const float* x_, const float* w_, int n_) : x(x_), w(w_), n(n_) {
    for (int i = 0; i < n; ++i) {
      sw += w[i];
      sx += static_cast<double>(w[i]) * x[i];
      sxx += static_cast<double>(w[i]) * x[i] * x[i];
    }
  }
};

struct QuantSums {
  double sq = 0, sqq = 0, sqx = 0;  // sum w q, sum w q^2, sum w q x
};

// The searches score candidates kLanes at a time: lane c of each vector below belongs to candidate c,
// and every lane does exactly the scalar arithmetic (float quants, double sums accumulated element by
// element), so the results are those of scoring the candidates one by one, only faster (about 1.4x
// per thread). Four lanes: one SSE register of floats, two of doubles (x86-64's baseline).
constexpr int kLanes = 4;
using Floats = float __attribute__((vector_size(4 * kLanes)));
using Ints = int __attribute__((vector_size(4 * kLanes)));
using DoublePair = double __attribute__((vector_size(16)));
using LaneSums = std::array<QuantSums, kLanes>;

// round_clamped lane by lane.
Ints round_clamped_lanes(Floats v, int lo, int hi) {
  const auto lo_f = static_cast<float>(lo), hi_f = static_cast<float>(hi);
  const Floats above_lo = v > lo_f ? v : lo_f;  // NaN -> lo
  const Floats clamped = above_lo < hi_f ? above_lo : hi_f;
  return lo + __builtin_convertvector(clamped - lo_f + 0.5f, Ints);
}

// Adds element x (weight w) with quants q of the kLanes candidates to their sums; sq only if wanted.
struct LaneAccumulator {
  DoublePair sq[2] = {}, sqq[2] = {}, sqx[2] = {};

  void add(float w, float x, Ints q, bool with_sq) {
    add_pair(0, w, x, __builtin_convertvector(__builtin_shufflevector(q, q, 0, 1), DoublePair), with_sq);
    add_pair(1, w, x, __builtin_convertvector(__builtin_shufflevector(q, q, 2, 3), DoublePair), with_sq);
  }
  void add_pair(int half, float w, float x, DoublePair q, bool with_sq) {
    const DoublePair wq = static_cast<double>(w) * q;
    if (with_sq) sq[half] += wq;
    sqq[half] += wq * q;
    sqx[half] += wq * static_cast<double>(x);
  }
  LaneSums sums() const {
    LaneSums out;
    for (int c = 0; c < kLanes; ++c) out[static_cast<size_t>(c)] = {sq[c / 2][c % 2], sqq[c / 2][c % 2], sqx[c / 2][c % 2]};
    return out;
  }
};

// ---- affine: x ~ scale * q - offset, q in [0, q_max], offset >= 0 --------------------------------

QuantSums affine_quant_sums(const SubBlock& sub, float inverse_scale, float offset, int q_max) {
  QuantSums sums;
  for (int i = 0; i < sub.n; ++i) {
    const int q = round_clamped((sub.x[i] + offset) * inverse_scale, 0, q_max);
    const double wq = static_cast<double>(sub.w[i]) * q;
    sums.sq += wq;
    sums.sqq += wq * q;
    sums.sqx += wq * sub.x[i];
  }
  return sums;
}

// affine_quant_sums of kLanes candidates (inverse scale and offset per lane).
LaneSums affine_quant_sums_lanes(const SubBlock& sub, Floats inverse_scales, Floats offsets, int q_max) {
  LaneAccumulator acc;
  for (int i = 0; i < sub.n; ++i) {
    acc.add(sub.w[i], sub.x[i], round_clamped_lanes((sub.x[i] + offsets) * inverse_scales, 0, q_max), true);
  }
  return acc.sums();
}

// sum w (scale * q - offset - x)^2
double affine_error(const SubBlock& sub, const QuantSums& s, double scale, double offset) {
  const double error = scale * scale * s.sqq - 2 * scale * offset * s.sq + offset * offset * sub.sw - 2 * scale * s.sqx +
                       2 * offset * sub.sx + sub.sxx;
  return std::max(0.0, error);
}

struct AffineFit {
  float scale = 0.0f;
  float offset = 0.0f;
  double error = kInfinity;
};

// Rounds with the given inverse scale and offset, then refits scale and offset to those quants by
// weighted least squares (offset clamped to >= 0: the format only subtracts a minimum).
AffineFit fit_affine_to_sums(const SubBlock& sub, const QuantSums& s) {
  if (s.sqq <= 0) return {};
  const double det = sub.sw * s.sqq - s.sq * s.sq;  // 0 when every quant is the same
  double scale = 0, bias = 0;                       // bias = -offset
  if (det > 0) {
    scale = (sub.sw * s.sqx - s.sq * sub.sx) / det;
    bias = (s.sqq * sub.sx - s.sq * s.sqx) / det;
  }
  if (det <= 0 || bias > 0) {
    bias = 0;
    scale = s.sqx / s.sqq;
  }
  if (scale <= 0) return {};
  return {static_cast<float>(scale), static_cast<float>(-bias), affine_error(sub, s, scale, -bias)};
}

AffineFit try_affine(const SubBlock& sub, float inverse_scale, float offset, int q_max) {
  return fit_affine_to_sums(sub, affine_quant_sums(sub, inverse_scale, offset, q_max));
}

AffineFit fit_affine(const SubBlock& sub, int q_max) {
  const auto [lo_it, hi_it] = std::minmax_element(sub.x, sub.x + sub.n);
  const float lo = std::min(*lo_it, 0.0f);  // the format's lowest value is -offset <= 0
  const float hi = *hi_it;
  if (!(hi > lo)) return {0.0f, -lo, 0.0};
  AffineFit best;
  // Grid points kLanes at a time; the last group repeats the final point in its unused lanes.
  for (int first = -kGridHalfWidth; first <= kGridHalfWidth; first += kLanes) {
    Floats inverse_scales;
    for (int c = 0; c < kLanes; ++c) {
      const int k = std::min(first + c, kGridHalfWidth);
      inverse_scales[c] = (static_cast<float>(q_max) + grid_step(q_max) * static_cast<float>(k)) / (hi - lo);
    }
    const LaneSums sums = affine_quant_sums_lanes(sub, inverse_scales, Floats{} - lo, q_max);
    for (int c = 0; c < kLanes && first + c <= kGridHalfWidth; ++c) {
      const AffineFit fit = fit_affine_to_sums(sub, sums[static_cast<size_t>(c)]);
      if (fit.error < best.error) best = fit;
    }
  }
  for (int round = 0; round < kRefitRounds && best.scale > 0; ++round) {
    const AffineFit fit = try_affine(sub, 1.0f / best.scale, best.offset, q_max);
    if (!(fit.error < best.error)) break;
    best = fit;
  }
  if (best.error == kInfinity) return {0.0f, -lo, 0.0};  // every candidate rounded all quants to 0
  return best;
}

// ---- symmetric: x ~ scale * q, q in [q_min, q_max] ---------------------------------------------------

LaneSums symmetric_quant_sums_lanes(const SubBlock& sub, Floats inverse_scales, int q_min, int q_max) {
  LaneAccumulator acc;
  for (int i = 0; i < sub.n; ++i) acc.add(sub.w[i], sub.x[i], round_clamped_lanes(sub.x[i] * inverse_scales, q_min, q_max), false);
  return acc.sums();
}

QuantSums symmetric_quant_sums(const SubBlock& sub, float inverse_scale, int q_min, int q_max) {
  QuantSums sums;
  for (int i = 0; i < sub.n; ++i) {
    const int q = round_clamped(sub.x[i] * inverse_scale, q_min, q_max);
    const double wq = static_cast<double>(sub.w[i]) * q;
    sums.sqq += wq * q;
    sums.sqx += wq * sub.x[i];
  }
  return sums;
}

// sum w (scale * q - x)^2
double symmetric_error(const SubBlock& sub, const QuantSums& s, double scale) {
  return std::max(0.0, scale * scale * s.sqq - 2 * scale * s.sqx + sub.sxx);
}

struct SymmetricFit {
  float scale = 0.0f;
  double error = kInfinity;
};

SymmetricFit fit_symmetric_to_sums(const SubBlock& sub, const QuantSums& s) {
  if (s.sqq <= 0) return {};
  const double scale = s.sqx / s.sqq;
  return {static_cast<float>(scale), symmetric_error(sub, s, scale)};
}

SymmetricFit try_symmetric(const SubBlock& sub, float inverse_scale, int q_min, int q_max) {
  return fit_symmetric_to_sums(sub, symmetric_quant_sums(sub, inverse_scale, q_min, q_max));
}

SymmetricFit fit_symmetric(const SubBlock& sub, int q_min, int q_max) {
  const float extreme = signed_absmax(sub.x, sub.n);
  if (extreme == 0.0f) return {0.0f, 0.0};
  SymmetricFit best;
  // The extreme value may land on either end of the asymmetric range [q_min, q_max].
  for (const int end : {q_min, q_max}) {
    const float outward = end < 0 ? -1.0f : 1.0f;  // k > 0 moves the target beyond the end
    for (int first = -kGridHalfWidth; first <= kGridHalfWidth; first += kLanes) {
      Floats inverse_scales;
      for (int c = 0; c < kLanes; ++c) {
        const int k = std::min(first + c, kGridHalfWidth);
        const float target = static_cast<float>(end) + outward * grid_step(end) * static_cast<float>(k);
        inverse_scales[c] = target / extreme;
      }
      const LaneSums sums = symmetric_quant_sums_lanes(sub, inverse_scales, q_min, q_max);
      for (int c = 0; c < kLanes && first + c <= kGridHalfWidth; ++c) {
        const SymmetricFit fit = fit_symmetric_to_sums(sub, sums[static_cast<size_t>(c)]);
        if (fit.error < best.error) best = fit;
      }
    }
  }
  for (int round = 0; round < kRefitRounds && best.scale != 0; ++round) {
    const SymmetricFit fit = try_symmetric(sub, 1.0f / best.scale, q_min, q_max);
    if (!(fit.error < best.error)) break;
    best = fit;
  }
  if (best.error == kInfinity) return {0.0f, 0.0};
  return best;
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

// Codes and quants of every sub-block for the given super scales (codes near each sub-block's
// best real scale, then the quants of the chosen codes); returns the super-block's error.
double encode_affine(const float* x, const float* w, const AffineGeometry& geometry, const AffineFit* fits, float d,
                     float dmin, AffineSuperBlock& block) {
  double total_error = 0;
  for (int s = 0; s < kSuperBlockSize / geometry.sub_size; ++s) {
    const int start = s * geometry.sub_size;
    const SubBlock sub(x + start, w + start, geometry.sub_size);
    const CodeRange scale_codes = codes_near(d > 0 ? fits[s].scale / d : 0.0f, 0, geometry.code_max);
    const CodeRange min_codes = codes_near(dmin > 0 ? fits[s].offset / dmin : 0.0f, 0, geometry.code_max);
    // Every (scale code, min code) pair with its coded scale and offset, quants rounded to nearest.
    std::array<std::pair<int, int>, 9> pairs;
    int count = 0;
    for (int sc = scale_codes.first; sc <= scale_codes.last; ++sc) {
      for (int mc = min_codes.first; mc <= min_codes.last; ++mc) pairs[static_cast<size_t>(count++)] = {sc, mc};
    }
    double best_error = kInfinity;
    for (int first = 0; first < count; first += kLanes) {
      Floats inverse_scales, offsets;
      for (int c = 0; c < kLanes; ++c) {
        const auto [sc, mc] = pairs[static_cast<size_t>(std::min(first + c, count - 1))];
        const float scale = d * static_cast<float>(sc);
        inverse_scales[c] = scale > 0 ? 1.0f / scale : 0.0f;
        offsets[c] = dmin * static_cast<float>(mc);
      }
      const LaneSums sums = affine_quant_sums_lanes(sub, inverse_scales, offsets, geometry.q_max);
      for (int c = 0; c < kLanes && first + c < count; ++c) {
        const auto [sc, mc] = pairs[static_cast<size_t>(first + c)];
        const double error =
            affine_error(sub, sums[static_cast<size_t>(c)], d * static_cast<float>(sc), dmin * static_cast<float>(mc));
        if (error < best_error) {
          best_error = error;
          block.scale_code[s] = static_cast<uint8_t>(sc);
          block.min_code[s] = static_cast<uint8_t>(mc);
        }
      }
    }
    total_error += best_error;
    const float scale = d * static_cast<float>(block.scale_code[s]);
    const float offset = dmin * static_cast<float>(block.min_code[s]);
    const float inverse_scale = scale > 0 ? 1.0f / scale : 0.0f;
    for (int i = 0; i < geometry.sub_size; ++i) {
      block.q[start + i] = static_cast<uint8_t>(round_clamped((x[start + i] + offset) * inverse_scale, 0, geometry.q_max));
    }
  }
  return total_error;
}

// Least-squares super scales for fixed codes and quants: x ~ d * (scale_code * q) - dmin * min_code.
// False when the fit is degenerate or would need a negative scale.
bool refit_affine_super_scales(const float* x, const float* w, const AffineGeometry& geometry,
                               const AffineSuperBlock& block, float& d, float& dmin) {
  double saa = 0, sab = 0, sbb = 0, sax = 0, sbx = 0;
  for (int i = 0; i < kSuperBlockSize; ++i) {
    const int s = i / geometry.sub_size;
    const double a = static_cast<double>(block.scale_code[s]) * block.q[i];
    const double b = block.min_code[s];
    saa += w[i] * a * a;
    sab += w[i] * a * b;
    sbb += w[i] * b * b;
    sax += w[i] * a * x[i];
    sbx += w[i] * b * x[i];
  }
  const double det = saa * sbb - sab * sab;
  double new_d = 0, new_dmin = 0;
  if (sbb <= 0) {
    if (saa <= 0) return false;
    new_d = sax / saa;
  } else {
    if (det <= 0) return false;
    new_d = (sax * sbb - sab * sbx) / det;
    new_dmin = (sab * sax - saa * sbx) / det;
  }
  if (new_d <= 0 || new_dmin < 0) return false;
  d = static_cast<float>(new_d);
  dmin = static_cast<float>(new_dmin);
  return true;
}

// Codes and quants for the given super scale; returns the super-block's error.
double encode_symmetric(const float* x, const float* w, const SymmetricGeometry& geometry, const SymmetricFit* fits,
                        float d, SymmetricSuperBlock& block) {
  double total_error = 0;
  for (int s = 0; s < kSuperBlockSize / geometry.sub_size; ++s) {
    const int start = s * geometry.sub_size;
    const SubBlock sub(x + start, w + start, geometry.sub_size);
    const CodeRange codes = codes_near(d != 0 ? fits[s].scale / d : 0.0f, geometry.code_min, geometry.code_max);
    // The (at most three) codes with their coded scales, quants rounded to nearest, in one group of lanes.
    static_assert(kLanes >= 3);
    Floats inverse_scales;
    for (int c = 0; c < kLanes; ++c) {
      const float scale = d * static_cast<float>(std::min(codes.first + c, codes.last));
      inverse_scales[c] = scale != 0 ? 1.0f / scale : 0.0f;
    }
    const LaneSums sums = symmetric_quant_sums_lanes(sub, inverse_scales, geometry.q_min, geometry.q_max);
    double best_error = kInfinity;
    for (int code = codes.first; code <= codes.last; ++code) {
      const double error = symmetric_error(sub, sums[static_cast<size_t>(code - codes.first)], d * static_cast<float>(code));
      if (error < best_error) {
        best_error = error;
        block.scale_code[s] = static_cast<int8_t>(code);
      }
    }
    total_error += best_error;
    const float scale = d * static_cast<float>(block.scale_code[s]);
    const float inverse_scale = scale != 0 ? 1.0f / scale : 0.0f;
    for (int i = 0; i < geometry.sub_size; ++i) {
      block.q[start + i] = static_cast<int8_t>(round_clamped(x[start + i] * inverse_scale, geometry.q_min, geometry.q_max));
    }
  }
  return total_error;
}

// Least-squares super scale for fixed codes and quants: x ~ d * (scale_code * q).
bool refit_symmetric_super_scale(const float* x, const float* w, const SymmetricGeometry& geometry,
                                 const SymmetricSuperBlock& block, float& d) {
  double saa = 0, sax = 0;
  for (int i = 0; i < kSuperBlockSize; ++i) {
    const double a = static_cast<double>(block.scale_code[i / geometry.sub_size]) * block.q[i];
    saa += w[i] * a * a;
    sax += w[i] * a * x[i];
  }
  if (saa <= 0) return false;
  d = static_cast<float>(sax / saa);
  return true;
}

}  // namespace

AffineSuperBlock quantize_affine_superblock(const float* x, const float* importance, const AffineGeometry& geometry) {
  const float* w = importance != nullptr ? importance : unit_weights();
  std::array<AffineFit, 16> fits;
  float max_scale = 0.0f, max_offset = 0.0f;
  for (int s = 0; s < kSuperBlockSize / geometry.sub_size; ++s) {
    const int start = s * geometry.sub_size;
    fits[s] = fit_affine(SubBlock(x + start, w + start, geometry.sub_size), geometry.q_max);
    max_scale = std::max(max_scale, fits[s].scale);
    max_offset = std::max(max_offset, fits[s].offset);
  }
  // Start with super scales that fit the largest sub-block scale and minimum exactly, then
  // alternate: least-squares super scales for the chosen codes and quants, new codes and quants.
  float d = max_scale / static_cast<float>(geometry.code_max);
  float dmin = max_offset / static_cast<float>(geometry.code_max);
  AffineSuperBlock best{};
  double best_error = kInfinity;
  for (int round = 0; round <= kSuperRefitRounds; ++round) {
    AffineSuperBlock candidate{};
    const float stored_d = to_stored_half(d, candidate.d);
    const float stored_dmin = to_stored_half(dmin, candidate.dmin);
    const double error = encode_affine(x, w, geometry, fits.data(), stored_d, stored_dmin, candidate);
    if (!(error < best_error)) break;
    best = candidate;
    best_error = error;
    if (!refit_affine_super_scales(x, w, geometry, best, d, dmin)) break;
  }
  return best;
}

SymmetricSuperBlock quantize_symmetric_superblock(const float* x, const float* importance,
                                                  const SymmetricGeometry& geometry) {
  const float* w = importance != nullptr ? importance : unit_weights();
  std::array<SymmetricFit, 16> fits;
  float extreme_scale = 0.0f;  // the sub-block scale of largest magnitude, sign kept
  for (int s = 0; s < kSuperBlockSize / geometry.sub_size; ++s) {
    const int start = s * geometry.sub_size;
    fits[s] = fit_symmetric(SubBlock(x + start, w + start, geometry.sub_size), geometry.q_min, geometry.q_max);
    if (std::fabs(fits[s].scale) > std::fabs(extreme_scale)) extreme_scale = fits[s].scale;
  }
  // Start with the super scale that gives the extreme sub-block scale the code of larger
  // magnitude (code_min) exactly, so the sign is in d; then alternate as for the affine formats.
  float d = extreme_scale / static_cast<float>(geometry.code_min);
  SymmetricSuperBlock best{};
  double best_error = kInfinity;
  for (int round = 0; round <= kSuperRefitRounds; ++round) {
    SymmetricSuperBlock candidate{};
    const double error = encode_symmetric(x, w, geometry, fits.data(), to_stored_half(d, candidate.d), candidate);
    if (!(error < best_error)) break;
    best = candidate;
    best_error = error;
    if (!refit_symmetric_super_scale(x, w, geometry, best, d)) break;
  }
  return best;
}

}  // namespace lowbit
