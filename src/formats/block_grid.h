// A block format seen as a fixed grid per element, for quantizers that choose a block's parameters
// first and its integer codes afterwards (GPTQ rounds one column at a time and needs each element's
// grid before it reaches the element).
//
// Every format here stores, per element, an integer code q in [q_min, q_max] and per block (or
// sub-block) a few parameters, and decodes the element as an affine function of its code:
//
//   value = scale[i] * q + offset[i]
//
// (Q4_K: scale = d * sub-block scale code, offset = -dmin * min code; lb_i4_asym_g32: scale = S,
// offset = -S * Z; Q3_K: scale may be negative.) A block is produced in three steps:
//   1. choose_block_params: the format's own quantizer (importance-weighted when it has one) writes
//      the block; only its parameters matter from here on;
//   2. read_grid: each element's (scale, offset) from those bytes;
//   3. write_codes: the block's codes replaced by the caller's, the parameters kept.
// The result is an ordinary block of the type, decoded by its to_float (a GPTQ-optimized GGUF of a
// ggml type still runs in llama.cpp).
//
// One table keyed by TensorType (block_grid_table.cpp); a new format adds one entry. Codes are in
// the format's own numbering (Q4_0: 0..15 with offset -8d; Q8_0: -127..127; lb_i3: -4..3).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "core/tensor.h"
#include "formats/lowbit_int.h"
#include "formats/type_traits.h"

namespace lowbit {

struct BlockGrid {
  TensorType type;
  int q_min, q_max;
  // block: one block's bytes. scale, offset: [block_size] each.
  std::function<void(const uint8_t* block, float* scale, float* offset)> read_grid;
  // q: [block_size], each in [q_min, q_max]. Rewrites the codes of `block`, keeping its parameters.
  std::function<void(const int8_t* q, uint8_t* block)> write_codes;
  // The parameters belong to the whole row (per-channel formats): step 1 runs once per row, on all
  // of the row's elements (choose_row_params), and every block reuses them.
  bool params_per_row = false;
};

// nullptr when the type has no grid (plain floats, code books, FP8).
const BlockGrid* find_block_grid(TensorType type);
std::span<const BlockGrid> all_block_grids();

// Step 1 for one block: x [block_size] -> block, with from_float_weighted when importance
// ([block_size], >= 0) is given and the type has a weighted quantizer, else from_float.
void choose_block_params(const TypeTraits& traits, const float* x, const float* importance, uint8_t* block);
// Step 1 for a whole row of grid.params_per_row formats: x [n] -> row [row_bytes(n)]; importance [n] or null.
void choose_row_params(const TypeTraits& traits, const float* x, const float* importance, int64_t n, uint8_t* row);

// The grids of each format family; block_grid_table.cpp puts them in the table.
BlockGrid q4_0_block_grid();
BlockGrid q4_1_block_grid();
BlockGrid q5_0_block_grid();
BlockGrid q5_1_block_grid();
BlockGrid q8_0_block_grid();
BlockGrid q2_k_block_grid();
BlockGrid q3_k_block_grid();
BlockGrid q4_k_block_grid();
BlockGrid q5_k_block_grid();
BlockGrid q6_k_block_grid();
BlockGrid lowbit_int_block_grid(TensorType type, LowbitIntFormat format);

}  // namespace lowbit
