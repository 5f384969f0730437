#include "quant/smoothquant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/type_traits.h"
#include "model/transformer.h"
#include "../model/tiny_model.h"
#include "float_model.h"

namespace lowbit {
namespace test_smoothquant {

TEST(SmoothQuant, ScalesBalanceActivationAndWeightMaxima) {
  const std::vector<float> x = {16.0f, 1.0f, 0.0f, 4.0f}, w = {0.25f, 1.0f, 2.0f, 0.0f};
  const std::vector<float> s = smoothquant_scales(x, w, 0.5);
  EXPECT_FLOAT_EQ(s[0], 8.0f);  // sqrt(16) / sqrt(0.25): both maxima become 2
  EXPECT_FLOAT_EQ(s[1], 1.0f);
  EXPECT_EQ(s[2], 1.0f);  // never active
  EXPECT_EQ(s[3], 1.0f);  // read by no weight
  EXPECT_FLOAT_EQ(smoothquant_scales(x, w, 0.75)[0], std::pow(16.0f, 0.75f) / std::pow(0.25f, 0.25f));
  EXPECT_FLOAT_EQ(smoothquant_scales(x, w, 0.0)[0], 4.0f);  // 1 / 0.25: all of the difficulty on the weights' side
}

TEST(SmoothQuant, ColumnMaximaActivationScaleAndNames) {
  const FloatTensor a{{2, 3}, {1, -5, 0, -2, 1, 0.5f}}, b{{1, 3}, {0, 0, -3}};
  const std::vector<const FloatTensor*> matrices = {&a, &b};
  EXPECT_EQ(column_abs_max(matrices), (std::vector<float>{2, 5, 3}));
  EXPECT_FLOAT_EQ(static_activation_scale(std::vector<float>{10, 3, 1}, std::vector<float>{5, 0.1f, 1}), 30.0f / 127.0f);
  EXPECT_EQ(act_scale_name("blk.0.attn_q.weight"), "blk.0.attn_q.act_scale");
  EXPECT_EQ(act_scale_name("output.weight"), "output.act_scale");
}

TEST(SmoothQuant, ErrorEstimateAddsActivationAndWeightRoundingNoise) {
  SiteStats site;
  site.channels = 2;
  site.abs_max = {127, 1.27f};
  site.mean_square = {4, 1};
  const FloatTensor w{{2, 2}, {1.27f, 2, -0.5f, 1}};  // [rows 2][cols 2]
  const std::vector<const FloatTensor*> readers = {&w};
  const std::vector<float> scales = {10, 1};
  // Static step 127 / 10 / 127 = 0.1; smoothed weights {12.7, 2; -5, 1}: row steps 0.1 and 5/127;
  // smoothed mean square 4/100 + 1.
  const double activation = 0.01 * (12.7 * 12.7 + 4 + 25 + 1);
  const double weights = (0.01 + (5.0 / 127) * (5.0 / 127)) * 1.04;
  EXPECT_NEAR(smoothing_error_estimate(site, readers, scales), (activation + weights) / 12, 1e-6);
}

// A tiny model and its calibration stats from one forward pass over test tokens; matrices are written as
// lowbit's int8 rows, norms as F32.
struct Calibrated {
  explicit Calibrated(const ModelConfig& c) : config(c), model(c), original(testing::load_float_tensors(model)) {
    stats = testing::record_site_stats(model, testing::test_tokens(config, 12), false);
    for (const auto& [name, t] : original) types[name] = find_type_traits(t.shape.size() == 2 ? "q8_0" : "f32");
  }

  LayerTensors rewrite(const MethodOptions& options, std::map<std::string, std::vector<float>>* site_scales = nullptr) const {
    LayerTensors tensors = original;
    for (int64_t layer = -1; layer < config.n_layers; ++layer) {
      smoothquant_rewrite_layer(LayerRewriteContext{model, stats, options, layer, types, site_scales}, tensors);
    }
    return tensors;
  }

  static ModelConfig with_32_channels(ModelConfig c) {
    c.dim = c.hidden_dim = 32;  // whole Q8_0 blocks in every row
    c.head_dim = 8;
    return c;
  }

