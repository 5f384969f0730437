#include "quant/gptq.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "formats/block_grid.h"
#include "kernels/single_threaded_blas.h"
#include "quant/inverse_cholesky.h"

namespace lowbit {
namespace {

// Rows are independent in GPTQ (they share only H), so threads take panels of rows through the whole
// column loop; a panel is large enough for an efficient lazy-update sgemm.
constexpr int64_t kPanelRows = 128;

// Columns in processing order: natural, or by decreasing H_ii (ties keep their order).
std::vector<int64_t> processing_order(const float* h, int64_t n, bool act_order) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (act_order) {
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return h[a * n + a] > h[b * n + b]; });
  }
  return order;
}

// [n][n] H in processing order, dead columns given the mean diagonal, then damp * mean diagonal added.
std::vector<float> damped_hessian(const float* h, int64_t n, const std::vector<int64_t>& order, double damp) {
  double diagonal_sum = 0;
  for (int64_t i = 0; i < n; ++i) diagonal_sum += h[i * n + i];
  double mean_diagonal = diagonal_sum / static_cast<double>(n);
  if (!(mean_diagonal > 0)) mean_diagonal = 1;  // no input at all: every column is dead
  std::vector<float> permuted(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) permuted[i * n + j] = h[order[i] * n + order[j]];
    float& diagonal = permuted[i * n + i];
    if (!(diagonal > 0)) diagonal = static_cast<float>(mean_diagonal);
    diagonal += static_cast<float>(damp * mean_diagonal);
  }
  return permuted;
}

// The code of the grid point nearest to w (value = scale * q + offset), q in [q_min, q_max].
int nearest_code(float w, float scale, float offset, int q_min, int q_max) {
  if (scale == 0.0f) return std::clamp(0, q_min, q_max);
  const float q = std::clamp((w - offset) / scale, static_cast<float>(q_min), static_cast<float>(q_max));
  return static_cast<int>(std::nearbyint(q));
}

// Everything one quantization shares between the panels of rows.
struct GptqProblem {
  int64_t rows, cols;
  const TypeTraits& traits;
  const BlockGrid& grid;
  int64_t batch_columns;
  std::vector<int64_t> order;           // [cols] column processed k-th
  std::vector<int64_t> position;        // [cols] inverse of order
  std::vector<int64_t> first_position;  // [cols / block_size] the first of a block's columns in processing order
  std::vector<float> importance;        // [cols] H_ii, natural order
  std::vector<float> factor;            // [cols][cols] upper U, U^T U = H^-1 in processing order
  uint8_t* dst;                         // [rows][row_bytes]
};

// One panel of rows [row_begin, row_end) through every column.
class PanelQuantizer {
 public:
  PanelQuantizer(const GptqProblem& problem, const float* w, int64_t row_begin, int64_t row_end)
      : p_(problem),
        row_begin_(row_begin),
        count_(row_end - row_begin),
        work_(static_cast<size_t>(count_ * p_.cols)),
        errors_(static_cast<size_t>(count_ * p_.batch_columns)),
        scale_(static_cast<size_t>(count_ * p_.cols)),
        offset_(static_cast<size_t>(count_ * p_.cols)),
        codes_(static_cast<size_t>(count_ * p_.cols)),
        block_values_(static_cast<size_t>(p_.traits.block_size)),
        row_values_(p_.grid.params_per_row ? static_cast<size_t>(p_.cols) : 0) {
    // Non-finite weights become 0, as the block converters store them.
    for (int64_t r = 0; r < count_; ++r) {
      const float* from = w + (row_begin + r) * p_.cols;
      float* to = work_.data() + r * p_.cols;
      for (int64_t k = 0; k < p_.cols; ++k) {
        const float v = from[p_.order[k]];
        to[k] = std::isfinite(v) ? v : 0.0f;
      }
    }
  }

  void run() {
    for (int64_t begin = 0; begin < p_.cols; begin += p_.batch_columns) {
      const int64_t end = std::min(p_.cols, begin + p_.batch_columns);
      for (int64_t r = 0; r < count_; ++r) quantize_batch_of_row(r, begin, end);
      apply_batch_to_later_columns(begin, end);
    }
    write_codes();
  }

