#include "tokenizer/bpe_merger.h"

#include <queue>

#include "core/error.h"

namespace lowbit {
namespace {

struct Node {
  BpeSymbol symbol;
  int32_t prev = -1;
  int32_t next = -1;
  uint32_t version = 0;  // bumped whenever the node changes, so queued candidates that used it go stale
};

struct Candidate {
  double priority;
  int32_t left;
  int32_t right;
  uint32_t left_version;
  uint32_t right_version;
  int32_t id;
};

// std::priority_queue pops the "largest": make that the lowest priority, then the leftmost pair.
struct PopsBestFirst {
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.left > b.left;
  }
};

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

std::vector<BpeSymbol> merge_symbols(const std::vector<BpeSymbol>& symbols, const FindMerge& find_merge) {
  std::vector<Node> nodes(symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) {
    nodes[i].symbol = symbols[i];
    nodes[i].prev = static_cast<int32_t>(i) - 1;
    nodes[i].next = i + 1 < symbols.size() ? static_cast<int32_t>(i) + 1 : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, PopsBestFirst> queue;
  const auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    if (auto merge = find_merge(nodes[left].symbol, nodes[right].symbol)) {
      queue.push({merge->priority, left, right, nodes[left].version, nodes[right].version, merge->id});
    }
  };
  for (size_t i = 0; i + 1 < nodes.size(); ++i) consider(static_cast<int32_t>(i), static_cast<int32_t>(i) + 1);

  while (!queue.empty()) {
    const Candidate best = queue.top();
    queue.pop();
    Node& left = nodes[best.left];
    Node& right = nodes[best.right];
    if (left.version != best.left_version || right.version != best.right_version) continue;
    left.symbol.length += right.symbol.length;
    left.symbol.id = best.id;
    left.next = right.next;
    if (right.next >= 0) nodes[right.next].prev = best.left;
    ++left.version;
    ++right.version;
    consider(left.prev, best.left);
    consider(best.left, left.next);
  }

  std::vector<BpeSymbol> merged;
  for (int32_t i = nodes.empty() ? -1 : 0; i >= 0; i = nodes[i].next) merged.push_back(nodes[i].symbol);
  return merged;
}

MergeRanks::MergeRanks(const std::vector<std::string>& merges,
                       const std::function<int32_t(std::string_view)>& piece_id, std::string_view vocab_name) {
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string_view merge = merges[rank];
    const size_t space = merge.find(' ');
    int32_t left = -1, right = -1, merged = -1;
    if (space != std::string_view::npos) {
      left = piece_id(merge.substr(0, space));
      right = piece_id(merge.substr(space + 1));
      merged = piece_id(std::string(merge.substr(0, space)) + std::string(merge.substr(space + 1)));
    }
    if (left < 0 || right < 0 || merged < 0) {
      throw_error("{} vocabulary: merge {} \"{}\" is not two pieces whose concatenation is a piece", vocab_name,
                  rank, merge);
    }
    ranks_.emplace(pair_key(left, right), BpeMerge{static_cast<double>(rank), merged});  // first rank wins
  }
}

std::optional<BpeMerge> MergeRanks::find(const BpeSymbol& left, const BpeSymbol& right) const {
  if (left.id < 0 || right.id < 0) return std::nullopt;
  const auto found = ranks_.find(pair_key(left.id, right.id));
  if (found == ranks_.end()) return std::nullopt;
  return found->second;
}

}  // namespace lowbit
