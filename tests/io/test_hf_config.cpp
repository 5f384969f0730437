#include <gtest/gtest.h>

#include "core/error.h"
#include "io/hf_config.h"

namespace lowbit {
namespace test_hf_config {

void expect_error(const std::string& json, const std::string& fragment) {
  try {
    parse_hf_config(json, "config.json");
    ADD_FAILURE() << "parsed without error; expected: " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
}

// The smallest config naming `architecture`; `extra` adds fields (starting with a comma).
std::string config(const std::string& architecture, const std::string& extra = "") {
  return R"({"architectures": [")" + architecture +
         R"("], "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,)"
         R"( "num_attention_heads": 4, "vocab_size": 100, "max_position_embeddings": 256)" +
         extra + "}";
}

TEST(HfConfig, ReadsTinyStories656K) {
  const ModelConfig c = read_hf_config(LOWBIT_SOURCE_DIR "/testdata/tinystories-656K");
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.dim, 128);
  EXPECT_EQ(c.hidden_dim, 384);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.vocab_size, 2048);
  EXPECT_EQ(c.context_length, 512);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
  EXPECT_EQ(c.rope_style, RopeStyle::kRotateHalf);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_FALSE(c.qkv_bias);
}

TEST(HfConfig, AppliesDefaultsAndArchitectures) {
  const ModelConfig llama = parse_hf_config(config("LlamaForCausalLM"), "config.json");
  EXPECT_EQ(llama.n_kv_heads, 4);
  EXPECT_EQ(llama.head_dim, 16);
  EXPECT_FALSE(llama.tied_embeddings);
  EXPECT_FLOAT_EQ(llama.norm_eps, 1e-6f);

  const ModelConfig qwen = parse_hf_config(config("Qwen2ForCausalLM", R"(, "rope_theta": 1000000.0, "num_key_value_heads": 2, "tie_word_embeddings": true)"), "config.json");
  EXPECT_EQ(qwen.architecture, "qwen2");
  EXPECT_TRUE(qwen.qkv_bias);
  EXPECT_EQ(qwen.n_kv_heads, 2);
  EXPECT_FLOAT_EQ(qwen.rope_theta, 1e6f);
  EXPECT_TRUE(qwen.tied_embeddings);

  const ModelConfig mistral = parse_hf_config(config("MistralForCausalLM", R"(, "head_dim": 32, "num_key_value_heads": null)"), "config.json");
  EXPECT_EQ(mistral.architecture, "mistral");
  EXPECT_EQ(mistral.head_dim, 32);
  EXPECT_EQ(mistral.n_kv_heads, 4);
}

TEST(HfConfig, RejectsUnsupportedOrInconsistentConfigs) {
  expect_error("{", "not valid JSON");
  expect_error("[]", "not a JSON object");
  expect_error(config("GPT2LMHeadModel"), "unsupported architecture GPT2LMHeadModel");
  expect_error(R"({"hidden_size": 64})", "architectures");
  expect_error(config("LlamaForCausalLM", R"(, "hidden_act": "gelu")"), "hidden_act");
  expect_error(config("LlamaForCausalLM", R"(, "attention_bias": true)"), "attention_bias");
  expect_error(config("LlamaForCausalLM", R"(, "num_key_value_heads": 3)"), "num_key_value_heads 3");
  expect_error(config("LlamaForCausalLM", R"(, "rms_norm_eps": -1)"), "rms_norm_eps");
  expect_error(config("LlamaForCausalLM", R"(, "head_dim": 15)"), "odd");
  expect_error(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64})", "intermediate_size is missing");
  expect_error(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": "64"})", "hidden_size");
  EXPECT_THROW(read_hf_config("/nonexistent"), Error);
}

}  // namespace test_hf_config
}  // namespace lowbit
