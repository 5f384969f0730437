// A model held in memory as F32 tensors, for tests that rewrite a model's tensors (channel scaling,
// AWQ, SmoothQuant) and compare what the forward pass computes before and after; and the per-channel
// statistics those rewrites read, recorded from one forward pass (without the observers' ranges, which
// the rewrites do not read and which cost most of a calibration's time on a tiny model).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <span>
#include <vector>

#include "formats/type_traits.h"
#include "io/model_file.h"
#include "model/transformer.h"
#include "quant/calib_stats.h"
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

// mean_square, abs_max and (with_gram) the Gram matrix of every site over one forward pass of `tokens`.
inline CalibStats record_site_stats(const ModelFile& model, const std::vector<int32_t>& tokens, bool with_gram) {
  const char* kinds[] = {"attn_in", "attn_out_in", "ffn_in", "ffn_down_in", "output_in"};
  CalibStats stats;
  auto site_of = [&](int64_t layer, LinearSite site, int64_t cols) -> SiteStats& {
    const std::string name = site == LinearSite::kOutputIn ? std::string(kinds[4])
                                                           : "blk." + std::to_string(layer) + "." + kinds[static_cast<int>(site)];
    for (SiteStats& s : stats.sites) {
      if (s.name == name) return s;
    }
    SiteStats& s = stats.sites.emplace_back();
    s.name = name;
    s.channels = cols;
    s.mean_square.assign(static_cast<size_t>(cols), 0.0);
    s.abs_max.assign(static_cast<size_t>(cols), 0.0f);
    if (with_gram) s.gram.assign(static_cast<size_t>(cols * cols), 0.0f);
    return s;
  };
  Transformer transformer(model, static_cast<int64_t>(tokens.size()));
  transformer.set_linear_input_hook([&](int64_t layer, LinearSite site, const float* x, int64_t n, int64_t cols) {
    SiteStats& s = site_of(layer, site, cols);
    s.tokens += n;
    for (int64_t t = 0; t < n; ++t) {
      const float* row = x + t * cols;
      for (int64_t i = 0; i < cols; ++i) {
        s.mean_square[i] += static_cast<double>(row[i]) * row[i];
        s.abs_max[i] = std::max(s.abs_max[i], std::fabs(row[i]));
        if (with_gram) {
          for (int64_t j = 0; j < cols; ++j) s.gram[i * cols + j] += row[i] * row[j];
        }
      }
    }
  });
  transformer.forward(tokens, LogitsFor::kAllTokens);
  for (SiteStats& s : stats.sites) {
    for (double& v : s.mean_square) v /= static_cast<double>(s.tokens);
    for (float& v : s.gram) v /= static_cast<float>(s.tokens);
  }
  return stats;
}

}  // namespace lowbit::testing
