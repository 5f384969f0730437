#include "quant/gptq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/block_grid.h"
#include "quant/inverse_cholesky.h"

namespace lowbit {
namespace test_gptq {

constexpr int64_t kRows = 8;
constexpr int64_t kCols = 256;  // one K-quant super-block

std::vector<float> random_weights(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> w(static_cast<size_t>(rows * cols));  // [rows][cols]
  for (float& v : w) v = dist(rng);
  return w;
}

// X^T X / tokens of activations whose channels are mixed (each the sum of a few neighbours' sources)
// and of varied magnitude, as real layer inputs are. tokens < cols gives a singular matrix.
std::vector<float> correlated_hessian(int64_t cols, int64_t tokens, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(tokens * cols));  // [tokens][cols]
  std::vector<float> source(static_cast<size_t>(cols));
  for (int64_t t = 0; t < tokens; ++t) {
    for (float& v : source) v = dist(rng);
    const float shared = dist(rng);
    for (int64_t c = 0; c < cols; ++c) {
      const float magnitude = 0.3f + static_cast<float>(c % 7);
      x[t * cols + c] = magnitude * (source[c] + 0.7f * source[(c + 1) % cols] + 0.5f * shared);
    }
  }
  std::vector<float> h(static_cast<size_t>(cols * cols));
  for (int64_t i = 0; i < cols; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      double sum = 0;
      for (int64_t t = 0; t < tokens; ++t) sum += double{x[t * cols + i]} * x[t * cols + j];
      h[i * cols + j] = h[j * cols + i] = static_cast<float>(sum / static_cast<double>(tokens));
    }
  }
  return h;
}

std::vector<float> dequantize(const TypeTraits& traits, const std::vector<uint8_t>& bytes, int64_t rows, int64_t cols) {
  std::vector<float> values(static_cast<size_t>(rows * cols));
  traits.to_float(bytes.data(), values.data(), rows * cols);
  return values;
}

// tr((W - Q) H (W - Q)^T): the layer's output error on the calibration inputs.
double output_error(const std::vector<float>& w, const std::vector<float>& q, const std::vector<float>& h, int64_t rows,
                    int64_t cols) {
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < cols; ++i) {
      const double di = double{w[r * cols + i]} - q[r * cols + i];
      for (int64_t j = 0; j < cols; ++j) total += di * h[i * cols + j] * (double{w[r * cols + j]} - q[r * cols + j]);
    }
  }
  return total;
}

std::vector<uint8_t> run_gptq(const std::vector<float>& w, const std::vector<float>& h, const TypeTraits& traits,
                              const MethodOptions& options, int64_t rows = kRows, int64_t cols = kCols) {
  std::vector<uint8_t> bytes(static_cast<size_t>(rows) * traits.row_bytes(cols));
  gptq_quantize_matrix(w.data(), rows, cols, h.data(), traits, options, bytes.data());
  return bytes;
}

std::vector<uint8_t> run_rtn(const std::vector<float>& w, const TypeTraits& traits, int64_t rows = kRows,
                             int64_t cols = kCols) {
  std::vector<uint8_t> bytes(static_cast<size_t>(rows) * traits.row_bytes(cols));
  // Row by row, as the quantize pipeline converts (the per-row types choose parameters per call).
  for (int64_t r = 0; r < rows; ++r) traits.from_float(w.data() + r * cols, bytes.data() + r * traits.row_bytes(cols), cols);
  return bytes;
}

TEST(InverseCholesky, FactorsTheInverse) {
  const int64_t n = 40;
  const std::vector<float> a = correlated_hessian(n, 200, 1);
  const std::optional<std::vector<float>> u = upper_cholesky_of_inverse(a, n);
  ASSERT_TRUE(u.has_value());
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_GT((*u)[i * n + i], 0.0f);
    for (int64_t j = 0; j < i; ++j) EXPECT_EQ((*u)[i * n + j], 0.0f);
  }
  // U^T U A == I
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        double utu = 0;
        for (int64_t m = 0; m < n; ++m) utu += double{(*u)[m * n + i]} * (*u)[m * n + k];
        sum += utu * a[k * n + j];
      }
      EXPECT_NEAR(sum, i == j ? 1.0 : 0.0, 1e-3) << i << "," << j;
    }
  }
}

TEST(InverseCholesky, RejectsIndefinite) {
  const std::vector<float> a = {1, 2, 2, 1};  // eigenvalues 3 and -1
  EXPECT_FALSE(upper_cholesky_of_inverse(a, 2).has_value());
}

