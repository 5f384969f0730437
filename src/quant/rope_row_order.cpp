#include "quant/rope_row_order.h"

#include "core/error.h"

namespace lowbit {

std::vector<int64_t> interleaved_rope_row_order(int64_t rows, int64_t head_dim) {
  if (head_dim <= 0 || head_dim % 2 != 0 || rows % head_dim != 0) {
    throw_error("cannot reorder {} rows for RoPE in heads of {} rows", rows, head_dim);
  }
  const int64_t half = head_dim / 2;
  std::vector<int64_t> order(static_cast<size_t>(rows));
  for (int64_t head = 0; head < rows / head_dim; ++head) {
    for (int64_t i = 0; i < half; ++i) {
      order[head * head_dim + 2 * i] = head * head_dim + i;
      order[head * head_dim + 2 * i + 1] = head * head_dim + half + i;
    }
  }
  return order;
}

}  // namespace lowbit