 private:
  uint8_t* block_bytes(int64_t r, int64_t block) const {
    return p_.dst + static_cast<size_t>(row_begin_ + r) * p_.traits.row_bytes(p_.cols) +
           static_cast<size_t>(block) * p_.traits.block_bytes;
  }

  // Columns [begin, end) of row r, in processing order, each rounded on its block's grid and its
  // error spread over the batch's later columns.
  void quantize_batch_of_row(int64_t r, int64_t begin, int64_t end) {
    float* work = work_.data() + r * p_.cols;
    float* errors = errors_.data() + r * p_.batch_columns;
    const int64_t block_size = p_.traits.block_size;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t column = p_.order[k];
      const int64_t block = column / block_size;
      if (p_.grid.params_per_row) {
        if (k == 0) choose_row(r);
      } else if (p_.first_position[block] == k) {
        choose_block(r, block, begin, k);
      }
      const size_t at = static_cast<size_t>(r * p_.cols + column);
      const int q = nearest_code(work[k], scale_[at], offset_[at], p_.grid.q_min, p_.grid.q_max);
      codes_[at] = static_cast<int8_t>(q);
      const float* u = p_.factor.data() + k * p_.cols;
      const float error = (work[k] - (scale_[at] * static_cast<float>(q) + offset_[at])) / u[k];
      errors[k - begin] = error;
      for (int64_t l = k + 1; l < end; ++l) work[l] -= error * u[l];
    }
  }

  // The block's parameters from its columns' current values: columns of this batch hold them
  // already; columns of later batches still lack this batch's updates from the columns before k.
  void choose_block(int64_t r, int64_t block, int64_t begin, int64_t k) {
    const float* work = work_.data() + r * p_.cols;
    const float* errors = errors_.data() + r * p_.batch_columns;
    const int64_t block_size = p_.traits.block_size;
    const int64_t batch_end = std::min(p_.cols, begin + p_.batch_columns);
    for (int64_t e = 0; e < block_size; ++e) {
      const int64_t at = p_.position[block * block_size + e];
      float value = work[at];
      if (at >= batch_end) {
        for (int64_t j = begin; j < k; ++j) value -= errors[j - begin] * p_.factor[j * p_.cols + at];
      }
      block_values_[e] = value;
    }
    uint8_t* bytes = block_bytes(r, block);
    choose_block_params(p_.traits, block_values_.data(), p_.importance.data() + block * block_size, bytes);
    const size_t at = static_cast<size_t>(r * p_.cols + block * block_size);
    p_.grid.read_grid(bytes, scale_.data() + at, offset_.data() + at);
  }

  // Per-channel formats: the row's parameters from all of its original values, before any column is
  // rounded, as per-channel GPTQ does; every block keeps them.
  void choose_row(int64_t r) {
    const float* work = work_.data() + r * p_.cols;
    for (int64_t c = 0; c < p_.cols; ++c) row_values_[c] = work[p_.position[c]];
    choose_row_params(p_.traits, row_values_.data(), p_.importance.data(), p_.cols, block_bytes(r, 0));
    const int64_t block_size = p_.traits.block_size;
    for (int64_t block = 0; block < p_.cols / block_size; ++block) {
      const size_t at = static_cast<size_t>(r * p_.cols + block * block_size);
      p_.grid.read_grid(block_bytes(r, block), scale_.data() + at, offset_.data() + at);
    }
  }

  // work[:, end:] -= errors . U[begin:end, end:] for the panel's rows: the paper's lazy batch update.
  void apply_batch_to_later_columns(int64_t begin, int64_t end) {
    if (end == p_.cols) return;
    const auto cols = static_cast<blasint>(p_.cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(count_),
                static_cast<blasint>(p_.cols - end), static_cast<blasint>(end - begin), -1.0f, errors_.data(),
                static_cast<blasint>(p_.batch_columns), p_.factor.data() + begin * p_.cols + end, cols, 1.0f,
                work_.data() + end, cols);
  }

  void write_codes() {
    const int64_t block_size = p_.traits.block_size;
    for (int64_t r = 0; r < count_; ++r) {
      for (int64_t block = 0; block < p_.cols / block_size; ++block) {
        p_.grid.write_codes(codes_.data() + r * p_.cols + block * block_size, block_bytes(r, block));
      }
    }
  }

  const GptqProblem& p_;
  int64_t row_begin_, count_;
  std::vector<float> work_;     // [count][cols] weights in processing order, updated as columns are quantized
  std::vector<float> errors_;   // [count][batch_columns] the current batch's scaled errors
  std::vector<float> scale_;    // [count][cols] each element's grid, natural order
  std::vector<float> offset_;   // [count][cols]
  std::vector<int8_t> codes_;   // [count][cols] natural order
  std::vector<float> block_values_;  // [block_size] scratch
  std::vector<float> row_values_;    // [cols] scratch of per-row formats, natural order
};

