// `lowbit plan --fit BYTES`: measure every matrix's sensitivity on calibration text
// (plan/sensitivity.h), choose one type per matrix within the budget (plan/mix_choice.h), and write
// the quantized GGUF with those types (quant/quantize_model.h, one exact-name --tensor-type each).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "plan/mix_choice.h"
#include "plan/sensitivity.h"
#include "quant/quantize_model.h"

namespace lowbit {

// ggml's types, so that llama.cpp reads the result: from F16 down to 2-bit K blocks.
std::vector<TensorType> default_fit_candidates();

struct FitOptions {
  uint64_t budget_bytes = 0;  // tensor data of the whole output (the GGUF metadata comes on top)
  std::string calibration_path;
  std::string output;
  std::vector<TensorType> candidate_types = default_fit_candidates();
  int64_t context = 128;
  int64_t max_chunks = 8;
  std::function<void(size_t done, size_t total)> progress;  // sensitivity measurements
};

struct FitReport {
  SensitivityReport sensitivity;
  MixChoice choice;               // indexes sensitivity.matrices' candidates
  QuantizeReport written;
};

// Throws lowbit::Error naming the file for an unreadable model or text, or a budget below what the
// smallest candidates need.
FitReport fit_model(const std::string& model_path, const FitOptions& options);

// "^blk\.0\.attn_q\.weight$=q4_K": the --tensor-type option that pins exactly this tensor.
std::string exact_tensor_type_option(const std::string& name, TensorType type);

}  // namespace lowbit
