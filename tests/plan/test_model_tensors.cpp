// The planner's tensor list and parameter counts against the tensors of real model files, and the
// configuration sources it reads (named shapes, config.json, folders, model files) with their errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/model_file.h"
#include "plan/model_source.h"
#include "plan/model_tensors.h"

namespace lowbit {
namespace test_model_tensors {

const std::string kTestdata = LOWBIT_SOURCE_DIR "/testdata";

// A file in a fresh temporary folder, removed with the fixture.
class TempDir {
 public:
  TempDir() : path_(std::filesystem::temp_directory_path() / fmt::format("lowbit_plan_test_{}", ::getpid())) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = (path_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::string llama_7b_config() {
  return R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 11008,
             "num_hidden_layers": 32, "num_attention_heads": 32, "vocab_size": 32000,
             "max_position_embeddings": 2048})";
}

// Every tensor of the file, by name, with its shape, is exactly what model_tensors derives from the config.
void expect_same_tensors(const std::string& path) {
  SCOPED_TRACE(path);
  const std::unique_ptr<ModelFile> file = open_model(path);
  std::map<std::string, std::vector<int64_t>> actual;
  int64_t actual_parameters = 0;
  for (const TensorView& view : file->tensors()) {
    actual[view.name] = view.shape;
    actual_parameters += view.elements();
  }
  const std::vector<TensorTypeRequest> derived = model_tensors(file->config());
  std::map<std::string, std::vector<int64_t>> expected;
  for (const TensorTypeRequest& tensor : derived) expected[tensor.name] = tensor.shape;
  EXPECT_EQ(expected, actual);
  EXPECT_EQ(count_parameters(derived).total, actual_parameters);
}

TEST(ModelTensors, MatchTheBundledModels) {
  expect_same_tensors(kTestdata + "/stories260K/stories260K.bin");
  expect_same_tensors(kTestdata + "/stories260K/stories260K.gguf");
  expect_same_tensors(kTestdata + "/tinystories-656K");
}

TEST(ModelTensors, Stories260KComponents) {
  // dim 64, hidden 172, 5 layers, 8 heads, 4 KV heads (head_dim 8), vocab 512, output tied to the embedding.
  const ParameterCounts counts = count_parameters(model_tensors(load_plan_model(kTestdata + "/stories260K/stories260K.bin").config));
  EXPECT_EQ(counts[Component::embeddings], 512 * 64);
  EXPECT_EQ(counts[Component::output], 0);
  EXPECT_EQ(counts[Component::attention], 5 * (64 * 64 + 2 * 32 * 64 + 64 * 64));
  EXPECT_EQ(counts[Component::feed_forward], 5 * 3 * 64 * 172);
  EXPECT_EQ(counts[Component::norms], (2 * 5 + 1) * 64);
  EXPECT_EQ(counts.total, 512 * 64 + 5 * (64 * 64 + 2 * 32 * 64 + 64 * 64) + 5 * 3 * 64 * 172 + 11 * 64);
}

TEST(ModelTensors, TiedEmbeddingsHaveNoOutputMatrix) {
  const ModelConfig config = load_plan_model(kTestdata + "/tinystories-656K").config;
  ASSERT_TRUE(config.tied_embeddings);
  const ParameterCounts counts = count_parameters(model_tensors(config));
  EXPECT_EQ(counts[Component::output], 0);
  EXPECT_EQ(counts[Component::embeddings], 2048 * 128);
}

TEST(ModelTensors, QkvBiasesCountAsAttention) {
  ModelConfig config = load_plan_model("llama-7b").config;
  const int64_t without = count_parameters(model_tensors(config))[Component::attention];
  config.qkv_bias = true;
  EXPECT_EQ(count_parameters(model_tensors(config))[Component::attention], without + 32 * 3 * 4096);
}

TEST(PlanModel, Llama7BConfigJsonGives6_74BParameters) {
  const TempDir dir;
  const PlanModel model = load_plan_model(dir.write("config.json", llama_7b_config()));
  EXPECT_EQ(model.kind, "config.json");
  const ParameterCounts counts = count_parameters(model_tensors(model.config));
  EXPECT_EQ(counts[Component::embeddings], 32000LL * 4096);
  EXPECT_EQ(counts[Component::attention], 32LL * 4 * 4096 * 4096);
  EXPECT_EQ(counts[Component::feed_forward], 32LL * 3 * 4096 * 11008);
  EXPECT_EQ(counts[Component::norms], 65LL * 4096);
  EXPECT_EQ(counts[Component::output], 32000LL * 4096);
  EXPECT_EQ(counts.total, 6738415616LL);
  EXPECT_NEAR(static_cast<double>(counts.total) / 1e9, 6.74, 0.005);
  // The same from the folder holding it (no weights there), and from the named shape.
  EXPECT_EQ(count_parameters(model_tensors(load_plan_model(dir.path()).config)).total, counts.total);
  EXPECT_EQ(count_parameters(model_tensors(load_plan_model("llama-7b").config)).total, counts.total);
}

TEST(PlanModel, NamedShapesHaveTheirPublishedSizes) {
  const std::map<std::string, double> billions = {{"llama-13b", 13.02}, {"llama-70b", 68.98}, {"tinyllama-1.1b", 1.10},
                                                  {"llama3-8b", 8.03}, {"mistral-7b", 7.24}};
  for (const auto& [name, expected] : billions) {
    const double total = static_cast<double>(count_parameters(model_tensors(load_plan_model(name).config)).total);
    EXPECT_NEAR(total / 1e9, expected, 0.005) << name;
  }
}

void expect_error_naming(const std::string& spec, const std::string& problem) {
  try {
    load_plan_model(spec);
    ADD_FAILURE() << spec << " loaded";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(spec), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
}

TEST(PlanModel, BadConfigsNameTheFileAndTheProblem) {
  const TempDir dir;
  expect_error_naming(dir.write("missing.json", R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64})"),
                      "intermediate_size is missing");
  std::string negative = llama_7b_config();
  negative.replace(negative.find("\"vocab_size\": 32000"), 19, "\"vocab_size\": -5");
  expect_error_naming(dir.write("negative.json", negative), "vocab_size is -5");
  std::string zero_layers = llama_7b_config();
  zero_layers.replace(zero_layers.find("\"num_hidden_layers\": 32"), 23, "\"num_hidden_layers\": 0");
  expect_error_naming(dir.write("zero_layers.json", zero_layers), "num_hidden_layers is 0");
  std::string gpt2 = llama_7b_config();
  gpt2.replace(gpt2.find("LlamaForCausalLM"), 16, "GPT2LMHeadModel");
  expect_error_naming(dir.write("gpt2.json", gpt2), "unsupported architecture GPT2LMHeadModel");
  expect_error_naming(dir.write("broken.json", "{"), "not valid JSON");
  expect_error_naming(dir.path() + "/absent.json", "cannot open");
  expect_error_naming("llama-9000b", "no such file, folder or named shape");
}

TEST(PlanModel, CheckRejectsNonPositiveDimensions) {
  ModelConfig config = load_plan_model("tinyllama-1.1b").config;
  config.hidden_dim = 0;
  EXPECT_THROW(check_plan_config(config, "x.gguf"), Error);
  try {
    check_plan_config(config, "x.gguf");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "x.gguf: hidden_dim is 0, expected a positive number");
  }
  config.hidden_dim = 5632;
  config.n_kv_heads = 5;
  EXPECT_THROW(check_plan_config(config, "x.gguf"), Error);
}

}  // namespace test_model_tensors
}  // namespace lowbit
