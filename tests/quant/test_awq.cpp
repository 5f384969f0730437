#include "quant/awq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/type_traits.h"
#include "model/transformer.h"
#include "quant/channel_scaling.h"
#include "../model/tiny_model.h"
#include "float_model.h"

namespace lowbit {
namespace test_awq {

// Activations X [tokens][channels] ~ N(0,1) with a few outlier channels (x12), as the inputs of real
// linear layers have, and the statistics calibration records of them.
struct Activations {
  int64_t tokens, channels;
  std::vector<float> x;
  SiteStats stats;
};

Activations make_activations(int64_t tokens, int64_t channels, uint32_t seed) {
  Activations a{tokens, channels, std::vector<float>(static_cast<size_t>(tokens * channels)), SiteStats{}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t c = 0; c < channels; ++c) a.x[t * channels + c] = normal(rng) * (c % 13 == 5 ? 12.0f : 1.0f);
  }
  SiteStats& s = a.stats;
  s.name = "blk.0.ffn_in";
  s.channels = channels;
  s.tokens = tokens;
  s.mean_square.assign(static_cast<size_t>(channels), 0.0);
  s.abs_max.assign(static_cast<size_t>(channels), 0.0f);
  s.gram.assign(static_cast<size_t>(channels * channels), 0.0f);
  std::vector<double> gram(s.gram.size(), 0.0);
  for (int64_t t = 0; t < tokens; ++t) {
    const float* x = a.x.data() + t * channels;
    for (int64_t i = 0; i < channels; ++i) {
      s.mean_square[i] += static_cast<double>(x[i]) * x[i] / static_cast<double>(tokens);
      s.abs_max[i] = std::max(s.abs_max[i], std::fabs(x[i]));
      for (int64_t j = 0; j < channels; ++j) gram[i * channels + j] += static_cast<double>(x[i]) * x[j];
    }
  }
  for (size_t i = 0; i < gram.size(); ++i) s.gram[i] = static_cast<float>(gram[i] / static_cast<double>(tokens));
  return a;
}

std::vector<float> random_weights(int64_t rows, int64_t cols, uint32_t seed) {
  std::vector<float> w(static_cast<size_t>(rows * cols));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (float& v : w) v = normal(rng);
  return w;
}

std::vector<float> round_trip(const TypeTraits& type, const std::vector<float>& w) {
  std::vector<uint8_t> bytes(type.row_bytes(static_cast<int64_t>(w.size())));
  type.from_float(w.data(), bytes.data(), static_cast<int64_t>(w.size()));
  std::vector<float> out(w.size());
  type.to_float(bytes.data(), out.data(), static_cast<int64_t>(w.size()));
  return out;
}

// Mean over the tokens of ||(w_hat - w) x||^2, computed from the activations themselves.
double output_mse(const std::vector<float>& w, const std::vector<float>& w_hat, int64_t rows, const Activations& a) {
  double sum = 0;
  for (int64_t t = 0; t < a.tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double y = 0;
      for (int64_t c = 0; c < a.channels; ++c) y += static_cast<double>(w_hat[r * a.channels + c] - w[r * a.channels + c]) * a.x[t * a.channels + c];
      sum += y * y;
    }
  }
  return sum / static_cast<double>(a.tokens);
}

const TypeTraits& int3() { return *find_type_traits("lb_i3_asym_g32"); }

TEST(Awq, ScalesAreNormalizedPowersOfTheMagnitude) {
  const std::vector<double> m = {4.0, 1.0, 0.25, 0.0};
  const std::vector<float> s = awq_scales(m, 0.5);
  // 0 is floored at 1e-4 of the largest: 4e-4, whose square root is 0.02; sqrt(max * min) = sqrt(2 * 0.02).
  const double norm = std::sqrt(2.0 * 0.02);
  EXPECT_NEAR(s[0], 2.0 / norm, 1e-5);
  EXPECT_NEAR(s[1], 1.0 / norm, 1e-5);
  EXPECT_NEAR(s[2], 0.5 / norm, 1e-5);
  EXPECT_NEAR(s[3], 0.02 / norm, 1e-5);
  for (float v : awq_scales(m, 0.0)) EXPECT_EQ(v, 1.0f);
  EXPECT_THROW(awq_scales(std::vector<double>{0.0, 0.0}, 0.5), Error);
}

