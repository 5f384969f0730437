// Calibration statistics: what the activations entering each linear layer of a model look like on real
// text. `lowbit calibrate` records them once (quant/calibrate.h); GPTQ, AWQ, SmoothQuant and the
// importance-weighted quantizers read them from the stats file.
//
// A site is one activation vector that several weight matrices read: in a Llama block the attention
// norm's output feeds attn_q/attn_k/attn_v, the attention's mixed heads feed attn_output, the FFN norm's
// output feeds ffn_gate/ffn_up, silu(gate)*up feeds ffn_down, and the final norm's output feeds output.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/model_file.h"
#include "quant/observers.h"

namespace lowbit {

// The static range of a site's activations proposed by each observer of quant/observers.h.
struct SiteRanges {
  Range minmax;
  Range moving_average;
  Range percentile;  // 99.99 %
  Range kl;          // 8-bit entropy calibration
  Range mse;         // 8-bit
};

struct SiteStats {
  std::string name;                  // "blk.3.attn_in", "blk.3.attn_out_in", "blk.3.ffn_in", "blk.3.ffn_down_in", "output_in"
  std::vector<std::string> weights;  // GGUF names of the matrices that read it ("blk.3.attn_q.weight", ...)
  int64_t channels = 0;              // the matrices' column count
  int64_t tokens = 0;                // activation vectors seen
  std::vector<double> mean_square;   // [channels] mean of x_c^2 over tokens: llama.cpp's imatrix importance
  std::vector<float> abs_max;        // [channels] max |x_c|
  // [channels][channels] X^T X / tokens, X the [tokens][channels] activations: GPTQ's Hessian up to the
  // factor 2. Empty when the stats were recorded without it (--no-gram).
  std::vector<float> gram;
  SiteRanges ranges;
};

// What the stats were recorded from; load() refuses stats whose model does not match.
struct CalibSource {
  std::string model;      // path as given to calibrate
  ModelConfig config;     // dimensions checked on load
  std::string text;       // calibration text path
  int64_t context = 0;    // tokens per forward pass
  int64_t tokens = 0;     // tokens run in all
};

class CalibStats {
 public:
  CalibSource source;
  std::vector<SiteStats> sites;

  // The site whose activations `weight` (a GGUF tensor name) reads; nullptr when none does.
  const SiteStats* find_for_weight(const std::string& weight) const;

  // Writes atomically (io/atomic_file.h). The format is versioned (docs/design.md).
  void save(const std::string& path) const;
  // Reads and checks a stats file: magic, version, every size against the file, finite values.
  // Throws lowbit::Error naming the file on any corruption, and when `expected` is given and the stats
  // were recorded from a model of other dimensions (n_layers, dim, hidden_dim, heads, vocab).
  static CalibStats load(const std::string& path, const ModelConfig* expected = nullptr);
  // load() on bytes the caller holds; `name` stands for the file in error messages (the fuzz target).
  static CalibStats parse(std::span<const uint8_t> bytes, const std::string& name, const ModelConfig* expected = nullptr);
};

}  // namespace lowbit