// Every type with a block grid, at whatever bits it has: GPTQ's output error is below RTN's.
TEST(Gptq, BeatsRoundToNearestOnEveryGridType) {
  const std::vector<float> w = random_weights(kRows, kCols, 2);
  const std::vector<float> h = correlated_hessian(kCols, 512, 3);
  for (const BlockGrid& grid : all_block_grids()) {
    const TypeTraits& traits = type_traits(grid.type);
    const double gptq = output_error(w, dequantize(traits, run_gptq(w, h, traits, {}), kRows, kCols), h, kRows, kCols);
    const double rtn = output_error(w, dequantize(traits, run_rtn(w, traits), kRows, kCols), h, kRows, kCols);
    EXPECT_LT(gptq, rtn) << traits.name;
    EXPECT_GT(gptq, 0.0) << traits.name;
  }
}

// Per-row types: each row's parameters are those the type's weighted quantizer picks from the whole
// original row (importance: the Hessian's diagonal), before any column is rounded, in either column
// order; every block of the row repeats them.
TEST(Gptq, PerRowTypesChooseParametersFromTheWholeRow) {
  const std::vector<float> w = random_weights(kRows, kCols, 6);
  const std::vector<float> h = correlated_hessian(kCols, 512, 7);
  std::vector<float> importance(kCols);
  for (int64_t c = 0; c < kCols; ++c) importance[c] = h[c * kCols + c];
  for (const char* name : {"lb_i3_asym_row", "lb_i2_sym_row"}) {
    const TypeTraits& traits = *find_type_traits(name);
    const size_t header = std::string(name).find("_asym_") != std::string::npos ? 3 : 2;
    const size_t row_bytes = traits.row_bytes(kCols);
    for (bool act_order : {false, true}) {
      MethodOptions options;
      options.act_order = act_order;
      const std::vector<uint8_t> bytes = run_gptq(w, h, traits, options);
      for (int64_t r = 0; r < kRows; ++r) {
        std::vector<uint8_t> expected(row_bytes);
        choose_row_params(traits, w.data() + r * kCols, importance.data(), kCols, expected.data());
        for (int64_t block = 0; block < kCols / traits.block_size; ++block) {
          ASSERT_EQ(std::memcmp(bytes.data() + r * row_bytes + block * traits.block_bytes, expected.data(), header), 0)
              << name << " act_order " << act_order << " row " << r << " block " << block;
        }
      }
    }
  }
}

// Without statistics the tensor is rounded to nearest row by row, so a per-row type still gets one
// set of parameters per row, not one for the whole tensor.
TEST(Gptq, WithoutStatsPerRowTypesRoundEachRow) {
  const std::vector<float> w = random_weights(kRows, kCols, 8);
  const TypeTraits& traits = *find_type_traits("lb_i3_asym_row");
  std::vector<uint8_t> bytes(static_cast<size_t>(kRows) * traits.row_bytes(kCols));
  gptq_quantize_tensor(w.data(), kRows, kCols, traits, nullptr, {}, bytes.data());
  EXPECT_EQ(bytes, run_rtn(w, traits));
}

// With a diagonal Hessian no error moves between columns, so the order in which act_order visits the
// columns must not change a single value: each block's parameters come from its own original weights
// and each code is the nearest on that block's grid, wherever the block's columns were visited.
TEST(Gptq, ActOrderKeepsBlocksWithADiagonalHessian) {
  const std::vector<float> w = random_weights(kRows, kCols, 4);
  std::vector<float> h(static_cast<size_t>(kCols * kCols));
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> diagonal(0.1f, 10.0f);
  for (int64_t i = 0; i < kCols; ++i) h[i * kCols + i] = diagonal(rng);
  for (const char* name : {"lb_i3_asym_g32", "q4_0", "q3_K", "q4_K"}) {
    const TypeTraits& traits = *find_type_traits(name);
    MethodOptions options;
    const std::vector<uint8_t> natural = run_gptq(w, h, traits, options);
    options.act_order = true;
    EXPECT_EQ(run_gptq(w, h, traits, options), natural) << name;
  }
}

// Lazy batches reorganise the same arithmetic: any batch width gives the same result up to float
// rounding in the order of the updates (a rare flipped code then shifts its row's later columns),
// also with act_order, where a block's parameters read columns of later batches that have not yet
// received the current batch's updates. (Reading those columns without the updates leaves only
// 25-70% of the values equal.)
TEST(Gptq, BatchWidthDoesNotChangeTheResult) {
  const std::vector<float> w = random_weights(kRows, kCols, 6);
  const std::vector<float> h = correlated_hessian(kCols, 512, 7);
  for (const char* name : {"lb_i3_asym_g32", "q3_K", "q4_K"}) {
    const TypeTraits& traits = *find_type_traits(name);
    MethodOptions options;
    options.act_order = true;
    options.block_columns = kCols;
    const std::vector<float> whole = dequantize(traits, run_gptq(w, h, traits, options), kRows, kCols);
    for (int64_t width : {1, 7, 128}) {
      options.block_columns = width;
      const std::vector<float> batched = dequantize(traits, run_gptq(w, h, traits, options), kRows, kCols);
      int64_t same = 0;
      for (size_t i = 0; i < whole.size(); ++i) same += whole[i] == batched[i];
      EXPECT_GT(static_cast<double>(same), 0.95 * static_cast<double>(whole.size())) << name << " width " << width;
    }
  }
}

