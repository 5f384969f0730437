// `lowbit plan --fit BYTES`: measure every matrix's sensitivity on calibration text
// (plan/sensitivity.h), choose one type per matrix so that the whole GGUF file stays within BYTES
// (plan/mix_choice.h), refine that choice by measuring whole mixes (plan/mix_refine.h), and write the
// quantized GGUF with those types (quant/quantize_model.h, one exact-name --tensor-type each).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "plan/mix_choice.h"
#include "plan/mix_refine.h"
#include "plan/sensitivity.h"
#include "quant/quantize_model.h"

namespace lowbit {

// ggml's types, so that llama.cpp reads the result: from F16 down to 2-bit K blocks, with the legacy
// 4- and 5-bit types that hold rows the K blocks do not (rows not a multiple of 256).
std::vector<TensorType> default_fit_candidates();

struct FitOptions {
  uint64_t budget_bytes = 0;  // the whole output file: header, metadata, tensors and padding
  std::string calibration_path;
  std::string output;
  std::vector<TensorType> candidate_types = default_fit_candidates();
  int64_t context = 128;
  int64_t max_chunks = 32;
  int64_t max_refine_evaluations = 200;  // whole-mix measurements; 0: the summed-sensitivity choice as is
  // Per-tensor sensitivities: read from this file when it exists (it must have been written for the
  // same model matrices, text, context, chunks and candidates), else measured and written there.
  std::string sensitivity_cache;
  std::function<void(size_t done, size_t total)> progress;  // sensitivity measurements
  std::function<void(int64_t evaluations)> refine_progress;
};

struct FitReport {
  SensitivityReport sensitivity;
  MixChoice summed_choice;  // the choice by summed sensitivities (indexes sensitivity.matrices' candidates)
  RefinedMix refined;       // the written choice; refined.start_kld is summed_choice's measured KL
  uint64_t overhead_bytes = 0;  // of the file beyond the matrices' data: header, metadata, norms, padding
  QuantizeReport written;
};

// Throws lowbit::Error naming the file for an unreadable model or text, or a budget below what the
// smallest candidates need.
FitReport fit_model(const std::string& model_path, const FitOptions& options);

// "^blk\.0\.attn_q\.weight$=q4_K": the --tensor-type option that pins exactly this tensor.
std::string exact_tensor_type_option(const std::string& name, TensorType type);

}  // namespace lowbit
