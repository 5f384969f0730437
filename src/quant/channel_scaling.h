// Per-input-channel scaling of a calibration site, folded so that the model computes the same function:
// every matrix reading the site gets column c multiplied by s_c, and the tensor that produces the site
// divides its output channel c by s_c. AWQ and SmoothQuant choose the scales; this file owns where they go.
//
//   site          readers (columns *= s)      producer (output channel /= s)
//   attn_in       attn_q, attn_k, attn_v      attn_norm weight
//   attn_out_in   attn_output                 attn_v rows (and attn_v.bias)
//   ffn_in        ffn_gate, ffn_up            ffn_norm weight
//   ffn_down_in   ffn_down                    ffn_up rows (silu(gate) * up is linear in up)
//   output_in     output                      output_norm weight; not foldable with tied embeddings,
//                                             where the matrix is also the token embedding table
//
// attn_out_in under grouped-query attention: the q heads sharing a KV head all read that head's values,
// so dividing a row of attn_v divides the same channel of every head in the group. The scales of such
// channels must be equal (tie_kv_group_scales).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/type_traits.h"
#include "io/model_file.h"
#include "quant/calib_stats.h"
#include "quant/quant_method.h"

namespace lowbit {

enum class SiteKind { kAttnIn, kAttnOutIn, kFfnIn, kFfnDownIn, kOutputIn };

struct SiteName {
  int64_t layer = -1;  // -1 for output_in
  SiteKind kind = SiteKind::kAttnIn;
};

// "blk.3.attn_in" -> {3, kAttnIn}; "output_in" -> {-1, kOutputIn}. Throws lowbit::Error for any other name.
SiteName parse_site_name(std::string_view name);

// The GGUF names of the matrices that read the site, in the order of the table above. With tied
// embeddings output_in is read by token_embd.weight.
std::vector<std::string> site_readers(const ModelConfig& config, const SiteName& site);

// False for output_in with tied embeddings (the embedding lookup would change too).
bool site_is_foldable(const ModelConfig& config, const SiteName& site);

// A matrix reading a site, in the layer being rewritten, with the type it will be written in.
struct SiteReader {
  std::string name;
  FloatTensor* tensor;
  const TypeTraits* type;
};
// The site's readers (site_readers) found in `tensors` and context.target_types. Throws lowbit::Error
// naming the site when one is missing or is not a matrix of the site's channel count.
std::vector<SiteReader> find_site_readers(const LayerRewriteContext& context, const SiteStats& site, LayerTensors& tensors);

// The calibration sites of one layer (layer -1: output_in) in the order to choose their scales: sites
// whose producer is a matrix (attn_out_in, ffn_down_in) first, because their fold rescales rows of
// attn_v and ffn_up, which read attn_in and ffn_in; so those are measured on their final rows.
std::vector<const SiteStats*> sites_of_layer(const CalibStats& stats, int64_t layer);

// For attn_out_in under grouped-query attention: replaces the scales of each channel d of the q heads
// sharing a KV head by their geometric mean, so that the fold is possible; other sites are unchanged.
// scales: [channels].
void tie_kv_group_scales(const ModelConfig& config, const SiteName& site, std::span<float> scales);

// The statistics of the site's activations after they are divided by `scales` (x' = x / s): mean
// squares / s^2, maxima / s, Gram entries / (s_i s_j). The ranges (one per tensor, not per channel)
// cannot be rescaled and are left as recorded.
SiteStats rescaled_site_stats(const SiteStats& site, std::span<const float> scales);

// Folds positive scales [channels] into `tensors` (the layer's F32 tensors): readers' columns *= s,
// producer /= s. Throws lowbit::Error naming the site when it is not foldable, a tensor is missing or
// has the wrong shape, a scale is not positive and finite, or attn_out_in scales differ within a KV group.
void fold_channel_scales(const ModelConfig& config, const SiteName& site, std::span<const float> scales,
                         LayerTensors& tensors);

}  // namespace lowbit
