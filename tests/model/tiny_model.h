// A small Llama-family model with random weights, built in memory, for tests of the engine.
#pragma once

#include <fmt/format.h>

#include <random>
#include <string>
#include <vector>

#include "formats/type_traits.h"
#include "io/model_file.h"

namespace lowbit::testing {

inline ModelConfig tiny_config() {
  ModelConfig c;
  c.dim = 16;
  c.hidden_dim = 24;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 4;
  c.vocab_size = 11;
  c.context_length = 40;
  return c;
}

class TinyModel : public ModelFile {
 public:
  // Weights ~ N(0, 0.4^2) (norm weights around 1) from `seed`; matrices stored as `matrix_type`.
  explicit TinyModel(const ModelConfig& config, uint32_t seed = 7, TensorType matrix_type = TensorType::F32)
      : rng_(seed) {
    path_ = "tiny-test-model";
    format_ = "memory";
    config_ = config;
    const int64_t q_dim = config.n_heads * config.head_dim, kv_dim = config.n_kv_heads * config.head_dim;
    add("token_embd.weight", matrix_type, {config.vocab_size, config.dim}, 0.0f);
    add("output_norm.weight", TensorType::F32, {config.dim}, 1.0f);
    if (!config.tied_embeddings) add("output.weight", matrix_type, {config.vocab_size, config.dim}, 0.0f);
    for (int64_t i = 0; i < config.n_layers; ++i) {
      const std::string p = fmt::format("blk.{}.", i);
      add(p + "attn_norm.weight", TensorType::F32, {config.dim}, 1.0f);
      add(p + "attn_q.weight", matrix_type, {q_dim, config.dim}, 0.0f);
      add(p + "attn_k.weight", matrix_type, {kv_dim, config.dim}, 0.0f);
      add(p + "attn_v.weight", matrix_type, {kv_dim, config.dim}, 0.0f);
      add(p + "attn_output.weight", matrix_type, {config.dim, q_dim}, 0.0f);
      if (config.qkv_bias) {
        add(p + "attn_q.bias", TensorType::F32, {q_dim}, 0.0f);
        add(p + "attn_k.bias", TensorType::F32, {kv_dim}, 0.0f);
        add(p + "attn_v.bias", TensorType::F32, {kv_dim}, 0.0f);
      }
      add(p + "ffn_norm.weight", TensorType::F32, {config.dim}, 1.0f);
      add(p + "ffn_gate.weight", matrix_type, {config.hidden_dim, config.dim}, 0.0f);
      add(p + "ffn_up.weight", matrix_type, {config.hidden_dim, config.dim}, 0.0f);
      add(p + "ffn_down.weight", matrix_type, {config.dim, config.hidden_dim}, 0.0f);
    }
  }

  // Replaces a tensor's values (stored in its type); for hand-built cases.
  void set_values(const std::string& name, const std::vector<float>& values) {
    for (TensorView& t : tensors_) {
      if (t.name == name) type_traits(t.type).from_float(values.data(), const_cast<void*>(t.data), t.elements());
    }
  }

  // Drops a tensor, to test what happens when a file lacks one.
  void remove(const std::string& name) {
    std::erase_if(tensors_, [&](const TensorView& t) { return t.name == name; });
  }

 private:
  void add(const std::string& name, TensorType type, std::vector<int64_t> shape, float mean) {
    TensorView view{name, type, std::move(shape), nullptr, 0};
    std::vector<float> values(static_cast<size_t>(view.elements()));
    std::normal_distribution<float> dist(mean, 0.4f);
    for (float& v : values) v = dist(rng_);
    const TypeTraits& traits = type_traits(type);
    std::vector<uint8_t> bytes(static_cast<size_t>(view.rows()) * traits.row_bytes(view.cols()));
    traits.from_float(values.data(), bytes.data(), view.elements());
    view.data = bytes.data();
    view.bytes = bytes.size();
    owned_buffers_.push_back(std::move(bytes));  // the heap block (and so view.data) survives the move
    // The engine reads tensors() only; tensors_ is filled directly so this fixture does not depend on
    // the readers' library.
    tensors_.push_back(std::move(view));
  }

  std::mt19937 rng_;
};

}  // namespace lowbit::testing
