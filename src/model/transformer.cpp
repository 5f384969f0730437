#include "model/transformer.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/lowbit_w8_row.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/rows.h"
#include "kernels/vector_ops.h"
#include "model/ops.h"

namespace lowbit {
namespace {

int64_t checked_context(const ModelConfig& config, int64_t requested, const std::string& source) {
  if (requested < 0 || requested > config.context_length) {
    throw_error("{}: context {} is not within 1..{} (the model's context length; 0 means all of it)", source, requested,
                config.context_length);
  }
  return requested == 0 ? config.context_length : requested;
}

// body(t) for each of a batch's n tokens, split over the pool where the batch's element-wise work (norms,
// RoPE, SwiGLU, residual adds over `values` floats per token, a few operations each) outweighs starting
// a job; one thread did all of it while the other waited (TinyLlama Q4_K_M pp128: SwiGLU alone 2.2% of
// the samples).
template <typename Body>
void for_each_token(int64_t n, int64_t values, const Body& body) {
  constexpr int64_t kOperationsPerValue = 4;
  parallel_ranges(n, threads_for_decode_work(n * values * kOperationsPerValue), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) body(t);
  });
}

}  // namespace

Transformer::Transformer(const ModelFile& file, int64_t context)
    : config_(file.config()),
      source_(file.path()),
      weights_(bind_weights(config_, file.tensors(), source_)),
      context_(checked_context(config_, context, source_)),
      rope_(config_.rope_style, config_.head_dim, config_.rope_theta, context_),
      cache_(config_.n_layers, context_, config_.n_kv_heads * config_.head_dim),
      q_dim_(config_.n_heads * config_.head_dim),
      kv_dim_(config_.n_kv_heads * config_.head_dim) {}

void Transformer::set_act_quant(std::optional<ActQuant> mode) {
  if (mode == ActQuant::kStatic) {
    for (const TensorView* w : linear_matrices(weights_)) {
      if (w->type == kW8RowType && !weights_.act_scales.contains(w)) {
        throw_error("{}: static activation quantization needs {} but the file has none", source_,
                    w->name.substr(0, w->name.rfind('.')) + ".act_scale");
      }
    }
  }
  act_quant_ = mode;
}

void Transformer::linear(const TensorView& weight, const float* x, int64_t n_tokens, float* y) const {
  if (weight.type != kW8RowType) {
    matmul(weight, x, n_tokens, y);
    return;
  }
  const auto scale = weights_.act_scales.find(&weight);
  const bool has_scale = scale != weights_.act_scales.end();
  const ActQuant mode = act_quant_.value_or(has_scale ? ActQuant::kStatic : ActQuant::kDynamic);
  matmul_w8_row(weight, x, n_tokens, y, mode, mode == ActQuant::kStatic ? scale->second : 0.0f);
}

void Transformer::linear_same_input(std::initializer_list<MatmulOutput> outputs, const float* x,
                                    int64_t n_tokens) const {
  for (const MatmulOutput& output : outputs) {
    if (output.weight->type == kW8RowType) {
      for (const MatmulOutput& each : outputs) linear(*each.weight, x, n_tokens, each.y);
      return;
    }
  }
  matmul_same_input(outputs, x, n_tokens);
}

void Transformer::resize_scratch(int64_t n) {
  const auto size = [n](int64_t width) { return static_cast<size_t>(n * width); };
  x_.resize(size(config_.dim));
  normed_.resize(size(config_.dim));
  q_.resize(size(q_dim_));
  mixed_.resize(size(q_dim_));
  delta_.resize(size(config_.dim));
  gate_.resize(size(config_.hidden_dim));
  up_.resize(size(config_.hidden_dim));
}

std::span<const float> Transformer::forward(std::span<const int32_t> tokens, LogitsFor which) {
  const auto n = static_cast<int64_t>(tokens.size());
  if (n == 0) throw_error("{}: forward() needs at least one token", source_);
  if (position_ + n > context()) {
    throw_error("{}: {} tokens at position {} overflow the context of {}", source_, n, position_, context());
  }
  resize_scratch(n);
  const int64_t dim = config_.dim;
  for (int64_t t = 0; t < n; ++t) {
    if (tokens[t] < 0 || tokens[t] >= config_.vocab_size) {
      throw_error("{}: token id {} is outside the vocabulary (size {})", source_, tokens[t], config_.vocab_size);
    }
    dequantize_row(*weights_.token_embd, tokens[t], x_.data() + t * dim);
  }

  for (int64_t layer = 0; layer < config_.n_layers; ++layer) {
    attention_block(layer, n);
    feed_forward_block(layer, n);
  }
  position_ += n;

  const int64_t n_out = which == LogitsFor::kAllTokens ? n : 1;
  const int64_t first = n - n_out;
  for (int64_t t = first; t < n; ++t) {
    rms_norm(x_.data() + t * dim, weights_.output_norm.data(), dim, config_.norm_eps, normed_.data() + t * dim);
  }
  logits_.resize(static_cast<size_t>(n_out * config_.vocab_size));
  observe(-1, LinearSite::kOutputIn, normed_.data() + first * dim, n_out, dim);
  linear(*weights_.output, normed_.data() + first * dim, n_out, logits_.data());
  return logits_;
}

