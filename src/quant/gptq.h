// GPTQ (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained
// Transformers"): quantizes a weight matrix W [rows][cols] one column at a time, and after each column
// moves its rounding error onto the columns not yet quantized so as to minimise the layer's output
// error tr((W - Q) H (W - Q)^T), H = X^T X the Gram matrix of the layer's inputs.
//
// lowbit's version writes any type with a block grid (formats/block_grid.h): ggml's Q4_0 ... Q8_0 and
// Q2_K ... Q6_K and lowbit's lb_i* formats, as ordinary blocks of that type. For each (row, block) the
// parameters (scales, minimums, zero points) are chosen by the type's own quantizer, weighted by the
// Hessian diagonal, when the first of the block's columns is reached in processing order, from the
// block's weights as updated so far; the block's columns are then rounded one by one on that fixed grid.
//
//   dead columns   H_ii = 0 (an input that was always zero): H_ii is set to the mean diagonal so the
//                  factorisation exists; the column's weights are kept (they see no input in the
//                  calibration data, but may in use) and its error moves nowhere (H_ij = 0).
//   dampening      options.damp * mean(diag H) is added to the diagonal.
//   act_order      columns in order of decreasing H_ii. Blocks stay blocks of consecutive stored columns:
//                  a block's parameters are chosen when its first column in that order is reached, from
//                  the current values of all its columns, including the updates of the current lazy
//                  batch not yet applied to columns beyond it.
//   lazy batches   options.block_columns columns are processed with updates inside the batch only; the
//                  rest of the matrix gets the batch's updates in one matrix product (the paper's
//                  section 3, "lazy batch-updates").
#pragma once

#include <cstdint>

#include "formats/type_traits.h"
#include "quant/calib_stats.h"
#include "quant/quant_method.h"

namespace lowbit {

// w [rows][cols], hessian [cols][cols] symmetric positive semi-definite (any positive multiple of
// X^T X) -> dst (rows * target.row_bytes(cols) bytes of `target`). Throws lowbit::Error when cols is
// not a multiple of the target's block size, the target has no block grid, or H + damp is not
// positive definite.
void gptq_quantize_matrix(const float* w, int64_t rows, int64_t cols, const float* hessian, const TypeTraits& target,
                          const MethodOptions& options, uint8_t* dst);

// The "gptq" method's TensorQuantizer (quant/quant_method.h): the Hessian is the site's Gram matrix.
// Without a site (no stats recorded for the matrix) or for a float target, the type's row quantizer.
void gptq_quantize_tensor(const float* w, int64_t rows, int64_t cols, const TypeTraits& target, const SiteStats* site,
                          const MethodOptions& options, uint8_t* dst);

}  // namespace lowbit
