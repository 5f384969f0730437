// The Llama-family forward pass (llama, mistral, qwen2): RMSNorm, RoPE, grouped-query attention over an
// FP32 KV cache, SwiGLU feed-forward, optional q/k/v bias, tied or separate output projection.
//
// forward() takes any number of tokens: a prompt is prefilled in one batch (each matmul sees all its
// tokens, attention is causal), decoding passes one token at a time; both give the same logits.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <vector>

#include "io/model_file.h"
#include "kernels/matmul.h"
#include "kernels/w8a8_matmul.h"
#include "model/kv_cache.h"
#include "model/rope.h"
#include "model/weights.h"

namespace lowbit {

enum class LogitsFor { kLastToken, kAllTokens };

// The activation vectors the linear layers read, as calibration observes them (quant/calib_stats.h).
enum class LinearSite {
  kAttnIn,     // attention norm output: read by attn_q, attn_k, attn_v
  kAttnOutIn,  // the heads' mixed values: read by attn_output
  kFfnIn,      // FFN norm output: read by ffn_gate, ffn_up
  kFfnDownIn,  // silu(gate) * up: read by ffn_down
  kOutputIn,   // final norm output: read by output (layer = -1)
};

// Called with x [n_tokens][cols] just before the matrices of `site` multiply it.
using LinearInputHook = std::function<void(int64_t layer, LinearSite site, const float* x, int64_t n_tokens, int64_t cols)>;

class Transformer {
 public:
  // `file` must outlive the Transformer: weights are views into it. `context` is the number of
  // positions the KV cache holds: 0 means the model's context_length; more than that is an error.
  Transformer(const ModelFile& file, int64_t context = 0);

  const ModelConfig& config() const { return config_; }
  int64_t context() const { return context_; }
  int64_t position() const { return position_; }  // tokens already in the KV cache
  size_t kv_cache_bytes() const { return cache_.bytes(); }

  // Forgets all positions (the next forward starts at position 0).
  void reset() { position_ = 0; }

  // Observes every linear layer's input from the next forward() on; an empty hook stops observing.
  void set_linear_input_hook(LinearInputHook hook) { hook_ = std::move(hook); }

  // How activations meet the lb_w8_row matrices (W8A8; other types are unaffected). nullopt, the
  // default: static where the file holds the matrix's act_scale tensor, dynamic per token elsewhere.
  // A mode applies to all of them; kStatic throws lowbit::Error naming a matrix without act_scale.
  void set_act_quant(std::optional<ActQuant> mode);

  // Runs `tokens` at positions position() .. position()+n-1 and appends them to the cache. Returns the
  // logits [n_out][vocab_size], n_out = 1 (the last token) or n; valid until the next call.
  // Throws lowbit::Error for a token id outside the vocabulary or when the context would overflow.
  std::span<const float> forward(std::span<const int32_t> tokens, LogitsFor which = LogitsFor::kLastToken);

 private:
  void resize_scratch(int64_t n_tokens);
  void attention_block(int64_t layer, int64_t n_tokens);
  void attend(int64_t layer, int64_t n_tokens);
  void feed_forward_block(int64_t layer, int64_t n_tokens);
  void add_residual(int64_t n_tokens);  // x_ += delta_
  // y = x . W^T through matmul(), or the W8A8 product for lb_w8_row weights.
  void linear(const TensorView& weight, const float* x, int64_t n_tokens, float* y) const;
  // linear() for weights sharing the input x (q, k, v; gate, up): one job where the kernels allow.
  void linear_same_input(std::initializer_list<MatmulOutput> outputs, const float* x, int64_t n_tokens) const;
  void observe(int64_t layer, LinearSite site, const float* x, int64_t n_tokens, int64_t cols) const {
    if (hook_) hook_(layer, site, x, n_tokens, cols);
  }

  ModelConfig config_;
  std::string source_;
  ModelWeights weights_;
  int64_t context_;  // positions the cache and the RoPE table hold
  Rope rope_;
  KvCache cache_;
  int64_t position_ = 0;
  int64_t q_dim_, kv_dim_;
  LinearInputHook hook_;
  std::optional<ActQuant> act_quant_;

  // Scratch, [n_tokens][...] of the current call.
  std::vector<float> x_;       // residual stream [n][dim]
  std::vector<float> normed_;  // [n][dim]
  std::vector<float> q_;       // [n][q_dim]
  std::vector<float> mixed_;   // attention output [n][q_dim]
  std::vector<float> delta_;   // a block's output before it is added to x_ [n][dim]
  std::vector<float> gate_;    // [n][hidden_dim]
  std::vector<float> up_;      // [n][hidden_dim]
  std::vector<float> logits_;  // [n_out][vocab]
};

}  // namespace lowbit
