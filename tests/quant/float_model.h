// A model held in memory as F32 tensors, for tests that rewrite a model's tensors (channel scaling,
// AWQ, SmoothQuant) and compare what the forward pass computes before and after.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <vector>

#include "formats/type_traits.h"
#include "io/model_file.h"
#include "model/transformer.h"
#include "quant/quant_method.h"

namespace lowbit::testing {

// Every tensor of a model as F32 copies, by name.
inline LayerTensors load_float_tensors(const ModelFile& model) {
  LayerTensors tensors;
  for (const TensorView& view : model.tensors()) {
    FloatTensor t{view.shape, std::vector<float>(static_cast<size_t>(view.elements()))};
    type_traits(view.type).to_float(view.data, t.values.data(), view.elements());
    tensors.emplace(view.name, std::move(t));
  }
  return tensors;
}

// A config with the given F32 tensors.
class FloatModel : public ModelFile {
 public:
  FloatModel(const ModelConfig& config, const LayerTensors& tensors) {
    path_ = "float-model";
    format_ = "memory";
    config_ = config;
    for (const auto& [name, t] : tensors) {
      std::vector<uint8_t> bytes(t.values.size() * sizeof(float));
      std::memcpy(bytes.data(), t.values.data(), bytes.size());
      owned_buffers_.push_back(std::move(bytes));  // the heap block survives the move
      add_tensor(TensorView{name, TensorType::F32, t.shape, owned_buffers_.back().data(), owned_buffers_.back().size()});
    }
  }
};

// A fixed sequence of n token ids of the model's vocabulary.
inline std::vector<int32_t> test_tokens(const ModelConfig& config, int32_t n) {
  std::vector<int32_t> tokens;
  for (int32_t i = 0; i < n; ++i) tokens.push_back(static_cast<int32_t>((i * 7 + 1) % config.vocab_size));
  return tokens;
}

// Logits [tokens][vocab] of every position of test_tokens(12).
inline std::vector<float> all_logits(const ModelFile& model) {
  Transformer transformer(model, 16);
  const std::span<const float> logits = transformer.forward(test_tokens(model.config(), 12), LogitsFor::kAllTokens);
  return {logits.begin(), logits.end()};
}

// Largest |a - b| relative to the largest |a|.
inline float max_relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  float largest = 0, worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    largest = std::max(largest, std::fabs(a[i]));
    worst = std::max(worst, std::fabs(a[i] - b[i]));
  }
  return a.size() == b.size() ? worst / largest : 1.0f;
}

}  // namespace lowbit::testing
