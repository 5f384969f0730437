// The second half of `lowbit plan --fit`'s choice. plan/mix_choice.h adds up sensitivities measured
// one tensor at a time, which misses how the errors of several quantized tensors combine; this starts
// from that choice and improves it by measuring whole mixes (the KL divergence of the model with every
// matrix in its chosen type, plan/calibration_kld.h).
//
// Local search: for every matrix, measure the mix with that matrix one step up (the next larger
// candidate that was better alone) and one step down (the next smaller). Combine the measured moves as
// a knapsack would: an upgrade paid for by the downgrades losing least per freed byte, or a downgrade
// that helps by itself; measure the most promising combinations and keep the first that lowers the
// measured KL within the budget. After a kept move, the moved matrices are measured again and other
// moves' figures are estimates until re-measured. Stops when no combination helps once every move is
// measured afresh, or after `max_evaluations` measurements. The measured KL never rises.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "plan/mix_choice.h"

namespace lowbit {

// The measured KL divergence of the mix with matrix i in tensors[i].candidates[chosen[i]].
using MixMeasure = std::function<double(std::span<const size_t> chosen)>;

struct RefineOptions {
  int64_t max_evaluations = 200;  // measurements of moved mixes; the starting mix is measured as well
  std::function<void(int64_t evaluations)> progress;  // after each measurement
};

struct RefinedMix {
  MixChoice choice;        // .sensitivity: the summed per-tensor sensitivities of this choice
  double start_kld = 0;    // measured KL of the starting choice
  double kld = 0;          // measured KL of `choice`
  int64_t evaluations = 0;  // the starting mix's included
  int64_t moves = 0;       // combinations kept
};

// `start` must fit `budget_bytes` (as choose_mix returns it).
RefinedMix refine_mix(std::span<const TensorCandidates> tensors, const MixChoice& start, uint64_t budget_bytes,
                      const MixMeasure& measure, const RefineOptions& options);

}  // namespace lowbit
