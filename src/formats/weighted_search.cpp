#include "formats/weighted_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/half.h"
#include "formats/ggml_block_common.h"

namespace lowbit {
namespace {

// An element's search weight is at least this fraction of the block's mean importance.
constexpr double kImportanceFloor = 1e-3;

// Candidate inverse scales put the block's extreme value (or its range) at end + t for 2 *
// kGridHalfWidth + 1 values of t (scale_grid_step in ggml_block_common.h); then up to kRefitRounds
// re-roundings and refits from the best.
constexpr int kGridHalfWidth = 10;
constexpr int kRefitRounds = 3;
float grid_step(int end) { return scale_grid_step(end, kGridHalfWidth); }

constexpr double kInfinity = std::numeric_limits<double>::infinity();

struct Block {
  const float* x;
  const float* w;
  int n;
  LinearCode code;
};

int quant_of(float x, float inverse_scale, float offset, LinearCode code) {
  return round_clamped((x - offset) * inverse_scale, code.q_min, code.q_max);
}

// Weighted least-squares scale (and offset) for fixed quants; false when the fit is degenerate.
bool fit_to_quants(const Block& b, const int* q, LinearParams& fit) {
  double sw = 0, sq = 0, sqq = 0, sx = 0, sqx = 0;
  for (int i = 0; i < b.n; ++i) {
    const double w = b.w[i];
    sw += w;
    sq += w * q[i];
    sqq += w * q[i] * q[i];
    sx += w * b.x[i];
    sqx += w * q[i] * b.x[i];
  }
  if (!b.code.has_offset) {
    if (!(sqq > 0)) return false;
    fit = {static_cast<float>(sqx / sqq), 0.0f};
    return true;
  }
  const double det = sw * sqq - sq * sq;  // 0 when every quant is the same
  if (!(det > 0)) return false;
  const double scale = (sw * sqx - sq * sx) / det;
  if (!(scale > 0)) return false;
  fit = {static_cast<float>(scale), static_cast<float>((sqq * sx - sq * sqx) / det)};
  return true;
}

// Rounds x to the stored parameters and returns the weighted error of the values they give.
double round_and_score(const Block& b, LinearParams p, int* q) {
  const float inverse_scale = p.scale != 0.0f ? 1.0f / p.scale : 0.0f;
  double error = 0;
  for (int i = 0; i < b.n; ++i) {
    q[i] = quant_of(b.x[i], inverse_scale, p.offset, b.code);
    const double diff = static_cast<double>(b.x[i]) - (p.scale * static_cast<float>(q[i]) + p.offset);
    error += b.w[i] * diff * diff;
  }
  return std::isnan(error) ? kInfinity : error;
}

struct Search {
  const Block& block;
  StoreLinearParams store;
  LinearParams best{};
  double best_error = kInfinity;
  std::vector<int> q = std::vector<int>(static_cast<size_t>(block.n));  // [n] scratch quants

  // Quants for the given inverse scale and offset, refit, stored, re-rounded and scored.
  void try_candidate(float inverse_scale, float offset) {
    for (int i = 0; i < block.n; ++i) q[static_cast<size_t>(i)] = quant_of(block.x[i], inverse_scale, offset, block.code);
    LinearParams fit;
    if (!fit_to_quants(block, q.data(), fit)) return;
    const LinearParams stored = store(fit, block.code);
    const double error = round_and_score(block, stored, q.data());
    if (error < best_error) {
      best_error = error;
      best = stored;
    }
  }
};

// Search weights for a block's importance: each raised to at least kImportanceFloor times their mean.
// False when the importance sums to zero or is not finite.
bool search_weights(const float* importance, size_t n, float* w) {
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += importance[i];
  if (!(total > 0) || !std::isfinite(total)) return false;
  const auto floor = static_cast<float>(kImportanceFloor * total / static_cast<double>(n));
  for (size_t i = 0; i < n; ++i) w[i] = std::max(importance[i], floor);
  return true;
}

// sum_i importance[i] * (x[i] - y[i])^2; NaN (from non-finite data) counts as infinite.
double weighted_squared_error(const float* x, const float* importance, const float* y, size_t n) {
  double error = 0;
  for (size_t i = 0; i < n; ++i) {
    const double diff = static_cast<double>(x[i]) - y[i];
    error += importance[i] * diff * diff;
  }
  return std::isnan(error) ? kInfinity : error;
}

}  // namespace

void quantize_row_weighted(const WeightedQuantizer& quantizer, const float* x, const float* importance, void* dst,
                           int64_t n) {
  const auto block_size = static_cast<size_t>(quantizer.block_size);
  std::vector<float> w(block_size);                           // [block_size] search weights
  std::vector<uint8_t> candidate(quantizer.block_bytes);      // the search's block
  std::vector<float> plain_values(block_size), candidate_values(block_size);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t first = 0; first < n; first += quantizer.block_size, out += quantizer.block_bytes) {
    const float* block_x = x + first;
    const float* block_importance = importance + first;
    quantizer.quantize(block_x, out, quantizer.block_size);
    if (!search_weights(block_importance, block_size, w.data())) continue;
    quantizer.search(block_x, w.data(), candidate.data(), quantizer.block_size);
    quantizer.dequantize(out, plain_values.data(), quantizer.block_size);
    quantizer.dequantize(candidate.data(), candidate_values.data(), quantizer.block_size);
    if (weighted_squared_error(block_x, block_importance, candidate_values.data(), block_size) <
        weighted_squared_error(block_x, block_importance, plain_values.data(), block_size)) {
      std::copy(candidate.begin(), candidate.end(), out);
    }
  }
}

LinearParams round_to_f16(LinearParams exact, LinearCode /*code*/) {
  return {fp16_to_fp32(fp32_to_fp16(exact.scale)), fp16_to_fp32(fp32_to_fp16(exact.offset))};
}

LinearParams search_weighted_linear(const float* x, const float* w, int n, LinearCode code, StoreLinearParams store,
                                    int* q) {
  const Block block{x, w, n, code};
  Search search{block, store};
  if (code.has_offset) {
    const auto [lo_it, hi_it] = std::minmax_element(x, x + n);
    const float lo = *lo_it, range = *hi_it - *lo_it;
    const int levels = code.q_max - code.q_min;
    if (range > 0) {
      for (int k = -kGridHalfWidth; k <= kGridHalfWidth; ++k) {
        const float inverse_scale = (static_cast<float>(levels) + grid_step(levels) * static_cast<float>(k)) / range;
        search.try_candidate(inverse_scale, lo - static_cast<float>(code.q_min) / inverse_scale);
      }
    }
  } else {
    const float extreme = signed_absmax(x, n);
    if (extreme != 0.0f) {
      // The extreme value may land on either end of an asymmetric range such as Q4_0's [-8, 7].
      for (const int end : {code.q_min, code.q_max}) {
        if (end == 0 || (end == code.q_max && code.q_max == -code.q_min)) continue;
        const float outward = end < 0 ? -1.0f : 1.0f;  // k > 0 moves the target beyond the end
        for (int k = -kGridHalfWidth; k <= kGridHalfWidth; ++k) {
          const float target = static_cast<float>(end) + outward * grid_step(end) * static_cast<float>(k);
          search.try_candidate(target / extreme, 0.0f);
        }
      }
    }
  }
  for (int round = 0; round < kRefitRounds && search.best.scale != 0.0f; ++round) {
    const LinearParams before = search.best;
    search.try_candidate(1.0f / before.scale, before.offset);
    if (search.best.scale == before.scale && search.best.offset == before.offset) break;
  }
  round_and_score(block, search.best, q);
  return search.best;
}

}  // namespace lowbit
