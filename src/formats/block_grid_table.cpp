#include <vector>

#include "formats/block_grid.h"

namespace lowbit {
namespace {

// ggml's types by hand; then every lowbit integer type (formats/lowbit_int.h).
std::vector<BlockGrid> make_block_grids() {
  std::vector<BlockGrid> grids = {q4_0_block_grid(), q4_1_block_grid(), q5_0_block_grid(), q5_1_block_grid(),
                                  q8_0_block_grid(), q2_k_block_grid(), q3_k_block_grid(), q4_k_block_grid(),
                                  q5_k_block_grid(), q6_k_block_grid()};
  for (const LowbitIntType& entry : kLowbitIntTypes) grids.push_back(lowbit_int_block_grid(entry.type, entry.format));
  return grids;
}

}  // namespace

std::span<const BlockGrid> all_block_grids() {
  static const std::vector<BlockGrid> grids = make_block_grids();
  return grids;
}

const BlockGrid* find_block_grid(TensorType type) {
  for (const BlockGrid& grid : all_block_grids()) {
    if (grid.type == type) return &grid;
  }
  return nullptr;
}

void choose_block_params(const TypeTraits& traits, const float* x, const float* importance, uint8_t* block) {
  choose_row_params(traits, x, importance, traits.block_size, block);
}

void choose_row_params(const TypeTraits& traits, const float* x, const float* importance, int64_t n, uint8_t* row) {
  if (importance != nullptr && traits.from_float_weighted != nullptr) {
    traits.from_float_weighted(x, importance, row, n);
  } else {
    traits.from_float(x, row, n);
  }
}

}  // namespace lowbit
