// Planned sizes against real quantized files: llama.cpp's own outputs in testdata/ggml and a file the
// quantize library writes in the test; and the generic precisions against a hand count.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/model_file.h"
#include "plan/model_source.h"
#include "plan/model_tensors.h"
#include "plan/storage.h"
#include "quant/quantize_model.h"

namespace lowbit {
namespace test_storage {

const std::string kTestdata = LOWBIT_SOURCE_DIR "/testdata";

// GGUF's metadata (keys, vocabulary, tensor infos, alignment padding) is all a file holds beyond its
// tensor data; for these models (vocabularies of 512 to 2048 tokens, with merges) it stays under this.
constexpr uint64_t kMetadataAllowance = 128 * 1024;

std::vector<StorageOption> options_for(const ModelConfig& config) {
  return storage_options(model_tensors(config), {config.n_layers, config.n_heads, config.n_kv_heads});
}

uint64_t tensor_data_bytes(const ModelFile& file) {
  uint64_t bytes = 0;
  for (const TensorView& view : file.tensors()) bytes += view.bytes;
  return bytes;
}

// The planned size of `precision` is the file's tensor data, byte for byte.
void expect_planned_size_of(const std::string& path, const std::string& precision) {
  SCOPED_TRACE(path);
  const std::unique_ptr<ModelFile> file = open_model(path);
  const std::vector<StorageOption> options = options_for(file->config());
  const StorageOption& option = find_storage_option(options, precision);
  ASSERT_TRUE(option.available()) << option.unavailable;
  EXPECT_EQ(option.bytes, tensor_data_bytes(*file));
  const uint64_t file_bytes = std::filesystem::file_size(path);
  EXPECT_LE(option.bytes, file_bytes);
  EXPECT_LT(file_bytes - option.bytes, kMetadataAllowance);
}

TEST(Storage, NamedMixesMatchLlamaCppFiles) {
  for (const char* mix : {"Q2_K", "Q3_K_M", "Q4_0", "Q4_1", "Q4_K_M", "Q4_K_S", "Q5_0", "Q5_1", "Q5_K_M", "Q6_K", "Q8_0"}) {
    expect_planned_size_of(kTestdata + "/ggml/synth-" + mix + ".gguf", mix);
  }
}

TEST(Storage, UniformTypeKeepsRowsThatAreNotWholeBlocksInF16) {
  // stories260K (llama2.c, tied embedding): ffn_down's rows of 172 are not whole q4_0 blocks of 32.
  const ModelConfig config = load_plan_model(kTestdata + "/stories260K/stories260K.bin").config;
  const std::vector<StorageOption> options = options_for(config);
  const StorageOption& q4_0 = find_storage_option(options, "q4_0");
  EXPECT_EQ(q4_0.kept_f16, 5);
  // Per layer, in bytes: q and o 64 rows x 2 blocks x 18, k and v 32 x 2 x 18, gate and up 172 x 2 x 18,
  // down 64 x 172 x 2 (F16), two F32 norms of 64; then the embedding 512 x 2 x 18 and output_norm.
  const uint64_t per_layer = 2 * 64 * 2 * 18 + 2 * 32 * 2 * 18 + 2 * 172 * 2 * 18 + 64 * 172 * 2 + 2 * 64 * 4;
  EXPECT_EQ(q4_0.bytes, 5 * per_layer + 512 * 2 * 18 + 64 * 4);
}

TEST(Storage, MixThatCannotApplySaysWhy) {
  // Q4_0 has no fallback for stories260K's 172-element ffn_down rows (llama-quantize aborts there).
  const ModelConfig config = load_plan_model(kTestdata + "/stories260K/stories260K.bin").config;
  const std::vector<StorageOption> options = options_for(config);
  const StorageOption& mix = find_storage_option(options, "Q4_0");
  EXPECT_EQ(mix.kind, StorageOption::Kind::mix);
  EXPECT_FALSE(mix.available());
  EXPECT_NE(mix.unavailable.find("ffn_down"), std::string::npos) << mix.unavailable;
  // The K mixes fall back per tensor instead, and say how many did.
  EXPECT_GT(find_storage_option(options, "Q4_K_M").fallbacks, 0);
}

TEST(Storage, MatchesWhatTheQuantizeLibraryWrites) {
  const std::string output =
      (std::filesystem::temp_directory_path() / fmt::format("lowbit_plan_test_{}.gguf", ::getpid())).string();
  for (const char* type : {"Q8_0", "Q4_K_M", "lb_i4_sym_g32"}) {
    SCOPED_TRACE(type);
    QuantizeOptions options;
    options.type = type;
    const QuantizeReport report = quantize_model(kTestdata + "/tinystories-656K", output, options);
    uint64_t written = 0;
    for (const TensorReport& tensor : report.tensors) written += tensor.bytes;
    const ModelConfig config = load_plan_model(kTestdata + "/tinystories-656K").config;
    const std::vector<StorageOption> plan = options_for(config);
    EXPECT_EQ(find_storage_option(plan, type).bytes, written);
    EXPECT_LT(report.file_bytes - written, kMetadataAllowance);
  }
  std::filesystem::remove(output);
}

TEST(Storage, GenericPrecisionsCountTheirScales) {
  ModelConfig config;
  config.dim = 256;
  config.hidden_dim = 512;
  config.n_layers = 1;
  config.n_heads = 4;
  config.n_kv_heads = 4;
  config.head_dim = 64;
  config.vocab_size = 1000;
  config.tied_embeddings = true;
  const std::vector<TensorTypeRequest> tensors = model_tensors(config);
  // Matrices: embedding 1000x256, q/k/v/o 4 x 256x256, gate/up 2 x 512x256, down 256x512.
  const uint64_t matrix_elements = 1000 * 256 + 4 * 256 * 256 + 3 * 512 * 256;
  const uint64_t norm_bytes = 3 * 256 * 4;  // attn_norm, ffn_norm, output_norm stay F32
  const std::vector<StorageOption> options = options_for(config);
  // INT4: half a byte per weight and an FP16 scale per 128 weights of a row (down's rows hold 4 groups).
  const uint64_t groups = (1000 + 4 * 256 + 2 * 512) * 2 + 256 * 4;
  EXPECT_EQ(find_storage_option(options, "INT4").bytes, matrix_elements / 2 + groups * 2 + norm_bytes);
  EXPECT_EQ(find_storage_option(options, "INT2").bytes, matrix_elements / 4 + groups * 2 + norm_bytes);
  // FP8: a byte per weight and one FP32 scale per matrix (8 matrices).
  EXPECT_EQ(find_storage_option(options, "FP8").bytes, matrix_elements + 8 * 4 + norm_bytes);
  EXPECT_EQ(find_storage_option(options, "f16").bytes, matrix_elements * 2 + norm_bytes);
  const StorageOption& f32 = find_storage_option(options, "f32");
  EXPECT_DOUBLE_EQ(f32.bits_per_weight, 32.0);
}

TEST(Storage, EveryWritableTypeOfTheTableIsListed) {
  const ModelConfig config = load_plan_model("llama-7b").config;
  const std::vector<StorageOption> options = options_for(config);
  for (const char* name : {"q4_K", "q6_K", "bf16", "lb_nf4_g64"}) {
    EXPECT_EQ(find_storage_option(options, name).kind, StorageOption::Kind::type) << name;
  }
  // A 7B Llama at Q4_K_M: llama.cpp's loader reports 3.80 GiB (4.84 bits per weight).
  const StorageOption& q4_k_m = find_storage_option(options, "Q4_K_M");
  EXPECT_NEAR(static_cast<double>(q4_k_m.bytes) / (1 << 30), 3.80, 0.005);
  EXPECT_NEAR(q4_k_m.bits_per_weight, 4.84, 0.005);
  EXPECT_THROW(find_storage_option(options, "q9_K"), Error);
}

}  // namespace test_storage
}  // namespace lowbit
