// `lowbit calibrate` as a library call: runs a model over calibration text and records, for the input
// of every linear layer, the statistics of quant/calib_stats.h (mean square and max per channel, the
// Gram matrix, the observers' static ranges).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/model_file.h"
#include "model/transformer.h"
#include "quant/calib_stats.h"
#include "quant/observers.h"

namespace lowbit {

// Accumulates the statistics of every site of one model from the activations a Transformer's
// LinearInputHook reports.
class CalibrationRecorder {
 public:
  // Sites in model order: per layer attn_in, attn_out_in, ffn_in, ffn_down_in, then output_in.
  // with_gram = false skips the Gram matrices (their memory is channels^2 floats per site).
  CalibrationRecorder(const ModelFile& model, bool with_gram, const ObserverOptions& observer_options = {});
  ~CalibrationRecorder();
  CalibrationRecorder(const CalibrationRecorder&) = delete;
  CalibrationRecorder& operator=(const CalibrationRecorder&) = delete;

  // The LinearInputHook body: x [n_tokens][cols]. Throws lowbit::Error naming the site on a NaN or Inf
  // activation or a column count that does not match the model.
  void observe(int64_t layer, LinearSite site, const float* x, int64_t n_tokens, int64_t cols);

  // The statistics of everything observed. Throws lowbit::Error when a site saw no token.
  std::vector<SiteStats> finish() const;

 private:
  struct Site;
  std::vector<std::unique_ptr<Site>> sites_;  // [n_layers * 4 + 1], indexed by site_index()
  int64_t n_layers_;
};

struct CalibrateOptions {
  int64_t context = 128;       // --ctx: tokens per forward pass
  int64_t max_tokens = 0;      // --tokens: run at most this many (whole contexts); 0: every whole context of the text
  bool with_gram = true;       // --no-gram clears it
  // The kl and mse ranges cost time quadratic in observer_options.bins per site, once at the end.
  ObserverOptions observer_options;
  std::string tokenizer_path;  // llama2.c tokenizer.bin; empty: found beside the model
  std::function<void(int64_t contexts_done, int64_t contexts_total)> progress;  // after every forward pass
};

// Tokenizes the text (BOS first), cuts it into contexts as perplexity does (eval/perplexity.h: each
// starts with BOS) and runs each from an empty cache, all positions' logits computed so the output
// site sees every token. Throws lowbit::Error naming the file for a text shorter than one context,
// a context longer than the model's, or --tokens below one context.
CalibStats calibrate(const std::string& model_path, const std::string& text_path, const CalibrateOptions& options);

}  // namespace lowbit
