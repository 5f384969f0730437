// The inverse-Hessian factor GPTQ updates its columns with (Frantar et al. 2022, section 3, "Cholesky
// reformulation"): the upper-triangular U with U^T U = A^-1, row i of which holds what quantizing
// column i does to the columns after it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace lowbit {

// a: [n][n] symmetric positive definite, row-major. Returns U [n][n] (zero below the diagonal, positive
// diagonal), or nullopt when a is not numerically positive definite.
//
// One Cholesky factorisation and one triangular inverse (OpenBLAS's LAPACK, blocked): with J the
// order-reversing permutation, J A J = L L^T gives A = M M^T for the upper-triangular M = J L J, so
// A^-1 = (M^-1)^T M^-1 and U = M^-1 = J L^-1 J.
std::optional<std::vector<float>> upper_cholesky_of_inverse(std::vector<float> a, int64_t n);

}  // namespace lowbit
