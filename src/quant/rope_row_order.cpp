#include "quant/output_layout.h"

#include <algorithm>
#include <charconv>
#include <numeric>
#include <string_view>

#include "core/error.h"

namespace lowbit {
namespace {

// N of a "blk.N." name, -1 for a tensor outside the blocks.
int64_t block_number(const std::string& name) {
  constexpr std::string_view prefix = "blk.";
  if (name.compare(0, prefix.size(), prefix) != 0) return -1;
  int64_t number = -1;
  const char* begin = name.data() + prefix.size();
  const auto [end, error] = std::from_chars(begin, name.data() + name.size(), number);
  if (error != std::errc() || end == begin) return -1;
  return number;
}

}  // namespace

std::vector<size_t> llama_quantize_order(const std::vector<std::string>& names) {
  std::vector<int64_t> blocks(names.size());
  for (size_t i = 0; i < names.size(); ++i) blocks[i] = block_number(names[i]);
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (blocks[a] != blocks[b]) return blocks[a] < blocks[b];
    return names[a] < names[b];
  });
  return order;
}

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
