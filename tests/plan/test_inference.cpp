// KV cache, activation buffers, FLOPs and the roofline against hand counts.
#include <gtest/gtest.h>

#include "core/error.h"
#include "plan/inference.h"
#include "plan/model_source.h"

namespace lowbit {
namespace test_inference {

// dim 4, FFN 8, one layer, 2 heads of 2, one KV head, vocabulary 10.
ModelConfig tiny_config() {
  ModelConfig c;
  c.dim = 4;
  c.hidden_dim = 8;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.head_dim = 2;
  c.vocab_size = 10;
  return c;
}

TEST(Flops, TinyConfigByHand) {
  const FlopCounts flops = flops_per_token(tiny_config(), 3);
  // Multiply-adds per token: q 4x4, k 2x4, v 2x4, o 4x4, gate/up/down 3 x 8x4, output 10x4.
  EXPECT_DOUBLE_EQ(flops.output, 2.0 * 40);
  EXPECT_DOUBLE_EQ(flops.matmul, 2.0 * (16 + 8 + 8 + 16 + 96 + 40));
  // At position 3: 2 heads x (q.k over 3 positions + weighted sum of 3 v rows), 2 elements each.
  EXPECT_DOUBLE_EQ(flops.attention, 2.0 * 2 * (3 * 2 + 3 * 2));
  EXPECT_DOUBLE_EQ(flops.decode_per_token(), 368.0 + 48.0);
  // A prompt of 3 tokens attends to 1 + 2 + 3 positions.
  EXPECT_DOUBLE_EQ(flops.prefill_total, 3 * 368.0 + 2.0 * 2 * (6 * 2 + 6 * 2));
  EXPECT_DOUBLE_EQ(flops.prefill_per_token, flops.prefill_total / 3);
}

TEST(Flops, Llama7BIsTwicePerParameterPlusAttention) {
  const ModelConfig config = load_plan_model("llama-7b").config;
  const FlopCounts flops = flops_per_token(config, 0);
  // Every parameter but the embedding table and the norms is one multiply-add per token.
  EXPECT_DOUBLE_EQ(flops.matmul, 2.0 * (6738415616.0 - 32000.0 * 4096 - 65 * 4096));
  EXPECT_DOUBLE_EQ(flops.attention, 0.0);
}

TEST(InferenceMemory, KvCacheOfLlama7B) {
  const ModelConfig config = load_plan_model("llama-7b").config;
  // 2 (K, V) x 32 layers x 4096 positions x 4096 values x 2 bytes = 2 GiB, doubling with the batch.
  EXPECT_EQ(kv_cache_bytes(config, {4096, 1, TensorType::F16}), uint64_t{2} << 30);
  EXPECT_EQ(kv_cache_bytes(config, {4096, 2, TensorType::F16}), uint64_t{4} << 30);
  EXPECT_EQ(kv_cache_bytes(config, {4096, 1, TensorType::F32}), uint64_t{4} << 30);
  // q8_0: 34 bytes per 32 values.
  EXPECT_EQ(kv_cache_bytes(config, {4096, 1, TensorType::Q8_0}), uint64_t{2} * 32 * 4096 * (4096 / 32) * 34);
}

TEST(InferenceMemory, KvTypeMustHoldARowInWholeBlocks) {
  // A KV row of the tiny config holds 2 values: not a q4_K block of 256.
  EXPECT_THROW(kv_cache_bytes(tiny_config(), {8, 1, TensorType::Q4_K}), Error);
}

TEST(InferenceMemory, ActivationBuffersByHand) {
  // 3 x dim, q/k/v 2+1+1 heads of 2, scores 2 heads x 5 positions, 2 x FFN, logits: in FP32, per sequence.
  const uint64_t per_sequence = (3 * 4 + 4 * 2 + 2 * 5 + 2 * 8 + 10) * 4;
  EXPECT_EQ(activation_bytes(tiny_config(), {5, 1, TensorType::F16}), per_sequence);
  EXPECT_EQ(activation_bytes(tiny_config(), {5, 3, TensorType::F16}), 3 * per_sequence);
  const InferenceMemory memory = inference_memory(tiny_config(), {5, 1, TensorType::F32}, 1000);
  EXPECT_EQ(memory.total(), 1000 + 2 * 5 * 2 * 4 + per_sequence);
}

TEST(Roofline, BandwidthOverBytesPerStep) {
  InferenceMemory memory;
  memory.weights = 4'000'000'000;
  memory.kv_cache = 1'000'000'000;
  memory.activations = 123;  // written, not streamed: not part of a step's reads
  EXPECT_EQ(decode_bytes_per_step(memory), 5'000'000'000u);
  EXPECT_DOUBLE_EQ(roofline_decode_tokens_per_s(memory, 1, 100e9), 20.0);
  EXPECT_DOUBLE_EQ(roofline_decode_tokens_per_s(memory, 4, 100e9), 80.0);
}

}  // namespace test_inference
}  // namespace lowbit
