// A measured SensitivityReport kept in a JSON file, so that `lowbit plan --fit` at other budgets skips
// the measurement (--sensitivity FILE). The file records what it was measured with; reading it for other
// settings or another model is an error rather than a silently wrong choice.
//
// {"calibration": PATH, "context": N, "chunks": N, "candidate_types": ["f16", ...], "positions": N,
//  "matrices": [{"name": "blk.0.attn_q.weight", "candidates": [{"type": "q4_0", "bytes": N, "kld": X}, ...]}]}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/model_file.h"
#include "plan/sensitivity.h"

namespace lowbit {

struct SensitivitySettings {
  std::string calibration_path;
  int64_t context = 0;
  int64_t max_chunks = 0;
  std::vector<TensorType> candidate_types;
};

void write_sensitivity(const std::string& path, const SensitivityReport& report, const SensitivitySettings& settings);

// Throws lowbit::Error naming the file when it is not such a file, was written with other settings, or
// does not describe `model`'s matrices (names, order, sizes in each type).
SensitivityReport read_sensitivity(const std::string& path, const ModelFile& model, const SensitivitySettings& settings);

}  // namespace lowbit
