#include "model/weights.h"

#include <cmath>
#include <optional>
#include <string_view>
#include <unordered_map>

#include <fmt/ranges.h>

#include "core/error.h"
#include "kernels/rows.h"

namespace lowbit {
namespace {

void check_config(const ModelConfig& c, const std::string& source) {
  if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 || c.head_dim <= 0 ||
      c.vocab_size <= 0 || c.context_length <= 0) {
    throw_error("{}: model config has a non-positive size (dim {}, hidden {}, layers {}, heads {}/{}, head_dim {}, "
                "vocab {}, context {})",
                source, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size,
                c.context_length);
  }
  if (c.n_heads % c.n_kv_heads != 0) {
    throw_error("{}: {} attention heads is not a multiple of {} KV heads", source, c.n_heads, c.n_kv_heads);
  }
  if (c.head_dim % 2 != 0) throw_error("{}: head_dim {} is odd; RoPE needs pairs", source, c.head_dim);
  if (!(c.norm_eps >= 0.0f) || !(c.rope_theta > 0.0f)) {
    throw_error("{}: invalid norm epsilon {} or RoPE theta {}", source, c.norm_eps, c.rope_theta);
  }
}

class TensorFinder {
 public:
  TensorFinder(const std::vector<TensorView>& tensors, const std::string& source) : source_(source) {
    for (const TensorView& t : tensors) by_name_.emplace(t.name, &t);
  }

  const TensorView* find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }

  // The tensor, checked to have exactly `shape` and a type the kernels can read.
  const TensorView* matrix(const std::string& name, std::vector<int64_t> shape) const {
    const TensorView* t = find(name);
    if (t == nullptr) throw_error("{}: tensor {} is missing", source_, name);
    if (t->shape != shape) {
      throw_error("{}: tensor {} has shape [{}], expected [{}]", source_, name, fmt::join(t->shape, ", "),
                  fmt::join(shape, ", "));
    }
    readable_row_traits(*t);
    return t;
  }

  // The value of "<matrix name without .weight>.act_scale", when the file has one.
  std::optional<float> act_scale(const TensorView& matrix) const {
    constexpr std::string_view kWeight = ".weight";
    if (!matrix.name.ends_with(kWeight)) return std::nullopt;
    const std::string name = matrix.name.substr(0, matrix.name.size() - kWeight.size()) + ".act_scale";
    if (find(name) == nullptr) return std::nullopt;
    const float scale = vector(name, 1)[0];
    if (!(std::isfinite(scale) && scale > 0.0f)) {
      throw_error("{}: tensor {} = {} is not a positive scale", source_, name, scale);
    }
    return scale;
  }

  std::vector<float> vector(const std::string& name, int64_t n) const {
    const TensorView* t = matrix(name, {n});
    std::vector<float> values(static_cast<size_t>(n));
    dequantize_row(*t, 0, values.data());
    return values;
  }

 private:
  std::string source_;
  std::unordered_map<std::string, const TensorView*> by_name_;
};

}  // namespace

ModelWeights bind_weights(const ModelConfig& c, const std::vector<TensorView>& tensors, const std::string& source) {
  check_config(c, source);
  const TensorFinder finder(tensors, source);
  const int64_t q_dim = c.n_heads * c.head_dim;
  const int64_t kv_dim = c.n_kv_heads * c.head_dim;

  ModelWeights w;
  w.token_embd = finder.matrix("token_embd.weight", {c.vocab_size, c.dim});
  w.output_norm = finder.vector("output_norm.weight", c.dim);
  w.output = finder.find("output.weight") != nullptr ? finder.matrix("output.weight", {c.vocab_size, c.dim})
                                                     : w.token_embd;
  for (int64_t i = 0; i < c.n_layers; ++i) {
    const std::string prefix = fmt::format("blk.{}.", i);
    LayerWeights layer;
    layer.attn_norm = finder.vector(prefix + "attn_norm.weight", c.dim);
    layer.attn_q = finder.matrix(prefix + "attn_q.weight", {q_dim, c.dim});
    layer.attn_k = finder.matrix(prefix + "attn_k.weight", {kv_dim, c.dim});
    layer.attn_v = finder.matrix(prefix + "attn_v.weight", {kv_dim, c.dim});
    layer.attn_output = finder.matrix(prefix + "attn_output.weight", {c.dim, q_dim});
    if (c.qkv_bias) {
      layer.q_bias = finder.vector(prefix + "attn_q.bias", q_dim);
      layer.k_bias = finder.vector(prefix + "attn_k.bias", kv_dim);
      layer.v_bias = finder.vector(prefix + "attn_v.bias", kv_dim);
    }
    layer.ffn_norm = finder.vector(prefix + "ffn_norm.weight", c.dim);
    layer.ffn_gate = finder.matrix(prefix + "ffn_gate.weight", {c.hidden_dim, c.dim});
    layer.ffn_up = finder.matrix(prefix + "ffn_up.weight", {c.hidden_dim, c.dim});
    layer.ffn_down = finder.matrix(prefix + "ffn_down.weight", {c.dim, c.hidden_dim});
    w.layers.push_back(std::move(layer));
  }
  for (const TensorView* matrix : linear_matrices(w)) {
    if (const std::optional<float> scale = finder.act_scale(*matrix)) w.act_scales.emplace(matrix, *scale);
  }
  return w;
}

std::vector<const TensorView*> linear_matrices(const ModelWeights& w) {
  std::vector<const TensorView*> matrices = {w.output};
  for (const LayerWeights& l : w.layers) {
    matrices.insert(matrices.end(), {l.attn_q, l.attn_k, l.attn_v, l.attn_output, l.ffn_gate, l.ffn_up, l.ffn_down});
  }
  return matrices;
}

}  // namespace lowbit
