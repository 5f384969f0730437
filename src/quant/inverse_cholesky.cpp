#include "quant/inverse_cholesky.h"

#include <cblas.h>

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "kernels/single_threaded_blas.h"

// LAPACK in OpenBLAS (Fortran calling convention, column-major); Debian ships no C header for it.
extern "C" {
void spotrf_(const char* uplo, const blasint* n, float* a, const blasint* lda, blasint* info);
void strtri_(const char* uplo, const char* diag, const blasint* n, float* a, const blasint* lda, blasint* info);
}

namespace lowbit {
namespace {

// b[i][j] = a[n-1-i][n-1-j]
std::vector<float> reversed(const std::vector<float>& a, int64_t n) {
  std::vector<float> b(a.size());
  for (int64_t i = 0; i < n; ++i) {
    const float* from = a.data() + (n - 1 - i) * n;
    std::reverse_copy(from, from + n, b.data() + i * n);
  }
  return b;
}

}  // namespace

std::optional<std::vector<float>> upper_cholesky_of_inverse(std::vector<float> a, int64_t n) {
  if (n > std::numeric_limits<blasint>::max()) throw_error("inverse Cholesky: matrix of order {} is too large", n);
  if (n == 0) return std::vector<float>{};
  std::vector<float> factor = reversed(a, n);  // [n][n] J A J
  a = {};
  // Row-major [i][j] is column-major [j][i]: LAPACK's upper triangle is our lower one, so the
  // column-major factorisation J A J = V^T V (V upper) leaves L = V^T in our lower triangle, and
  // inverting V in place leaves L^-1 there.
  use_single_threaded_blas();
  const auto order = static_cast<blasint>(n);
  blasint info = 0;
  spotrf_("U", &order, factor.data(), &order, &info);
  if (info != 0) return std::nullopt;
  strtri_("U", "N", &order, factor.data(), &order, &info);
  if (info != 0) return std::nullopt;
  for (int64_t i = 0; i < n; ++i) std::fill(factor.data() + i * n + i + 1, factor.data() + (i + 1) * n, 0.0f);
  return reversed(factor, n);
}

}  // namespace lowbit
