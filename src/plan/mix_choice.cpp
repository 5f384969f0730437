#include "plan/mix_choice.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace lowbit {
namespace {

// Each tensor's candidate minimizing sensitivity + lambda * bytes; ties go to fewer bytes, so that a
// large enough lambda gives the smallest choice.
MixChoice lagrangian_choice(std::span<const TensorCandidates> tensors, double lambda) {
  MixChoice choice;
  for (const TensorCandidates& tensor : tensors) {
    size_t best = 0;
    double best_cost = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < tensor.candidates.size(); ++i) {
      const TensorCandidate& c = tensor.candidates[i];
      const double cost = c.sensitivity + lambda * static_cast<double>(c.bytes);
      if (cost < best_cost || (cost == best_cost && c.bytes < tensor.candidates[best].bytes)) {
        best = i;
        best_cost = cost;
      }
    }
    choice.chosen.push_back(best);
    choice.bytes += tensor.candidates[best].bytes;
    choice.sensitivity += tensor.candidates[best].sensitivity;
  }
  return choice;
}

MixChoice smallest_choice(std::span<const TensorCandidates> tensors) {
  MixChoice choice;
  for (const TensorCandidates& tensor : tensors) {
    size_t best = 0;
    for (size_t i = 1; i < tensor.candidates.size(); ++i) {
      const TensorCandidate& c = tensor.candidates[i];
      const TensorCandidate& b = tensor.candidates[best];
      if (c.bytes < b.bytes || (c.bytes == b.bytes && c.sensitivity < b.sensitivity)) best = i;
    }
    choice.chosen.push_back(best);
    choice.bytes += tensor.candidates[best].bytes;
    choice.sensitivity += tensor.candidates[best].sensitivity;
  }
  return choice;
}

// Spends the slack under the budget on the upgrade that removes the most sensitivity per added byte
// (an upgrade that also saves bytes comes first), one at a time, until no upgrade both helps and fits.
void fill_slack(std::span<const TensorCandidates> tensors, uint64_t budget, MixChoice& choice) {
  for (;;) {
    size_t best_tensor = tensors.size(), best_candidate = 0;
    double best_gain = 0;
    for (size_t t = 0; t < tensors.size(); ++t) {
      const TensorCandidate& current = tensors[t].candidates[choice.chosen[t]];
      for (size_t i = 0; i < tensors[t].candidates.size(); ++i) {
        const TensorCandidate& c = tensors[t].candidates[i];
        const double reduction = current.sensitivity - c.sensitivity;
        if (reduction <= 0 || choice.bytes - current.bytes + c.bytes > budget) continue;
        const double added = static_cast<double>(c.bytes) - static_cast<double>(current.bytes);
        const double gain = added <= 0 ? std::numeric_limits<double>::infinity() : reduction / added;
        if (gain > best_gain) {
          best_gain = gain;
          best_tensor = t;
          best_candidate = i;
        }
      }
    }
    if (best_tensor == tensors.size()) return;
    const TensorCandidate& old = tensors[best_tensor].candidates[choice.chosen[best_tensor]];
    const TensorCandidate& upgrade = tensors[best_tensor].candidates[best_candidate];
    choice.bytes = choice.bytes - old.bytes + upgrade.bytes;
    choice.sensitivity += upgrade.sensitivity - old.sensitivity;
    choice.chosen[best_tensor] = best_candidate;
  }
}

}  // namespace

MixChoice choose_mix(std::span<const TensorCandidates> tensors, uint64_t budget_bytes) {
  for (const TensorCandidates& tensor : tensors) {
    if (tensor.candidates.empty()) throw_error("tensor {}: no candidate type", tensor.name);
  }
  MixChoice best = smallest_choice(tensors);
  if (best.bytes > budget_bytes) {
    throw_error("no choice fits {} bytes: the smallest candidate of every tensor needs {} bytes", budget_bytes, best.bytes);
  }
  const MixChoice free_choice = lagrangian_choice(tensors, 0.0);
  if (free_choice.bytes <= budget_bytes) {
    best = free_choice;
  } else {
    // Bisect lambda in log space between a price that is too low and one whose choice fits.
    double low = 1e-30, high = 1.0;
    while (lagrangian_choice(tensors, high).bytes > budget_bytes && high < 1e30) high *= 16;
    for (int step = 0; step < 200; ++step) {
      const double middle = std::sqrt(low * high);
      MixChoice candidate = lagrangian_choice(tensors, middle);
      if (candidate.bytes <= budget_bytes) {
        high = middle;
        if (candidate.sensitivity < best.sensitivity) best = std::move(candidate);
      } else {
        low = middle;
      }
    }
    const MixChoice at_high = lagrangian_choice(tensors, high);
    if (at_high.bytes <= budget_bytes && at_high.sensitivity < best.sensitivity) best = at_high;
  }
  fill_slack(tensors, budget_bytes, best);
  return best;
}

}  // namespace lowbit