  ModelConfig config;
  testing::TinyModel model;
  LayerTensors original;
  CalibStats stats;
  std::map<std::string, const TypeTraits*> types;
};

TEST(SmoothQuant, SmoothingKeepsTheModelsFunctionAndBalancesMaxima) {
  const Calibrated c(Calibrated::with_32_channels(testing::tiny_config()));  // GQA, separate output
  MethodOptions options;  // alpha 0.5, no activation scales
  std::map<std::string, std::vector<float>> site_scales;
  const LayerTensors smoothed = c.rewrite(options, &site_scales);
  EXPECT_EQ(site_scales.size(), 4u * c.config.n_layers + 1);  // every site is smoothed
  EXPECT_EQ(smoothed.size(), c.original.size());
  EXPECT_LT(testing::max_relative_difference(testing::all_logits(testing::FloatModel(c.config, c.original)),
                                             testing::all_logits(testing::FloatModel(c.config, smoothed))),
            1e-4f);
  // alpha = 0.5: after smoothing, each channel's activation maximum equals its weights' column maximum.
  // The scales are what the fold did to the norm: s = before / after.
  const std::vector<float>& norm_before = c.original.at("blk.1.ffn_norm.weight").values;
  const std::vector<float>& norm_after = smoothed.at("blk.1.ffn_norm.weight").values;
  const SiteStats& site = *std::find_if(c.stats.sites.begin(), c.stats.sites.end(), [](const SiteStats& s) { return s.name == "blk.1.ffn_in"; });
  const std::vector<const FloatTensor*> readers = {&smoothed.at("blk.1.ffn_gate.weight"), &smoothed.at("blk.1.ffn_up.weight")};
  const std::vector<float> weight_max = column_abs_max(readers);
  for (size_t ch = 0; ch < norm_before.size(); ++ch) {
    const float s = norm_before[ch] / norm_after[ch];
    EXPECT_FLOAT_EQ(s, site_scales.at("blk.1.ffn_in")[ch]);
    EXPECT_NEAR(site.abs_max[ch] / s, weight_max[ch], 1e-4f * weight_max[ch]) << ch;
  }
}

TEST(SmoothQuant, StaticScalesCoverTheSmoothedActivations) {
  ModelConfig config = Calibrated::with_32_channels(testing::tiny_config());
  config.tied_embeddings = true;  // output_in is not smoothed, token_embd (the output matrix) still gets a scale
  const Calibrated c(config);
  MethodOptions options;
  options.act_quant = "static";
  LayerTensors smoothed = c.rewrite(options);
  // The largest |x| each matrix's input reaches in the smoothed model over the same tokens.
  std::map<std::string, float> observed;
  {
    LayerTensors weights_only = smoothed;
    std::erase_if(weights_only, [](const auto& t) { return t.first.ends_with(".act_scale"); });
    const testing::FloatModel model(config, weights_only);
    Transformer transformer(model, 32);
    const char* readers[] = {"attn_q", "attn_output", "ffn_gate", "ffn_down"};
    transformer.set_linear_input_hook([&](int64_t layer, LinearSite site, const float* x, int64_t n, int64_t cols) {
      const std::string name = site == LinearSite::kOutputIn
                                   ? std::string("token_embd")
                                   : "blk." + std::to_string(layer) + "." + readers[static_cast<int>(site)];
      for (int64_t i = 0; i < n * cols; ++i) observed[name] = std::max(observed[name], std::fabs(x[i]));
    });
    transformer.forward(testing::test_tokens(config, 12), LogitsFor::kAllTokens);
  }
  int scales = 0;
  for (const auto& [name, t] : smoothed) {
    if (!name.ends_with(".act_scale")) continue;
    ++scales;
    ASSERT_EQ(t.shape, std::vector<int64_t>{1}) << name;
    const std::string matrix = name.substr(0, name.size() - std::string(".act_scale").size());
    if (observed.count(matrix) != 0) {
      EXPECT_NEAR(t.values[0] * 127.0f, observed[matrix], 1e-4f * observed[matrix]) << name;
    }
  }
  EXPECT_EQ(scales, 7 * config.n_layers + 1);  // every quantized matrix that reads a site
  EXPECT_EQ(observed.size(), 4u * config.n_layers + 1);
  ASSERT_TRUE(smoothed.count("token_embd.act_scale"));
  EXPECT_EQ(smoothed.at("output_norm.weight").values, c.original.at("output_norm.weight").values);
  // Readers of one site share the scale.
  EXPECT_EQ(smoothed.at("blk.0.attn_k.act_scale").values, smoothed.at("blk.0.attn_q.act_scale").values);
}

TEST(SmoothQuant, FloatReadersAreNotSmoothedAndBadOptionsFail) {
  Calibrated c(Calibrated::with_32_channels(testing::tiny_config()));
  for (auto& [name, type] : c.types) type = find_type_traits("f16");
  MethodOptions options;
  options.act_quant = "static";
  const LayerTensors unchanged = c.rewrite(options);
  for (const auto& [name, t] : c.original) EXPECT_EQ(unchanged.at(name).values, t.values) << name;
  EXPECT_EQ(unchanged.size(), c.original.size());
  options.act_quant = "per-token";
  EXPECT_THROW(c.rewrite(options), Error);
  options.act_quant = "none";
  options.alpha = 1.5;
  EXPECT_THROW(c.rewrite(options), Error);
}

TEST(SmoothQuant, AutoAlphaTakesTheGridsLeastEstimatedErrorAndKeepsTheFunction) {
  const Calibrated c(Calibrated::with_32_channels(testing::tiny_config()));
  MethodOptions options;
  options.auto_alpha = true;
  std::map<std::string, std::vector<float>> site_scales;
  const LayerTensors smoothed = c.rewrite(options, &site_scales);
  EXPECT_LT(testing::max_relative_difference(testing::all_logits(testing::FloatModel(c.config, c.original)),
                                             testing::all_logits(testing::FloatModel(c.config, smoothed))),
            1e-4f);
  // ffn_in: no alpha of the grid beats the chosen scales on the gate and up matrices as they were before
  // its fold (up's rows already divided by ffn_down_in's scales).
  const SiteStats& site = *std::find_if(c.stats.sites.begin(), c.stats.sites.end(), [](const SiteStats& s) { return s.name == "blk.1.ffn_in"; });
  FloatTensor up = c.original.at("blk.1.ffn_up.weight");  // [hidden_dim][dim]
  const std::vector<float>& down_scales = site_scales.at("blk.1.ffn_down_in");
  for (size_t i = 0; i < up.values.size(); ++i) up.values[i] /= down_scales[i / static_cast<size_t>(up.shape[1])];
  const std::vector<const FloatTensor*> readers = {&c.original.at("blk.1.ffn_gate.weight"), &up};
  const std::vector<float> weight_max = column_abs_max(readers);
  const double chosen = smoothing_error_estimate(site, readers, site_scales.at("blk.1.ffn_in"));
  for (int step = 0; step <= 20; ++step) {
    EXPECT_LE(chosen, smoothing_error_estimate(site, readers, smoothquant_scales(site.abs_max, weight_max, step / 20.0)) * (1 + 1e-9));
  }
}

}  // namespace test_smoothquant
}  // namespace lowbit
