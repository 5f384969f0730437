// The choice behind `lowbit plan --fit BYTES`: one type per tensor that keeps the summed sensitivity
// (e.g. the KL divergence measured with that tensor alone quantized) low while the total size stays
// within the budget — a multiple-choice knapsack.
//
// Solved by Lagrangian relaxation: for a price lambda per byte, each tensor on its own takes the
// candidate minimizing sensitivity + lambda * bytes; lambda is bisected to the cheapest price whose
// choice fits. The slack that leaves is then spent greedily: the upgrade with the largest sensitivity
// reduction per added byte that still fits, until none does. A heuristic: each Lagrangian choice is
// optimal among choices of its own size or smaller, and the greedy fill uses most of the gap to the budget.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace lowbit {

struct TensorCandidate {
  TensorType type = TensorType::F16;
  uint64_t bytes = 0;
  double sensitivity = 0;  // what storing the tensor in `type` costs in accuracy (a measured KL may be -1e-10)
};

struct TensorCandidates {
  std::string name;
  std::vector<TensorCandidate> candidates;  // at least one
};

struct MixChoice {
  std::vector<size_t> chosen;  // [tensors]: index into that tensor's candidates
  uint64_t bytes = 0;
  double sensitivity = 0;
};

// Throws lowbit::Error when a tensor has no candidate or when even the smallest candidate of every
// tensor exceeds `budget_bytes` (the message gives that smallest total).
MixChoice choose_mix(std::span<const TensorCandidates> tensors, uint64_t budget_bytes);

}  // namespace lowbit
