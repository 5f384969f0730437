// The method table (names, "A+B" combinations, the error listing the known methods) and the stages
// quantize_model runs a method through: whole-tensor quantization from F32 and the layer-by-layer rewrite.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "quant/quant_method.h"
#include "quant/quantize_float_tensor.h"
#include "quant/rewrite_layers.h"

namespace lowbit {
namespace test_quant_method {

TEST(QuantMethod, RtnIsThePlainRowQuantizer) {
  const MethodChoice rtn = find_quant_method("rtn");
  EXPECT_EQ(rtn.name, "rtn");
  ASSERT_NE(rtn.rewrite_from, nullptr);
  EXPECT_EQ(rtn.rewrite_from, rtn.quantize_from);
  EXPECT_EQ(rtn.rewrite_from->rewrite, nullptr);
  EXPECT_EQ(rtn.quantize_from->quantize, nullptr);
  EXPECT_FALSE(rtn.needs_stats);
}

TEST(QuantMethod, EveryRowIsFoundByNameAndCombines) {
  for (const QuantMethod& method : all_quant_methods()) {
    const MethodChoice single = find_quant_method(method.name);
    EXPECT_EQ(single.rewrite_from, &method);
    EXPECT_EQ(single.needs_stats, method.needs_stats);
    const MethodChoice pair = find_quant_method(std::string(method.name) + "+rtn");
    EXPECT_EQ(pair.rewrite_from, &method);
    EXPECT_EQ(pair.quantize_from, &all_quant_methods()[0]);
    EXPECT_EQ(pair.needs_stats, method.needs_stats);
    EXPECT_EQ(find_quant_method(std::string("rtn+") + method.name).quantize_from, &method);
  }
}

TEST(QuantMethod, UnknownNamesListTheKnownOnes) {
  for (const char* name : {"", "gtpq", "rtn+", "+rtn", "rtn+rtn+rtn", "RTN"}) {
    try {
      find_quant_method(name);
      ADD_FAILURE() << "accepted '" << name << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("known: rtn"), std::string::npos) << e.what();
    }
  }
}

SiteStats site_of(int64_t channels) {
  SiteStats site;
  site.name = "blk.0.attn_in";
  site.channels = channels;
  for (int64_t c = 0; c < channels; ++c) site.mean_square.push_back(c % 4 == 0 ? 100.0 : 0.01);
  return site;
}

std::vector<float> ramp(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = std::sin(0.37f * static_cast<float>(i)) * (1.0f + static_cast<float>(i % 5));
  return v;
}

TEST(QuantizeFloatTensor, WeighsRowsByTheSiteWhenTheTypeCan) {
  const TypeTraits& q4 = *find_type_traits("q4_0");
  ASSERT_NE(q4.from_float_weighted, nullptr);
  const int64_t rows = 3, cols = 64;
  const std::vector<float> w = ramp(rows * cols);
  const SiteStats site = site_of(cols);
  const QuantizedBytes plain = quantize_float_tensor("w", w, rows, cols, q4, nullptr, nullptr, {});
  const QuantizedBytes weighted = quantize_float_tensor("w", w, rows, cols, q4, &site, nullptr, {});
  std::vector<uint8_t> expected_plain(plain.bytes.size()), expected_weighted(plain.bytes.size());
  const std::vector<float> importance(site.mean_square.begin(), site.mean_square.end());
  for (int64_t r = 0; r < rows; ++r) {
    q4.from_float(w.data() + r * cols, expected_plain.data() + r * q4.row_bytes(cols), cols);
    q4.from_float_weighted(w.data() + r * cols, importance.data(), expected_weighted.data() + r * q4.row_bytes(cols), cols);
  }
  EXPECT_EQ(plain.bytes, expected_plain);
  EXPECT_EQ(weighted.bytes, expected_weighted);
  EXPECT_NE(weighted.bytes, plain.bytes);
  EXPECT_EQ(weighted.error.elements, static_cast<double>(rows * cols));
  EXPECT_GT(weighted.error.error_sq, plain.error.error_sq);  // plain minimizes the unweighted error

  // An F16 target has no weighted quantizer: the stats change nothing.
  const TypeTraits& f16 = *find_type_traits("f16");
  EXPECT_EQ(quantize_float_tensor("w", w, rows, cols, f16, &site, nullptr, {}).bytes,
            quantize_float_tensor("w", w, rows, cols, f16, nullptr, nullptr, {}).bytes);
  const SiteStats wrong = site_of(cols / 2);
  EXPECT_THROW(quantize_float_tensor("w", w, rows, cols, q4, &wrong, nullptr, {}), Error);
}

// A tensor quantizer that writes each byte as its row number, to see who was called with what.
void row_number_quantizer(const float*, int64_t rows, int64_t cols, const TypeTraits& target, const SiteStats* site,
                          const MethodOptions& options, uint8_t* dst) {
  EXPECT_NE(site, nullptr);
  EXPECT_EQ(options.damp, 0.5);
  for (int64_t r = 0; r < rows; ++r) std::fill_n(dst + r * target.row_bytes(cols), target.row_bytes(cols), static_cast<uint8_t>(r));
}

TEST(QuantizeFloatTensor, HandsQuantizedTargetsToTheMethodsQuantizer) {
  const int64_t rows = 2, cols = 32;
  const std::vector<float> w = ramp(rows * cols);
  const SiteStats site = site_of(cols);
  MethodOptions options;
  options.damp = 0.5;
  const TypeTraits& q8 = *find_type_traits("q8_0");
  const QuantizedBytes q = quantize_float_tensor("w", w, rows, cols, q8, &site, row_number_quantizer, options);
  EXPECT_EQ(q.bytes[0], 0);
  EXPECT_EQ(q.bytes.back(), 1);
  // Float targets are never the quantizer's business.
  const TypeTraits& f32 = *find_type_traits("f32");
  const QuantizedBytes copy = quantize_float_tensor("w", w, rows, cols, f32, &site, row_number_quantizer, options);
  EXPECT_EQ(std::memcmp(copy.bytes.data(), w.data(), copy.bytes.size()), 0);
  EXPECT_EQ(copy.error.error_sq, 0);
}

TEST(RewriteLayers, LayerOfATensorName) {
  EXPECT_EQ(tensor_layer("blk.12.attn_q.weight"), 12);
  EXPECT_EQ(tensor_layer("blk.0.ffn_norm.weight"), 0);
  EXPECT_EQ(tensor_layer("output.weight"), -1);
  EXPECT_EQ(tensor_layer("token_embd.weight"), -1);
  EXPECT_EQ(tensor_layer("blk.x.attn_q.weight"), -1);
  EXPECT_EQ(tensor_layer("blk.3"), -1);
}

// Doubles every norm and adds one tensor per layer; records which layers it saw, in order.
std::vector<int64_t> layers_seen;
void doubling_rewrite(const LayerRewriteContext& context, LayerTensors& tensors) {
  layers_seen.push_back(context.layer);
  for (auto& [name, tensor] : tensors) {
    EXPECT_EQ(tensor_layer(name), context.layer) << name;
    EXPECT_TRUE(context.target_types.contains(name)) << name;
    if (name.ends_with("norm.weight")) {
      for (float& v : tensor.values) v *= 2;
    }
  }
  tensors["extra." + std::to_string(context.layer)] = FloatTensor{{2}, {1.0f, static_cast<float>(context.layer)}};
}
void reshaping_rewrite(const LayerRewriteContext&, LayerTensors& tensors) { tensors.begin()->second.shape = {1}; }

TEST(RewriteLayers, RewritesEachLayerOnceAndKeepsWhatItAdds) {
  const std::unique_ptr<ModelFile> model = open_model(LOWBIT_SOURCE_DIR "/testdata/stories260K/stories260K.bin");
  std::vector<TensorJob> jobs;
  for (const TensorView& view : model->tensors()) jobs.push_back(TensorJob{&view, find_type_traits("f32"), {}});
  const QuantMethod doubling{"doubling", "", false, doubling_rewrite, nullptr};
  const MethodChoice method{"doubling", &doubling, &all_quant_methods()[0], false};
  layers_seen.clear();
  size_t done = 0;
  const RewrittenModel result = rewrite_and_quantize(*model, jobs, method, CalibStats{}, {}, [&](size_t) { ++done; });
  EXPECT_EQ(layers_seen, (std::vector<int64_t>{-1, 0, 1, 2, 3, 4}));
  EXPECT_EQ(done, jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    const std::vector<float> source = tensor_to_float(jobs[i]);
    const float factor = jobs[i].source->name.ends_with("norm.weight") ? 2.0f : 1.0f;
    ASSERT_EQ(result.outputs[i].bytes.size(), source.size() * sizeof(float));
    const auto* written = reinterpret_cast<const float*>(result.outputs[i].bytes.data());
    EXPECT_EQ(written[0], factor * source[0]) << jobs[i].source->name;
  }
  ASSERT_EQ(result.added.size(), 6u);
  EXPECT_EQ(result.added[0].name, "extra.-1");
  EXPECT_EQ(result.added[5].values, (std::vector<float>{1.0f, 4.0f}));

  const QuantMethod reshaping{"reshaping", "", false, reshaping_rewrite, nullptr};
  const MethodChoice bad{"reshaping", &reshaping, &all_quant_methods()[0], false};
  EXPECT_THROW(rewrite_and_quantize(*model, jobs, bad, CalibStats{}, {}, {}), Error);
}

}  // namespace test_quant_method
}  // namespace lowbit
