// Loading a model converts the matrices this CPU's kernels read faster in another layout (kernel_layout,
// ModelFile::relayout_loaded_weights): Q4_0 becomes lb_q4_0x16 where its decode kernel runs, with the same
// values, and the engine gives the same logits as on the file's own layout.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/type_traits.h"
#include "kernels/gemv_kernels.h"
#include "kernels/matmul.h"
#include "model/transformer.h"
#include "tiny_model.h"

namespace lowbit {
namespace {

using testing::TinyModel;

// Rows of whole lb_q4_0x16 blocks in every matrix but the attention output (q_dim 384) and the FFN's
// down projection (hidden 1280 = 2.5 blocks), which keep Q4_0.
ModelConfig blocks_config() {
  ModelConfig c = testing::tiny_config();
  c.dim = 512;
  c.hidden_dim = 1280;
  c.n_heads = 6;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.vocab_size = 300;
  c.context_length = 16;
  return c;
}

bool converts_here() { return find_gemv_kernel(kQ4_0x16Type, active_cpu_level()) != nullptr; }

std::vector<float> values_of(const TensorView& t) {
  std::vector<float> values(static_cast<size_t>(t.elements()));
  type_traits(t.type).to_float(t.data, values.data(), t.elements());
  return values;
}

TEST(KernelLayout, ChoosesLbQ4_0x16ForQ4_0RowsOfWholeBlocksWhereItsKernelRuns) {
  TensorView weight{"w", TensorType::Q4_0, {8, 1024}, nullptr, 0};
  EXPECT_EQ(kernel_layout(weight), converts_here() ? &kQ4_0ToQ4_0x16 : nullptr);
  weight.shape = {8, 1536 - 32};
  EXPECT_EQ(kernel_layout(weight), nullptr);
  weight.shape = {1024};
  EXPECT_EQ(kernel_layout(weight), nullptr);
  weight.shape = {8, 1024};
  weight.type = TensorType::Q8_0;
  EXPECT_EQ(kernel_layout(weight), nullptr);
}

TEST(KernelLayout, LoadedModelKeepsItsValuesAndLogits) {
  TinyModel file_layout(blocks_config(), 3, TensorType::Q4_0);
  TinyModel loaded(blocks_config(), 3, TensorType::Q4_0);
  ASSERT_TRUE(loaded.load_weights_into_memory());
  loaded.relayout_loaded_weights(kernel_layout);

  int converted = 0;
  for (const TensorView& t : loaded.tensors()) {
    SCOPED_TRACE(t.name);
    const TensorView& original = *std::find_if(file_layout.tensors().begin(), file_layout.tensors().end(),
                                               [&](const TensorView& other) { return other.name == t.name; });
    const bool whole_blocks = original.type == TensorType::Q4_0 && original.cols() % kQ4_0x16Block == 0;
    EXPECT_EQ(t.type, whole_blocks && converts_here() ? kQ4_0x16Type : original.type);
    converted += t.type == kQ4_0x16Type;
    EXPECT_EQ(t.bytes, original.bytes);
    EXPECT_EQ(values_of(t), values_of(original));
  }
  if (!converts_here()) GTEST_SKIP() << "no lb_q4_0x16 decode kernel at this CPU level";
  EXPECT_EQ(converted, 2 + 2 * 5);  // embeddings, output; per layer q, k, v, gate, up

  // Prefill (the GEMM and the token-group dots) and decode (the gemv kernel) on both layouts: the same
  // integer block sums, summed in another order.
  const std::vector<int32_t> prompt = {1, 17, 250, 42, 7, 99};
  Transformer expected(file_layout), actual(loaded);
  const auto expect_close = [](std::span<const float> got, std::span<const float> want) {
    float scale = 0.0f;
    for (float v : want) scale = std::max(scale, std::fabs(v));
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4f * scale) << i;
  };
  const std::vector<float> want = [&] {
    const std::span<const float> logits = expected.forward(prompt, LogitsFor::kAllTokens);
    return std::vector<float>(logits.begin(), logits.end());
  }();
  expect_close(actual.forward(prompt, LogitsFor::kAllTokens), want);
  for (int32_t token : {5, 123, 280}) {
    const std::span<const float> step = expected.forward(std::span(&token, 1));
    expect_close(actual.forward(std::span(&token, 1)), std::vector<float>(step.begin(), step.end()));
  }
}

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

}  // namespace
}  // namespace lowbit
