#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "gguf_bytes.h"
#include "io/model_file.h"
#include "io/model_loaders.h"

namespace lowbit {
namespace test_model_file {

namespace fs = std::filesystem;
using testing::GgufBytes;

const std::string kStories = LOWBIT_SOURCE_DIR "/testdata/stories260K";
const std::string kTinyStories = LOWBIT_SOURCE_DIR "/testdata/tinystories-656K";

// A scratch folder per test, removed afterwards.
class ModelFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / (std::string("lowbit_model_file_") + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path.string();
  }
  std::string write(const std::string& name, const std::string& text) { return write(name, std::vector<uint8_t>(text.begin(), text.end())); }

  fs::path dir_;
};

void expect_error(const std::string& path, const std::vector<std::string>& fragments, const std::string& tokenizer = "") {
  try {
    open_model(path, tokenizer);
    ADD_FAILURE() << "opened without error; expected: " << fragments.front();
  } catch (const Error& e) {
    for (const std::string& fragment : fragments) EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// A tiny llama GGUF: dim 8, hidden 16, 1 layer, 2 heads, 1 KV head, vocab 10, all F32 zeros.
// `skip` leaves one tensor out; `wrong` gives one tensor an extra row; `arch` names the architecture.
std::vector<uint8_t> tiny_gguf(const std::string& skip = "", const std::string& wrong = "", const std::string& arch = "llama") {
  const std::vector<std::pair<std::string, std::vector<uint64_t>>> tensors = {  // ne, innermost-first
      {"token_embd.weight", {8, 10}},        {"output_norm.weight", {8}},       {"blk.0.attn_norm.weight", {8}},
      {"blk.0.attn_q.weight", {8, 8}},       {"blk.0.attn_k.weight", {8, 4}},   {"blk.0.attn_v.weight", {8, 4}},
      {"blk.0.attn_output.weight", {8, 8}},  {"blk.0.ffn_norm.weight", {8}},    {"blk.0.ffn_gate.weight", {8, 16}},
      {"blk.0.ffn_up.weight", {8, 16}},      {"blk.0.ffn_down.weight", {16, 8}}};
  GgufBytes file;
  file.header(3, tensors.size() - (skip.empty() ? 0 : 1), 8).kv_string("general.architecture", arch);
  for (const auto& [key, value] : std::vector<std::pair<std::string, uint32_t>>{
           {"embedding_length", 8}, {"feed_forward_length", 16}, {"block_count", 1}, {"attention.head_count", 2},
           {"attention.head_count_kv", 1}, {"context_length", 32}, {"rope.dimension_count", 4}}) {
    file.kv_u32(arch + "." + key, value);
  }
  uint64_t offset = 0;
  for (auto [name, ne] : tensors) {
    if (name == skip) continue;
    if (name == wrong) ne.back() += 1;
    file.tensor_info(name, ne, 0, offset);
    uint64_t bytes = 4;
    for (uint64_t d : ne) bytes *= d;
    offset += (bytes + 31) / 32 * 32;
  }
  file.pad_to(32).zeros(offset);
  return file.bytes;
}

TEST_F(ModelFileTest, OpensStories260KGguf) {
  const auto model = open_model(kStories + "/stories260K.gguf");
  EXPECT_EQ(model->format(), "gguf");
  const ModelConfig& c = model->config();
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.context_length, 2048);
  EXPECT_FLOAT_EQ(c.norm_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
  EXPECT_EQ(c.rope_style, RopeStyle::kInterleaved);
  EXPECT_FALSE(c.tied_embeddings);  // the file stores output.weight explicitly
  EXPECT_EQ(model->tensors().size(), 48u);
  EXPECT_EQ(model->tensor("output.weight").shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(model->vocab().tokens.size(), 512u);
  EXPECT_THROW(model->tensor("no.such.tensor"), Error);
}

TEST_F(ModelFileTest, OpensStories260KCheckpointWithTheTokenizerBesideIt) {
  const auto model = open_model(kStories + "/stories260K.bin");
  EXPECT_EQ(model->format(), "llama2c");
  EXPECT_EQ(model->config().context_length, 512);
  EXPECT_TRUE(model->config().tied_embeddings);
  EXPECT_EQ(model->find_tensor("output.weight"), nullptr);
  EXPECT_EQ(model->tensors().size(), 47u);
  EXPECT_EQ(model->vocab().tokens.size(), 512u);  // tok512.bin

  // Same weights as the GGUF conversion.
  const auto gguf = open_model(kStories + "/stories260K.gguf");
  for (const TensorView& view : model->tensors()) {
    const TensorView& twin = gguf->tensor(view.name);
    ASSERT_EQ(view.bytes, twin.bytes) << view.name;
    EXPECT_EQ(std::memcmp(view.data, twin.data, view.bytes), 0) << view.name;
  }
}

TEST_F(ModelFileTest, UsesAnExplicitTokenizerAndOpensACheckpointWithoutOne) {
  const std::string bin = kStories + "/stories260K.bin";
  EXPECT_EQ(open_model(bin, kStories + "/tok512.bin")->vocab().tokens.size(), 512u);
  fs::copy_file(bin, dir_ / "model.bin");
  EXPECT_TRUE(open_model((dir_ / "model.bin").string())->vocab().tokens.empty());
  expect_error(kStories + "/stories260K.gguf", {"only used with llama2.c"}, kStories + "/tok512.bin");
}

// Every tensor keeps its bytes and lands 64-byte aligned; the model reads the same after.
void expect_weights_loaded_unchanged(ModelFile& model) {
  std::vector<std::vector<uint8_t>> before;
  for (const TensorView& t : model.tensors()) {
    const auto* data = static_cast<const uint8_t*>(t.data);
    before.emplace_back(data, data + t.bytes);
  }
  const void* first_before = model.tensors().front().data;
  model.load_weights_into_memory();
  EXPECT_NE(model.tensors().front().data, first_before);
  for (size_t i = 0; i < model.tensors().size(); ++i) {
    const TensorView& t = model.tensors()[i];
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 64, 0u) << t.name;
    ASSERT_EQ(std::memcmp(t.data, before[i].data(), t.bytes), 0) << t.name;
    EXPECT_EQ(model.find_tensor(t.name), &t);
  }
}

TEST_F(ModelFileTest, LoadsWeightsIntoMemoryWithTheirBytes) {
  const auto gguf = open_model(kStories + "/stories260K.gguf");
  expect_weights_loaded_unchanged(*gguf);
  const auto checkpoint = open_model(kStories + "/stories260K.bin");
  expect_weights_loaded_unchanged(*checkpoint);
  const auto folder = open_model(kTinyStories);
  expect_weights_loaded_unchanged(*folder);
}

TEST_F(ModelFileTest, LoadingWeightsFromAFileCutShortNamesTheFileAndTensor) {
  const fs::path path = dir_ / "cut.gguf";
  fs::copy_file(kStories + "/stories260K.gguf", path);
  const auto model = open_model(path.string());
  fs::resize_file(path, fs::file_size(path) / 2);  // the map stays; reading past the new end fails
  try {
    model->load_weights_into_memory();
    FAIL() << "expected lowbit::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("the file ends early"), std::string::npos) << e.what();
  }
}

TEST_F(ModelFileTest, OpensTinyStories656KFolder) {
  const auto model = open_model(kTinyStories);
  EXPECT_EQ(model->format(), "huggingface");
  const ModelConfig& c = model->config();
  EXPECT_EQ(c.dim, 128);
  EXPECT_EQ(c.vocab_size, 2048);
  EXPECT_EQ(c.rope_style, RopeStyle::kRotateHalf);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(model->tensors().size(), 2u + 9u * 2u);
  EXPECT_EQ(model->find_tensor("output.weight"), nullptr);
  EXPECT_EQ(model->tensor("token_embd.weight").shape, (std::vector<int64_t>{2048, 128}));
  EXPECT_EQ(model->tensor("blk.1.attn_k.weight").shape, (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(model->tensor("blk.0.ffn_down.weight").shape, (std::vector<int64_t>{128, 384}));
  EXPECT_FALSE(model->vocab().tokens.empty());

  // token_embd.weight is the stored lm_head.weight, used in place: its first value is the file's.
  const MappedFile file(kTinyStories + "/model.safetensors");
  const auto* data = static_cast<const uint8_t*>(model->tensor("token_embd.weight").data);
  EXPECT_GE(data, file.data());
  EXPECT_EQ(model->tensor("token_embd.weight").bytes, 2048u * 128u * 4u);
}

TEST_F(ModelFileTest, OpensTinyGgufAndChecksEveryTensor) {
  const auto model = open_model(write("tiny.gguf", tiny_gguf()));
  EXPECT_EQ(model->config().vocab_size, 10);
  EXPECT_TRUE(model->config().tied_embeddings);
  EXPECT_TRUE(model->vocab().tokens.empty());  // no tokenizer.ggml.* keys

  expect_error(write("missing.gguf", tiny_gguf("blk.0.attn_v.weight")), {"missing.gguf", "blk.0.attn_v.weight is missing"});
  expect_error(write("wrong.gguf", tiny_gguf("", "blk.0.ffn_up.weight")), {"wrong.gguf", "blk.0.ffn_up.weight has shape [17, 8]", "[16, 8]"});
  expect_error(write("gpt2.gguf", tiny_gguf("", "", "gpt2")), {"gpt2.gguf", "unsupported architecture gpt2"});
  expect_error(write("qwen2.gguf", tiny_gguf("", "", "qwen2")), {"blk.0.attn_q.bias is missing"});
}

TEST_F(ModelFileTest, CopiesMisalignedTensorData) {
  alignas(16) const uint8_t bytes[20] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  LoadedModel model("test", "gguf");
  model.add_tensor({"aligned", TensorType::F32, {4}, bytes, 16});
  model.add_tensor({"misaligned", TensorType::F32, {4}, bytes + 1, 16});
  EXPECT_EQ(model.tensor("aligned").data, bytes);  // used in place
  const TensorView& copied = model.tensor("misaligned");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copied.data) % 8, 0u);
  EXPECT_EQ(std::memcmp(copied.data, bytes + 1, 16), 0);
  EXPECT_THROW(model.add_tensor({"aligned", TensorType::F32, {4}, bytes, 16}), Error);
}

TEST_F(ModelFileTest, RejectsBadFiles) {
  expect_error("/nonexistent/model.bin", {"/nonexistent/model.bin"});
  expect_error(write("short.bin", std::string("abc")), {"short.bin"});
  expect_error(write("notgguf.gguf", std::string("GGUF")), {"notgguf.gguf"});
  expect_error(dir_.string(), {"config.json", "cannot open"});
}

// A Hugging Face folder with one layer, dim 8, hidden 16, 2 heads, 1 KV head, vocab 10, zero weights.
std::string tiny_safetensors(const std::vector<std::pair<std::string, std::vector<int>>>& tensors) {
  std::string json = "{";
  size_t offset = 0;
  for (const auto& [name, shape] : tensors) {
    size_t bytes = 4;
    std::string dims;
    for (int d : shape) {
      bytes *= static_cast<size_t>(d);
      if (!dims.empty()) dims += ',';
      dims += std::to_string(d);
    }
    json += fmt::format(R"({}"{}": {{"dtype": "F32", "shape": [{}], "data_offsets": [{}, {}]}})", json.size() > 1 ? "," : "",
                        name, dims, offset, offset + bytes);
    offset += bytes;
  }
  json += "}";
  while ((8 + json.size()) % 8 != 0) json += ' ';
  std::string file(8, '\0');
  const uint64_t length = json.size();
  std::memcpy(file.data(), &length, 8);
  return file + json + std::string(offset, '\0');
}

std::vector<std::pair<std::string, std::vector<int>>> tiny_hf_tensors() {
  return {{"model.embed_tokens.weight", {10, 8}},
          {"model.norm.weight", {8}},
          {"model.layers.0.input_layernorm.weight", {8}},
          {"model.layers.0.self_attn.q_proj.weight", {8, 8}},
          {"model.layers.0.self_attn.k_proj.weight", {4, 8}},
          {"model.layers.0.self_attn.v_proj.weight", {4, 8}},
          {"model.layers.0.self_attn.o_proj.weight", {8, 8}},
          {"model.layers.0.post_attention_layernorm.weight", {8}},
          {"model.layers.0.mlp.gate_proj.weight", {16, 8}},
          {"model.layers.0.mlp.up_proj.weight", {16, 8}},
          {"model.layers.0.mlp.down_proj.weight", {8, 16}}};
}

const char* kTinyConfig = R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 8, "intermediate_size": 16,
  "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 10,
  "max_position_embeddings": 32})";

TEST_F(ModelFileTest, OpensShardedAndUntiedHuggingFaceFolders) {
  auto tensors = tiny_hf_tensors();
  write("config.json", std::string(kTinyConfig));
  const auto first = std::vector(tensors.begin(), tensors.begin() + 5);
  auto second = std::vector(tensors.begin() + 5, tensors.end());
  second.push_back({"lm_head.weight", {10, 8}});
  write("model-00001-of-00002.safetensors", tiny_safetensors(first));
  write("model-00002-of-00002.safetensors", tiny_safetensors(second));
  std::string index = R"({"metadata": {}, "weight_map": {)";
  for (size_t i = 0; i < first.size(); ++i) index += fmt::format(R"("{}": "model-00001-of-00002.safetensors",)", first[i].first);
  for (size_t i = 0; i < second.size(); ++i) index += fmt::format(R"({}"{}": "model-00002-of-00002.safetensors")", i ? "," : "", second[i].first);
  write("model.safetensors.index.json", index + "}}");

  const auto model = open_model(dir_.string());
  EXPECT_FALSE(model->config().tied_embeddings);
  EXPECT_EQ(model->tensors().size(), 12u);
  EXPECT_EQ(model->tensor("output.weight").shape, (std::vector<int64_t>{10, 8}));
  EXPECT_EQ(model->tensor("blk.0.attn_output.weight").shape, (std::vector<int64_t>{8, 8}));
  EXPECT_TRUE(model->vocab().tokens.empty());  // no tokenizer files

  second.push_back(first[1]);  // model.norm.weight in both shards
  write("model-00002-of-00002.safetensors", tiny_safetensors(second));
  expect_error(dir_.string(), {"output_norm.weight appears twice"});
}

TEST_F(ModelFileTest, RejectsInconsistentHuggingFaceFolders) {
  write("config.json", std::string(kTinyConfig));
  expect_error(dir_.string(), {"no model.safetensors"});

  auto extra = tiny_hf_tensors();
  extra.push_back({"model.layers.0.self_attn.o_proj.bias", {8}});
  write("model.safetensors", tiny_safetensors(extra));
  expect_error(dir_.string(), {"model.safetensors", "unexpected tensor model.layers.0.self_attn.o_proj.bias"});

  auto wrong = tiny_hf_tensors();
  wrong[4].second = {8, 8};  // k_proj as if there were 2 KV heads
  write("model.safetensors", tiny_safetensors(wrong));
  expect_error(dir_.string(), {"blk.0.attn_k.weight has shape [8, 8]", "[4, 8]"});

  auto missing = tiny_hf_tensors();
  missing.pop_back();
  write("model.safetensors", tiny_safetensors(missing));
  expect_error(dir_.string(), {"blk.0.ffn_down.weight is missing"});
}

}  // namespace test_model_file
}  // namespace lowbit