TEST(Awq, OutputErrorIsTheOutputMeanSquaredError) {
  const Activations a = make_activations(200, 64, 1);
  const int64_t rows = 24;
  const std::vector<float> w = random_weights(rows, 64, 2);
  std::vector<float> scales(64);
  for (size_t c = 0; c < scales.size(); ++c) scales[c] = 0.5f + 0.03f * static_cast<float>(c);
  // What the objective promises: the reconstruction Q(W diag(s)) diag(s)^-1, measured on the tokens.
  std::vector<float> scaled(w.size());
  for (size_t i = 0; i < w.size(); ++i) scaled[i] = w[i] * scales[i % 64];
  // lb_i3 has an importance-weighted quantizer; the objective feeds it mean_square / s^2.
  std::vector<float> importance(w.size());
  for (size_t i = 0; i < w.size(); ++i) importance[i] = static_cast<float>(a.stats.mean_square[i % 64] / (scales[i % 64] * scales[i % 64]));
  std::vector<uint8_t> bytes(int3().row_bytes(static_cast<int64_t>(w.size())));
  ASSERT_NE(int3().from_float_weighted, nullptr);
  int3().from_float_weighted(scaled.data(), importance.data(), bytes.data(), static_cast<int64_t>(w.size()));
  std::vector<float> w_hat(w.size());
  int3().to_float(bytes.data(), w_hat.data(), static_cast<int64_t>(w.size()));
  for (size_t i = 0; i < w.size(); ++i) w_hat[i] /= scales[i % 64];

  const double expected = output_mse(w, w_hat, rows, a);
  const AwqMatrix matrix{w.data(), rows, 64, &int3()};
  EXPECT_NEAR(awq_output_error(matrix, scales, a.stats), expected, 1e-4 * expected);
  // Without the Gram matrix, its diagonal: the cross terms of the output error are dropped.
  SiteStats diagonal = a.stats;
  diagonal.gram.clear();
  double diagonal_expected = 0;
  for (size_t i = 0; i < w.size(); ++i) diagonal_expected += a.stats.mean_square[i % 64] * std::pow(w_hat[i] - w[i], 2);
  EXPECT_NEAR(awq_output_error(matrix, scales, diagonal), diagonal_expected, 1e-4 * diagonal_expected);
}

TEST(Awq, SearchBeatsRoundToNearestOnOutlierChannels) {
  const Activations a = make_activations(256, 64, 3);
  const std::vector<float> w1 = random_weights(32, 64, 4), w2 = random_weights(16, 64, 5);
  const std::vector<AwqMatrix> matrices = {{w1.data(), 32, 64, &int3()}, {w2.data(), 16, 64, &int3()}};
  const AwqChoice choice = search_awq_scales(testing::tiny_config(), a.stats, matrices, 20);
  EXPECT_GT(choice.alpha, 0.0);
  EXPECT_LT(choice.alpha, 1.0);
  EXPECT_LT(choice.error, 0.8 * choice.unscaled_error);
  EXPECT_NEAR(choice.error, awq_output_error(matrices[0], choice.scales, a.stats) + awq_output_error(matrices[1], choice.scales, a.stats),
              1e-9 * choice.error);
  // alpha = 0 is RTN: the same error as the plain round trip, measured on the tokens.
  const std::vector<float> ones(64, 1.0f);
  double rtn = 0;
  for (const auto& [w, rows] : {std::pair{&w1, int64_t{32}}, std::pair{&w2, int64_t{16}}}) {
    rtn += awq_output_error(AwqMatrix{w->data(), rows, 64, &int3()}, ones, a.stats);
  }
  EXPECT_DOUBLE_EQ(choice.unscaled_error, rtn);
  // A grid of one point is alpha = 0 only.
  EXPECT_EQ(search_awq_scales(testing::tiny_config(), a.stats, matrices, 1).alpha, 0.0);
}