TEST(Gptq, ActOrderBeatsRoundToNearest) {
  const std::vector<float> w = random_weights(kRows, kCols, 8);
  const std::vector<float> h = correlated_hessian(kCols, 512, 9);
  MethodOptions options;
  options.act_order = true;
  for (const char* name : {"lb_i2_asym_g64", "lb_i3_sym_g128", "q2_K", "q3_K", "q4_1"}) {
    const TypeTraits& traits = *find_type_traits(name);
    const double gptq = output_error(w, dequantize(traits, run_gptq(w, h, traits, options), kRows, kCols), h, kRows, kCols);
    const double rtn = output_error(w, dequantize(traits, run_rtn(w, traits), kRows, kCols), h, kRows, kCols);
    EXPECT_LT(gptq, rtn) << name;
  }
}

// Fewer tokens than columns and a channel that never fires: H is singular; dampening makes it usable.
TEST(Gptq, DampeningHandlesASingularHessianWithDeadColumns) {
  std::vector<float> h = correlated_hessian(kCols, 60, 10);
  for (int64_t j = 0; j < kCols; ++j) h[3 * kCols + j] = h[j * kCols + 3] = 0.0f;
  const std::vector<float> w = random_weights(kRows, kCols, 11);
  const TypeTraits& traits = *find_type_traits("lb_i3_asym_g32");
  const std::vector<float> q = dequantize(traits, run_gptq(w, h, traits, {}), kRows, kCols);
  for (float v : q) ASSERT_TRUE(std::isfinite(v));
  EXPECT_LT(output_error(w, q, h, kRows, kCols),
            output_error(w, dequantize(traits, run_rtn(w, traits), kRows, kCols), h, kRows, kCols));
}

TEST(Gptq, RejectsRowsThatAreNotWholeBlocks) {
  const int64_t cols = 100;
  const std::vector<float> w = random_weights(2, cols, 12);
  const std::vector<float> h = correlated_hessian(cols, 200, 13);
  const TypeTraits& traits = *find_type_traits("lb_i4_sym_g32");
  std::vector<uint8_t> bytes(1024);
  try {
    gptq_quantize_matrix(w.data(), 2, cols, h.data(), traits, {}, bytes.data());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("100 columns"), std::string::npos) << e.what();
  }
}

TEST(Gptq, RejectsTypesWithoutAGrid) {
  const std::vector<float> w = random_weights(2, 64, 14);
  const std::vector<float> h = correlated_hessian(64, 200, 15);
  std::vector<uint8_t> bytes(1024);
  EXPECT_THROW(gptq_quantize_matrix(w.data(), 2, 64, h.data(), *find_type_traits("lb_nf4_g64"), {}, bytes.data()),
               Error);
}

TEST(GptqTensor, UsesTheSiteGramAndChecksIt) {
  const int64_t cols = 64;
  const std::vector<float> w = random_weights(4, cols, 16);
  const TypeTraits& traits = *find_type_traits("q4_0");
  SiteStats site;
  site.name = "blk.0.attn_in";
  site.channels = cols;
  site.gram = correlated_hessian(cols, 300, 17);
  std::vector<uint8_t> from_site(4 * traits.row_bytes(cols)), direct(from_site.size());
  gptq_quantize_tensor(w.data(), 4, cols, traits, &site, {}, from_site.data());
  gptq_quantize_matrix(w.data(), 4, cols, site.gram.data(), traits, {}, direct.data());
  EXPECT_EQ(from_site, direct);

  // No stats for the matrix: the type's own quantizer.
  std::vector<uint8_t> without_site(from_site.size());
  gptq_quantize_tensor(w.data(), 4, cols, traits, nullptr, {}, without_site.data());
  EXPECT_EQ(without_site, run_rtn(w, traits, 4, cols));

  SiteStats wrong = site;
  wrong.channels = 32;
  wrong.gram.resize(32 * 32);
  EXPECT_THROW(gptq_quantize_tensor(w.data(), 4, cols, traits, &wrong, {}, from_site.data()), Error);
  SiteStats no_gram = site;
  no_gram.gram.clear();
  EXPECT_THROW(gptq_quantize_tensor(w.data(), 4, cols, traits, &no_gram, {}, from_site.data()), Error);
}

}  // namespace test_gptq
}  // namespace lowbit