void check_divides(int64_t cols, const TypeTraits& target) {
  if (cols % target.block_size != 0) {
    throw_error("gptq: a row of {} columns is not a whole number of {} blocks of {} elements", cols, target.name,
                target.block_size);
  }
}

}  // namespace

void gptq_quantize_matrix(const float* w, int64_t rows, int64_t cols, const float* hessian, const TypeTraits& target,
                          const MethodOptions& options, uint8_t* dst) {
  check_divides(cols, target);
  const BlockGrid* grid = find_block_grid(target.type);
  if (grid == nullptr) {
    throw_error("gptq: cannot write type {} (it has no block grid; ggml's q4_0..q8_0 and q2_K..q6_K and lowbit's "
                "lb_i* types can)",
                target.name);
  }
  if (!(options.damp >= 0) || !std::isfinite(options.damp)) throw_error("gptq: damp {} is not >= 0", options.damp);
  if (options.block_columns <= 0) throw_error("gptq: block_columns {} is not positive", options.block_columns);
  if (rows <= 0 || cols <= 0) return;

  GptqProblem problem{rows, cols, target, *grid, std::min(options.block_columns, cols), {}, {}, {}, {}, {}, dst};
  problem.order = processing_order(hessian, cols, options.act_order);
  problem.position.resize(static_cast<size_t>(cols));
  for (int64_t k = 0; k < cols; ++k) problem.position[problem.order[k]] = k;
  problem.first_position.assign(static_cast<size_t>(cols / target.block_size), cols);
  for (int64_t c = 0; c < cols; ++c) {
    int64_t& first = problem.first_position[c / target.block_size];
    first = std::min(first, problem.position[c]);
  }
  problem.importance.resize(static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c) problem.importance[c] = std::max(hessian[c * cols + c], 0.0f);
  std::optional<std::vector<float>> factor =
      upper_cholesky_of_inverse(damped_hessian(hessian, cols, problem.order, options.damp), cols);
  if (!factor) {
    throw_error("gptq: the Hessian of a {}x{} matrix is not positive definite after dampening {}; raise --damp", rows,
                cols, options.damp);
  }
  problem.factor = std::move(*factor);

  use_single_threaded_blas();
  const int64_t panels = (rows + kPanelRows - 1) / kPanelRows;
#pragma omp parallel for schedule(dynamic)
  for (int64_t panel = 0; panel < panels; ++panel) {
    PanelQuantizer(problem, w, panel * kPanelRows, std::min(rows, (panel + 1) * kPanelRows)).run();
  }
}

void gptq_quantize_tensor(const float* w, int64_t rows, int64_t cols, const TypeTraits& target, const SiteStats* site,
                          const MethodOptions& options, uint8_t* dst) {
  check_divides(cols, target);
  if (!target.is_quantized || site == nullptr) {
    // Row by row: a per-row type's parameters belong to one row.
    for (int64_t r = 0; r < rows; ++r) target.from_float(w + r * cols, dst + static_cast<size_t>(r) * target.row_bytes(cols), cols);
    return;
  }
  if (site->gram.empty()) {
    throw_error("gptq: the stats of site {} have no Gram matrix (recorded with --no-gram)", site->name);
  }
  if (site->channels != cols || site->gram.size() != static_cast<size_t>(cols * cols)) {
    throw_error("gptq: site {} has {} channels but the matrix has {} columns", site->name, site->channels, cols);
  }
  gptq_quantize_matrix(w, rows, cols, site->gram.data(), target, options, dst);
}

}  // namespace lowbit