TEST(Awq, ClippingNeverRaisesTheBlockError) {
  Activations a = make_activations(128, 64, 6);
  a.stats.gram.clear();  // diagonal metric: the blocks' errors add up to the whole error
  std::vector<float> w = random_weights(16, 64, 7);
  w[3] = 0.6f;  // outliers that stretch their blocks' ranges
  w[64 * 5 + 40] = -0.5f;
  const std::vector<float> original = w;
  const std::vector<float> scales(64, 1.0f);
  clip_awq_blocks(w.data(), 16, 64, *find_type_traits("q4_0"), scales, a.stats);
  EXPECT_NE(w, original);
  // Error of the quantized clipped weights against the original ones, weighted by mean square.
  auto weighted_error = [&](const std::vector<float>& quantized_from) {
    const std::vector<float> restored = round_trip(*find_type_traits("q4_0"), quantized_from);
    double sum = 0;
    for (size_t i = 0; i < w.size(); ++i) sum += a.stats.mean_square[i % 64] * std::pow(restored[i] - original[i], 2);
    return sum;
  };
  EXPECT_LT(weighted_error(w), weighted_error(original));
  for (size_t i = 0; i < w.size(); ++i) EXPECT_LE(std::fabs(w[i]), std::fabs(original[i])) << i;
}

// AWQ on a whole tiny model with statistics from a calibration run: without clipping the rewrite only
// scales, so the float model computes the same logits.
TEST(Awq, RewriteKeepsTheModelsFunction) {
  ModelConfig config = testing::tiny_config();  // grouped-query attention, separate output matrix
  config.dim = config.hidden_dim = 32;          // whole 32-element blocks in every row
  config.head_dim = 8;
  const testing::TinyModel model(config);
  const CalibStats stats = testing::record_site_stats(model, testing::test_tokens(config, 30), true);

  const LayerTensors original = testing::load_float_tensors(model);
  std::map<std::string, const TypeTraits*> types;
  for (const auto& [name, t] : original) types[name] = t.shape.size() == 2 ? &int3() : find_type_traits("f32");
  MethodOptions options;
  options.awq_grid = 5;
  options.awq_clip = false;
  LayerTensors rewritten = original;
  std::map<std::string, std::vector<float>> site_scales;
  for (int64_t layer = -1; layer < config.n_layers; ++layer) {
    awq_rewrite_layer(LayerRewriteContext{model, stats, options, layer, types, &site_scales}, rewritten);
  }
  // The scaled sites are recorded with their scales: the folded norm is the old one divided by them.
  ASSERT_TRUE(site_scales.count("blk.0.attn_in"));
  const std::vector<float>& attn_in = site_scales.at("blk.0.attn_in");
  for (size_t c = 0; c < attn_in.size(); ++c) {
    EXPECT_FLOAT_EQ(rewritten.at("blk.0.attn_norm.weight").values[c], original.at("blk.0.attn_norm.weight").values[c] / attn_in[c]);
  }
  int changed = 0;
  for (const auto& [name, t] : original) changed += t.values != rewritten.at(name).values;
  EXPECT_GT(changed, 0);
  const std::vector<float> expected = testing::all_logits(testing::FloatModel(config, original));
  const std::vector<float> actual = testing::all_logits(testing::FloatModel(config, rewritten));
  EXPECT_LT(testing::max_relative_difference(expected, actual), 1e-4f);

  // With clipping, only the quantized matrices change further, and only towards zero.
  options.awq_clip = true;
  LayerTensors clipped = original;
  for (int64_t layer = -1; layer < config.n_layers; ++layer) {
    awq_rewrite_layer(LayerRewriteContext{model, stats, options, layer, types}, clipped);
  }
  for (const auto& [name, t] : rewritten) {
    for (size_t i = 0; i < t.values.size(); ++i) ASSERT_LE(std::fabs(clipped.at(name).values[i]), std::fabs(t.values[i])) << name;
  }
}

}  // namespace test_awq
}  // namespace lowbit
