// Loading a model converts the matrices this CPU's kernels read faster in another layout (kernel_layout,
// ModelFile::relayout_loaded_weights): Q4_0, Q4_K and Q8_0 become lb_q4_0x16, lb_q4_kx2 and lb_q8_0x16
// where their decode kernels run, with the same values, and the engine gives the same logits as on the
// file's own layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "formats/type_traits.h"
#include "kernels/gemv_kernels.h"
#include "kernels/matmul.h"
#include "model/transformer.h"
#include "tiny_model.h"

namespace lowbit {
namespace test_kernel_layout {

using testing::TinyModel;

// Rows of whole 512-element blocks in every matrix but the FFN's down projection (hidden 1280 = 2.5
// blocks, five Q4_K super-blocks), which keeps the file's type.
ModelConfig blocks_config() {
  ModelConfig c = testing::tiny_config();
  c.dim = 512;
  c.hidden_dim = 1280;
  c.n_layers = 1;
  c.n_heads = 8;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.vocab_size = 300;
  c.context_length = 16;
  return c;
}

const LayoutConversion* conversion_from(TensorType type) {
  switch (type) {
    case TensorType::Q4_0: return &kQ4_0ToQ4_0x16;
    case TensorType::Q8_0: return &kQ8_0ToQ8_0x16;
    default: return &kQ4_KToQ4_Kx2;
  }
}

bool converts_here(TensorType type) {
  return find_gemv_kernel(conversion_from(type)->to, active_cpu_level()) != nullptr;
}

std::vector<float> values_of(const TensorView& t) {
  std::vector<float> values(static_cast<size_t>(t.elements()));
  type_traits(t.type).to_float(t.data, values.data(), t.elements());
  return values;
}

TEST(KernelLayout, ChoosesTheInterleavedLayoutForRowsOfWholeBlocksWhereItsKernelRuns) {
  for (TensorType type : {TensorType::Q4_0, TensorType::Q4_K, TensorType::Q8_0}) {
    SCOPED_TRACE(type_traits(type).name);
    TensorView weight{"w", type, {8, 1024}, nullptr, 0};
    EXPECT_EQ(kernel_layout(weight), converts_here(type) ? conversion_from(type) : nullptr);
    weight.shape = {8, 1536 - 256};
    EXPECT_EQ(kernel_layout(weight), nullptr);
    weight.shape = {1024};
    EXPECT_EQ(kernel_layout(weight), nullptr);
  }
  EXPECT_EQ(kernel_layout(TensorView{"w", TensorType::Q5_0, {8, 1024}, nullptr, 0}), nullptr);
}

class KernelLayoutModel : public ::testing::TestWithParam<TensorType> {};

TEST_P(KernelLayoutModel, LoadedModelKeepsItsValuesAndLogits) {
  const TensorType type = GetParam();
  TinyModel file_layout(blocks_config(), 3, type);
  TinyModel loaded(blocks_config(), 3, type);
  ASSERT_TRUE(loaded.load_weights_into_memory());
  loaded.relayout_loaded_weights(kernel_layout);

  const TensorType layout = conversion_from(type)->to;
  int converted = 0;
  for (const TensorView& t : loaded.tensors()) {
    SCOPED_TRACE(t.name);
    const TensorView& original = *std::find_if(file_layout.tensors().begin(), file_layout.tensors().end(),
                                               [&](const TensorView& other) { return other.name == t.name; });
    const bool whole_blocks = original.type == type && original.cols() % 512 == 0;
    EXPECT_EQ(t.type, whole_blocks && converts_here(type) ? layout : original.type);
    converted += t.type == layout;
    EXPECT_EQ(t.bytes, original.bytes);
    EXPECT_EQ(values_of(t), values_of(original));
  }
  if (!converts_here(type)) GTEST_SKIP() << "no decode kernel for the layout at this CPU level";
  EXPECT_EQ(converted, 2 + 6);  // embeddings, output; q, k, v, output, gate, up

  // Prefill (the token-group dots) and decode (the gemv kernels) on both layouts: the same integer block
  // sums, summed in another order. That moves the next layer's inputs by float rounding, which now and
  // then moves one of its 8-bit activation codes by one (seen: 6.5e-4 of the largest logit after three
  // decode steps); a wrong layout or kernel is off by far more.
  const std::vector<int32_t> prompt = {1, 17, 250, 42, 7, 99};
  Transformer expected(file_layout), actual(loaded);
  const auto expect_close = [](std::span<const float> got, std::span<const float> want) {
    float scale = 0.0f;
    for (float v : want) scale = std::max(scale, std::fabs(v));
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 3e-3f * scale) << i;
  };
  const std::vector<float> want = [&] {
    const std::span<const float> logits = expected.forward(prompt, LogitsFor::kAllTokens);
    return std::vector<float>(logits.begin(), logits.end());
  }();
  {
    SCOPED_TRACE("prefill");
    expect_close(actual.forward(prompt, LogitsFor::kAllTokens), want);
  }
  for (int32_t token : {5, 123, 280}) {
    SCOPED_TRACE(token);
    const std::span<const float> step = expected.forward(std::span(&token, 1));
    expect_close(actual.forward(std::span(&token, 1)), std::vector<float>(step.begin(), step.end()));
  }
}

INSTANTIATE_TEST_SUITE_P(Types, KernelLayoutModel, ::testing::Values(TensorType::Q4_0, TensorType::Q4_K, TensorType::Q8_0),
                         [](const auto& info) { return std::string(type_traits(info.param).name); });

TEST(KernelLayout, RelayoutNeedsLoadedWeightsAndAMatchingType) {
  TinyModel model(blocks_config(), 3, TensorType::Q4_0);
  int asked = 0;
  model.relayout_loaded_weights([&](const TensorView&) {
    ++asked;
    return &kQ4_0ToQ4_0x16;
  });
  EXPECT_EQ(asked, 0);  // the weights are not in the model's own memory yet
  ASSERT_TRUE(model.load_weights_into_memory());
  try {
    model.relayout_loaded_weights([](const TensorView&) { return &kQ4_0ToQ4_0x16; });  // F32 norms too
    FAIL() << "expected lowbit::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tiny-test-model"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot convert f32 to lb_q4_0x16"), std::string::npos) << e.what();
  }
}

}  // namespace test_kernel_layout
}  // namespace lowbit
