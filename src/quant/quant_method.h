// The methods that choose a model's quantized numbers (`lowbit quantize --method NAME`), one table entry
// each. A method is two optional stages around the per-tensor write of quant/quantize_model.cpp:
//
//   rewrite   before any tensor of layer L is written, may change that layer's float tensors (AWQ and
//             SmoothQuant scale weight columns and fold the inverse scales into the norm or the matrix
//             before, so the model computes the same function) and may add small F32 tensors (static
//             activation scales);
//   quantize  turns one float matrix into the target type's bytes (GPTQ); nullptr: row by row with the
//             type's quantizer, weighted by the input channels' importance when stats are given.
//
// Combinations ("awq+gptq") take the rewrite of the first and the quantizer of the second.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/type_traits.h"
#include "io/model_file.h"
#include "quant/calib_stats.h"

namespace lowbit {

struct MethodOptions {
  // GPTQ
  double damp = 0.01;          // --damp: added to the Hessian's diagonal, times its mean
  bool act_order = false;      // --act-order: columns by decreasing Hessian diagonal
  int64_t block_columns = 128; // lazy batch update width
  // AWQ
  int awq_grid = 20;           // exponents tried in [0, 1)
  bool awq_clip = true;        // clipping search after the scaling
  // SmoothQuant
  double alpha = 0.5;          // --alpha: migration strength
  bool auto_alpha = false;     // --alpha auto: per site, the alpha of least smoothquant.h error estimate
  std::string act_quant = "none";  // --act-quant static|dynamic|none
};

// A float tensor of one layer while it is rewritten; shape outermost-first ({rows, cols} or {n}).
struct FloatTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};
// GGUF name -> tensor. Holds every tensor of the layer (norms included) as F32 copies of the source.
using LayerTensors = std::map<std::string, FloatTensor>;

struct LayerRewriteContext {
  const ModelFile& model;
  const CalibStats& stats;
  const MethodOptions& options;
  int64_t layer;                      // -1: the tensors outside the blocks (output_norm, output, token_embd)
  // Type each tensor of the layer will be written in (the mix's choice), by GGUF name.
  const std::map<std::string, const TypeTraits*>& target_types;
  // Where a rewrite that divides a site's activations by channel scales s (x' = x / s: AWQ, SmoothQuant)
  // records them, by site name. The stats then describe the old activations: the writer must hand the
  // quantizer rescaled_site_stats(site, s) (quant/channel_scaling.h) for the layer's matrices that read
  // that site (their importance and GPTQ's Hessian change with s). nullptr: not recorded.
  std::map<std::string, std::vector<float>>* site_scales = nullptr;
};

// May modify tensors in place and add new ones (written as F32 after the layer's tensors).
using LayerRewrite = void (*)(const LayerRewriteContext& context, LayerTensors& tensors);

// w [rows][cols] -> dst (rows * target.row_bytes(cols) bytes). `site` is the stats of the input the
// matrix reads (nullptr when the method runs without stats or none is recorded for it).
using TensorQuantizer = void (*)(const float* w, int64_t rows, int64_t cols, const TypeTraits& target,
                                 const SiteStats* site, const MethodOptions& options, uint8_t* dst);

struct QuantMethod {
  const char* name;
  const char* description;  // one line for --help
  bool needs_stats;
  LayerRewrite rewrite;     // nullptr: none
  TensorQuantizer quantize; // nullptr: the type's row quantizer, importance-weighted when stats exist
};

std::span<const QuantMethod> all_quant_methods();
// "rtn", "gptq", "awq", "smoothquant", or "A+B" (A's rewrite, B's quantizer). Throws lowbit::Error
// listing the known methods for an unknown name.
struct MethodChoice {
  std::string name;
  const QuantMethod* rewrite_from = nullptr;
  const QuantMethod* quantize_from = nullptr;
  bool needs_stats = false;
};
MethodChoice find_quant_method(std::string_view name);

}  // namespace lowbit
