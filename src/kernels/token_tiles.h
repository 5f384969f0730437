// The batch loop shared by the products that dot one weight row with a few tokens at a time (the packed
// types below the GEMM's batch size, and W8A8): a thread's rows are taken kRowTile at a time and dotted
// with kTokenTile tokens at a time, so the tile's weight rows stay in L1/L2 while the token tile's
// activations stream from L2.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/dot_kernels.h"
#include "kernels/matmul.h"

namespace lowbit {

inline constexpr int64_t kRowTile = 16;
inline constexpr int64_t kTokenTile = 64;

// y [n_tokens][rows]: y[t][r] = dot_one(r, t); where has_group, kTokenGroup tokens at a time go through
// dot_group(r, t, out) filling out[k] for tokens t + k. Row tiles split over the thread pool from
// kMinParallelWork multiply-adds.
template <typename DotGroup, typename DotOne>
void multiply_token_tiles(int64_t rows, int64_t cols, int64_t n_tokens, bool has_group, const DotGroup& dot_group,
                          const DotOne& dot_one, float* y) {
  const auto multiply_tile = [&](int64_t row_tile, int64_t row_end) {
    for (int64_t token_tile = 0; token_tile < n_tokens; token_tile += kTokenTile) {
      const int64_t token_end = std::min(n_tokens, token_tile + kTokenTile);
      for (int64_t r = row_tile; r < row_end; ++r) {
        int64_t t = token_tile;
        if (has_group) {
          for (; t + kTokenGroup <= token_end; t += kTokenGroup) {
            float out[kTokenGroup];
            dot_group(r, t, out);
            for (int k = 0; k < kTokenGroup; ++k) y[(t + k) * rows + r] = out[k];
          }
        }
        for (; t < token_end; ++t) y[t * rows + r] = dot_one(r, t);
      }
    }
  };
  const int64_t tiles = (rows + kRowTile - 1) / kRowTile;
  parallel_ranges(tiles, threads_for_work(rows * cols * n_tokens), [&](int64_t first_tile, int64_t end_tile) {
    for (int64_t tile = first_tile; tile < end_tile; ++tile) {
      multiply_tile(tile * kRowTile, std::min(rows, (tile + 1) * kRowTile));
    }
  });
}

}  // namespace lowbit
