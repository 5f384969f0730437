// The merge loop every BPE variant shares: start from small symbols, repeatedly merge the adjacent pair
// with the best priority (leftmost on ties) until no pair merges. A priority queue over a doubly linked
// list keeps this O(n log n), so a whole 300 KB text can be one "word".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lowbit {

// A span of the text being tokenized and the token it spells (-1 when the span is no token).
struct BpeSymbol {
  uint32_t begin = 0;
  uint32_t length = 0;
  int32_t id = -1;
};

// The token two adjacent symbols merge into; a lower priority merges first.
struct BpeMerge {
  double priority = 0;
  int32_t id = -1;
};

// find_merge(left, right) says whether the adjacent pair merges, and into what. Symbols must be
// contiguous and in text order; the result is too.
using FindMerge = std::function<std::optional<BpeMerge>(const BpeSymbol& left, const BpeSymbol& right)>;
std::vector<BpeSymbol> merge_symbols(const std::vector<BpeSymbol>& symbols, const FindMerge& find_merge);

// Merge rules "left right" (GGUF tokenizer.ggml.merges, tokenizer.json merges) by the ids of the pair,
// with their rank as priority. `piece_id` gives a piece's id or -1. Throws lowbit::Error (naming
// `vocab_name`) for a rule that is not two pieces whose concatenation is a piece.
class MergeRanks {
 public:
  MergeRanks() = default;
  MergeRanks(const std::vector<std::string>& merges, const std::function<int32_t(std::string_view)>& piece_id,
             std::string_view vocab_name);
  bool empty() const { return ranks_.empty(); }
  std::optional<BpeMerge> find(const BpeSymbol& left, const BpeSymbol& right) const;

 private:
  std::unordered_map<uint64_t, BpeMerge> ranks_;  // key: left id << 32 | right id
};

}  // namespace lowbit
