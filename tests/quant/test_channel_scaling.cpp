#include "quant/channel_scaling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/type_traits.h"
#include "model/transformer.h"
#include "../model/tiny_model.h"
#include "float_model.h"

namespace lowbit {
namespace test_channel_scaling {

using testing::all_logits;
using testing::FloatModel;
using testing::load_float_tensors;

// Every calibration site of a model with its channel count.
std::vector<std::pair<SiteName, int64_t>> all_sites(const ModelConfig& c) {
  std::vector<std::pair<SiteName, int64_t>> sites;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    sites.push_back({{l, SiteKind::kAttnIn}, c.dim});
    sites.push_back({{l, SiteKind::kAttnOutIn}, c.n_heads * c.head_dim});
    sites.push_back({{l, SiteKind::kFfnIn}, c.dim});
    sites.push_back({{l, SiteKind::kFfnDownIn}, c.hidden_dim});
  }
  sites.push_back({{-1, SiteKind::kOutputIn}, c.dim});
  return sites;
}

// Folds random scales exp(N(0, 0.7^2)) — a spread of about x4 either way — into every foldable site and
// checks that the logits do not move, relative to their largest magnitude.
void expect_fold_keeps_logits(const ModelFile& model) {
  const ModelConfig& config = model.config();
  const LayerTensors original = load_float_tensors(model);
  LayerTensors folded = original;
  std::mt19937 rng(5);
  std::normal_distribution<float> log_scale(0.0f, 0.7f);
  int folded_sites = 0;
  for (const auto& [site, channels] : all_sites(config)) {
    if (!site_is_foldable(config, site)) continue;
    std::vector<float> scales(static_cast<size_t>(channels));
    for (float& s : scales) s = std::exp(log_scale(rng));
    tie_kv_group_scales(config, site, scales);
    fold_channel_scales(config, site, scales, folded);
    ++folded_sites;
  }
  EXPECT_EQ(folded_sites, 4 * config.n_layers + (config.tied_embeddings ? 0 : 1));
  // The fold did change the tensors it touched (so equal logits are not trivially equal).
  EXPECT_NE(folded.at("blk.0.attn_q.weight").values, original.at("blk.0.attn_q.weight").values);
  EXPECT_NE(folded.at("blk.0.attn_v.weight").values, original.at("blk.0.attn_v.weight").values);

  const std::vector<float> expected = all_logits(FloatModel(config, original));
  const std::vector<float> actual = all_logits(FloatModel(config, folded));
  EXPECT_LT(testing::max_relative_difference(expected, actual), 1e-4f);
}

TEST(ChannelScaling, FoldKeepsStories260KLogits) {
  const auto model = open_model(LOWBIT_SOURCE_DIR "/testdata/stories260K/stories260K.gguf");
  ASSERT_LT(model->config().n_kv_heads, model->config().n_heads);  // grouped-query attention is covered
  expect_fold_keeps_logits(*model);
}

TEST(ChannelScaling, FoldKeepsTinyStories656KLogits) {
  const auto model = open_model(LOWBIT_SOURCE_DIR "/testdata/tinystories-656K");
  ASSERT_LT(model->config().n_kv_heads, model->config().n_heads);
  ASSERT_TRUE(model->config().tied_embeddings);  // output_in is skipped
  expect_fold_keeps_logits(*model);
}

TEST(ChannelScaling, FoldKeepsLogitsWithQkvBiasAndUntiedOutput) {
  ModelConfig config = testing::tiny_config();
  config.qkv_bias = true;
  expect_fold_keeps_logits(testing::TinyModel(config));
}

TEST(ChannelScaling, FoldKeepsLogitsWithoutGroupedQueryAttention) {
  ModelConfig config = testing::tiny_config();
  config.n_kv_heads = config.n_heads;
  expect_fold_keeps_logits(testing::TinyModel(config));
}

// The stats of a model whose sites were scaled are the recorded stats, rescaled.
TEST(ChannelScaling, RescaledStatsAreTheFoldedModelsStats) {
  const testing::TinyModel model(testing::tiny_config());
  const std::vector<int32_t> tokens = testing::test_tokens(model.config(), 20);
  const CalibStats before = testing::record_site_stats(model, tokens, true);
  LayerTensors folded = load_float_tensors(model);
  std::mt19937 rng(9);
  std::normal_distribution<float> log_scale(0.0f, 0.7f);
  std::map<std::string, std::vector<float>> scales;
  for (const SiteStats& site : before.sites) {
    std::vector<float>& s = scales[site.name];
    for (int64_t c = 0; c < site.channels; ++c) s.push_back(std::exp(log_scale(rng)));
    tie_kv_group_scales(model.config(), parse_site_name(site.name), s);
    fold_channel_scales(model.config(), parse_site_name(site.name), s, folded);
  }
  const CalibStats after = testing::record_site_stats(FloatModel(model.config(), folded), tokens, true);
  ASSERT_EQ(after.sites.size(), before.sites.size());
  for (size_t i = 0; i < before.sites.size(); ++i) {
    const SiteStats expected = rescaled_site_stats(before.sites[i], scales[before.sites[i].name]);
    const SiteStats& actual = after.sites[i];
    ASSERT_EQ(actual.name, expected.name);
    for (size_t c = 0; c < expected.mean_square.size(); ++c) {
      EXPECT_NEAR(actual.mean_square[c], expected.mean_square[c], 1e-4 * expected.mean_square[c]) << actual.name;
      EXPECT_NEAR(actual.abs_max[c], expected.abs_max[c], 1e-4f * expected.abs_max[c]) << actual.name;
    }
    float largest = 0;
    for (float g : expected.gram) largest = std::max(largest, std::fabs(g));
    for (size_t j = 0; j < expected.gram.size(); ++j) EXPECT_NEAR(actual.gram[j], expected.gram[j], 1e-4f * largest) << actual.name;
  }
}

TEST(ChannelScaling, TieTakesGeometricMeanOverKvGroup) {
  const ModelConfig config = testing::tiny_config();  // 4 heads of 4, 2 KV heads: heads {0,1} and {2,3}
  std::vector<float> scales(16, 1.0f);
  scales[1] = 2.0f;   // head 0, channel 1
  scales[5] = 8.0f;   // head 1, channel 1
  scales[10] = 0.5f;  // head 2, channel 2
  tie_kv_group_scales(config, {0, SiteKind::kAttnOutIn}, scales);
  EXPECT_FLOAT_EQ(scales[1], 4.0f);
  EXPECT_FLOAT_EQ(scales[5], 4.0f);
  EXPECT_FLOAT_EQ(scales[10], std::sqrt(0.5f));
  EXPECT_FLOAT_EQ(scales[14], std::sqrt(0.5f));
  EXPECT_FLOAT_EQ(scales[0], 1.0f);
  // Other sites are not tied.
  std::vector<float> ffn(16, 1.0f);
  ffn[1] = 2.0f;
  tie_kv_group_scales(config, {0, SiteKind::kFfnIn}, ffn);
  EXPECT_EQ(ffn[1], 2.0f);
}

TEST(ChannelScaling, FoldRejectsUntiedKvGroupScales) {
  const testing::TinyModel model(testing::tiny_config());
  LayerTensors tensors = load_float_tensors(model);
  std::vector<float> scales(16, 1.0f);
  scales[5] = 2.0f;  // head 1 differs from head 0, which shares its KV head
  EXPECT_THROW(fold_channel_scales(model.config(), {0, SiteKind::kAttnOutIn}, scales, tensors), Error);
}

TEST(ChannelScaling, FoldRejectsBadScalesAndTiedOutput) {
  ModelConfig config = testing::tiny_config();
  config.tied_embeddings = true;
  const testing::TinyModel model(config);
  LayerTensors tensors = load_float_tensors(model);
  EXPECT_FALSE(site_is_foldable(config, {-1, SiteKind::kOutputIn}));
  EXPECT_THROW(fold_channel_scales(config, {-1, SiteKind::kOutputIn}, std::vector<float>(16, 1.0f), tensors), Error);
  std::vector<float> scales(16, 1.0f);
  scales[3] = 0.0f;
  EXPECT_THROW(fold_channel_scales(config, {0, SiteKind::kFfnIn}, scales, tensors), Error);
  EXPECT_THROW(fold_channel_scales(config, {0, SiteKind::kFfnIn}, std::vector<float>(15, 1.0f), tensors), Error);
  tensors.erase("blk.0.ffn_norm.weight");
  EXPECT_THROW(fold_channel_scales(config, {0, SiteKind::kFfnIn}, std::vector<float>(16, 1.0f), tensors), Error);
}

TEST(ChannelScaling, SiteNamesAndReaders) {
  const SiteName attn = parse_site_name("blk.12.attn_out_in");
  EXPECT_EQ(attn.layer, 12);
  EXPECT_EQ(attn.kind, SiteKind::kAttnOutIn);
  const SiteName output = parse_site_name("output_in");
  EXPECT_EQ(output.layer, -1);
  EXPECT_EQ(output.kind, SiteKind::kOutputIn);
  for (const char* bad : {"blk.x.attn_in", "blk.3", "blk..ffn_in", "blk.3.output_in", "attn_in", "blk.-1.ffn_in", ""}) {
    EXPECT_THROW(parse_site_name(bad), Error) << bad;
  }
  ModelConfig config = testing::tiny_config();
  EXPECT_EQ(site_readers(config, {2, SiteKind::kAttnIn}),
            (std::vector<std::string>{"blk.2.attn_q.weight", "blk.2.attn_k.weight", "blk.2.attn_v.weight"}));
  EXPECT_EQ(site_readers(config, {-1, SiteKind::kOutputIn}), std::vector<std::string>{"output.weight"});
  config.tied_embeddings = true;
  EXPECT_EQ(site_readers(config, {-1, SiteKind::kOutputIn}), std::vector<std::string>{"token_embd.weight"});

  CalibStats stats;
  for (const char* name : {"blk.0.attn_in", "blk.1.attn_in", "blk.1.attn_out_in", "blk.1.ffn_in", "blk.1.ffn_down_in", "output_in"}) {
    stats.sites.emplace_back();
    stats.sites.back().name = name;
  }
  const std::vector<const SiteStats*> layer1 = sites_of_layer(stats, 1);
  // Sites whose producer is a matrix come first, then the stats' order.
  ASSERT_EQ(layer1.size(), 4u);
  EXPECT_EQ(layer1[0]->name, "blk.1.attn_out_in");
  EXPECT_EQ(layer1[1]->name, "blk.1.ffn_down_in");
  EXPECT_EQ(layer1[2]->name, "blk.1.attn_in");
  EXPECT_EQ(layer1[3]->name, "blk.1.ffn_in");
  ASSERT_EQ(sites_of_layer(stats, -1).size(), 1u);
}

}  // namespace test_channel_scaling
}  // namespace lowbit