void Transformer::attention_block(int64_t layer, int64_t n) {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t dim = config_.dim;
  for_each_token(n, dim, [&](int64_t t) {
    rms_norm(x_.data() + t * dim, w.attn_norm.data(), dim, config_.norm_eps, normed_.data() + t * dim);
  });
  // The new keys and values go straight into their cache rows: positions position_ .. position_+n-1.
  float* keys = cache_.keys(layer) + position_ * kv_dim_;
  float* values = cache_.values(layer) + position_ * kv_dim_;
  observe(layer, LinearSite::kAttnIn, normed_.data(), n, dim);
  linear_same_input({{w.attn_q, q_.data()}, {w.attn_k, keys}, {w.attn_v, values}}, normed_.data(), n);
  for_each_token(n, q_dim_, [&](int64_t t) {
    if (!w.q_bias.empty()) {
      add_in_place(q_.data() + t * q_dim_, w.q_bias.data(), q_dim_);
      add_in_place(keys + t * kv_dim_, w.k_bias.data(), kv_dim_);
      add_in_place(values + t * kv_dim_, w.v_bias.data(), kv_dim_);
    }
    rope_.apply(q_.data() + t * q_dim_, config_.n_heads, position_ + t);
    rope_.apply(keys + t * kv_dim_, config_.n_kv_heads, position_ + t);
  });
  attend(layer, n);
  observe(layer, LinearSite::kAttnOutIn, mixed_.data(), n, q_dim_);
  linear(*w.attn_output, mixed_.data(), n, delta_.data());
  add_residual(n);
}

// Causal grouped-query attention: query head h reads KV head h / (n_heads / n_kv_heads); the token at
// position p sees positions 0..p. One token (decode): one call per KV head for the group of query heads
// that share it, the pool splitting the KV heads where the context is long. A batch: blocks of up to 32
// tokens per KV head as matrix products (kernels/attention.h; 16 or 64 ran as fast on TinyLlama pp512),
// fewer where a block's scores would pass kMaxBlockScores floats (long contexts), the pool taking every
// other block-and-head item, so that both threads get early (short) and late (long) blocks.
void Transformer::attend(int64_t layer, int64_t n) {
  constexpr int64_t kMaxBlockTokens = 32;
  constexpr int64_t kMaxBlockScores = int64_t{1} << 20;  // 4 MiB of scratch per thread
  const int64_t head_dim = config_.head_dim;
  const int64_t group = config_.n_heads / config_.n_kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const float* keys = cache_.keys(layer);
  const float* values = cache_.values(layer);
  const int64_t work = n * config_.n_heads * (position_ + n) * head_dim * 2;
  if (n == 1) {
    const VectorOps& ops = vector_ops();
    parallel_ranges(config_.n_kv_heads, threads_for_decode_work(work), [&](int64_t begin, int64_t end) {
      std::vector<float> scores(static_cast<size_t>(group * (position_ + 1)));  // [group][positions seen]
      for (int64_t kv_head = begin; kv_head < end; ++kv_head) {
        const int64_t first_query = kv_head * group * head_dim;
        ops.attend_heads(q_.data() + first_query, group, keys + kv_head * head_dim, values + kv_head * head_dim,
                         kv_dim_, position_ + 1, head_dim, scale, scores.data(), mixed_.data() + first_query);
      }
    });
    return;
  }
  const int64_t block_tokens = std::clamp<int64_t>(kMaxBlockScores / (group * (position_ + n)), 1, kMaxBlockTokens);
  const int64_t blocks = (n + block_tokens - 1) / block_tokens;
  const int64_t items = blocks * config_.n_kv_heads;
  run_on_threads(threads_for_work(work), [&](int thread, int threads) {
    std::vector<float> scratch;  // per thread
    for (int64_t item = thread; item < items; item += threads) {
      const int64_t kv_head = item % config_.n_kv_heads, t0 = item / config_.n_kv_heads * block_tokens;
      const int64_t first_query = t0 * q_dim_ + kv_head * group * head_dim;
      attend_causal_tokens(q_.data() + first_query, q_dim_, std::min(block_tokens, n - t0), group,
                           keys + kv_head * head_dim, values + kv_head * head_dim, kv_dim_, position_ + t0, head_dim,
                           scale, scratch, mixed_.data() + first_query);
    }
  });
}

void Transformer::feed_forward_block(int64_t layer, int64_t n) {
  const LayerWeights& w = weights_.layers[layer];
  const int64_t dim = config_.dim;
  for_each_token(n, dim, [&](int64_t t) {
    rms_norm(x_.data() + t * dim, w.ffn_norm.data(), dim, config_.norm_eps, normed_.data() + t * dim);
  });
  observe(layer, LinearSite::kFfnIn, normed_.data(), n, dim);
  linear_same_input({{w.ffn_gate, gate_.data()}, {w.ffn_up, up_.data()}}, normed_.data(), n);
  const int64_t hidden = config_.hidden_dim;
  for_each_token(n, hidden, [&](int64_t t) { silu_mul(gate_.data() + t * hidden, up_.data() + t * hidden, hidden); });
  observe(layer, LinearSite::kFfnDownIn, gate_.data(), n, hidden);
  linear(*w.ffn_down, gate_.data(), n, delta_.data());
  add_residual(n);
}

void Transformer::add_residual(int64_t n) {
  const int64_t dim = config_.dim;
  for_each_token(n, dim, [&](int64_t t) { add_in_place(x_.data() + t * dim, delta_.data() + t * dim, dim); });
}

}  // namespace lowbit
