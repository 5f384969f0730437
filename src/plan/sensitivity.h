// How much each tensor of a model minds being quantized: for every matrix and candidate type, the mean
// KL divergence on calibration text (plan/calibration_kld.h) of the model with only that tensor
// quantized. Feeds plan/mix_choice.h.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "io/model_file.h"
#include "plan/calibration_kld.h"
#include "plan/mix_choice.h"

namespace lowbit {

struct SensitivityOptions {
  std::vector<TensorType> candidate_types;  // each matrix gets those whose blocks divide its rows
  std::function<void(size_t done, size_t total)> progress;  // after each measured (tensor, type)
};

struct SensitivityReport {
  std::vector<TensorCandidates> matrices;  // the tensors a choice is made for, in file order
  uint64_t fixed_bytes = 0;                // everything else (norms, biases), kept as stored
  int64_t positions = 0;                   // scored positions per measurement
};

// The tensors a type is chosen for: every matrix but the norms.
bool is_choice_matrix(const TensorView& view);

// Throws lowbit::Error naming the model for a matrix no candidate type can hold.
SensitivityReport measure_sensitivity(const ModelFile& model, const CalibrationKld& kld, const SensitivityOptions& options);

}  // namespace lowbit
