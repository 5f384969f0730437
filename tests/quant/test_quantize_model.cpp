// The quantize pipeline against llama.cpp's own output (testdata/ggml: llama-quantize files and the
// manifest of their hashes), on llama2.c and Hugging Face sources, and its error cases.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/sha256.h"
#include "formats/type_traits.h"
#include "io/gguf.h"
#include "io/model_file.h"
#include "quant/quantize_model.h"
#include "quant/rope_row_order.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {
namespace test_quantize_model {

namespace fs = std::filesystem;
const std::string kData = LOWBIT_SOURCE_DIR "/testdata/";

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("lowbit_quantize_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::string file_sha256(const std::string& path) {
  const MappedFile file(path);
  return sha256_hex(file.data(), file.size());
}

const nlohmann::json& manifest() {
  static const nlohmann::json parsed = nlohmann::json::parse(std::ifstream(kData + "ggml/manifest.json"));
  return parsed;
}

const nlohmann::json& manifest_entry(const std::string& file) {
  for (const nlohmann::json& entry : manifest()["files"]) {
    if (entry["file"] == file) return entry;
  }
  throw std::runtime_error("manifest has no " + file);
}

QuantizeOptions options_for(const std::string& type, std::vector<std::string> tensor_types = {}) {
  QuantizeOptions options;
  options.type = type;
  options.tensor_types = std::move(tensor_types);
  options.lowbit_version = "test";
  return options;
}

// llama-quantize --tensor-type ffn_down=f16 stories260K.gguf OUT TYPE (see testdata/ggml/README-upstream.md).
TEST(QuantizeModel, Stories260KGgufGivesLlamaQuantizesBytes) {
  for (const std::string type : {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"}) {
    const std::string out = temp_path("stories-" + type + ".gguf");
    const QuantizeReport report = quantize_model(kData + "stories260K/stories260K.gguf", out, options_for(type, {"ffn_down=f16"}));
    const nlohmann::json& expected = manifest_entry("stories260K-" + type + ".gguf");
    EXPECT_EQ(file_sha256(out), expected["sha256"]) << type;
    EXPECT_EQ(report.file_bytes, expected["size"]) << type;
    ASSERT_EQ(report.tensors.size(), expected["tensors"].size());
    for (size_t i = 0; i < report.tensors.size(); ++i) {
      EXPECT_EQ(report.tensors[i].name, expected["tensors"][i]["name"]);
      EXPECT_EQ(type_traits(report.tensors[i].type).name, expected["tensors"][i]["type"]);
    }
    fs::remove(out);
  }
}

class SynthModel : public ::testing::Test {
 protected:
  // The F32 source is shipped in two parts (per-file size limit of the repository).
  static void SetUpTestSuite() {
    path_ = temp_path("synth-f32.gguf");
    std::ofstream out(path_, std::ios::binary);
    for (const char* part : {"ggml/synth-f32.gguf.part00", "ggml/synth-f32.gguf.part01"}) {
      std::ifstream in(kData + part, std::ios::binary);
      out << in.rdbuf();
    }
  }
  static void TearDownTestSuite() { fs::remove(path_); }
  static std::string path_;
};
std::string SynthModel::path_;

TEST_F(SynthModel, SourceIsTheManifestsFile) { EXPECT_EQ(file_sha256(path_), manifest_entry("synth-f32.gguf")["sha256"]); }

// F16 and BF16 are not shipped; the manifest still holds their hashes.
TEST_F(SynthModel, FloatAndQ8_0GiveLlamaQuantizesBytes) {
  for (const std::string type : {"F16", "BF16", "Q8_0"}) {
    const std::string out = temp_path("synth-" + type + ".gguf");
    quantize_model(path_, out, options_for(type));
    EXPECT_EQ(file_sha256(out), manifest_entry("synth-" + type + ".gguf")["sha256"]) << type;
    fs::remove(out);
  }
}

// With these types llama-quantize stores output.weight as Q6_K, which lowbit quantizes with its own
// scale search (formats/ggml_k_search.h), not llama.cpp's: every other byte of the file is identical,
// and that tensor's error is no larger than llama.cpp's.
TEST_F(SynthModel, LegacyTypesMatchLlamaQuantizeExceptTheQ6KOutput) {
  for (const std::string type : {"Q4_0", "Q4_1", "Q5_0", "Q5_1"}) {
    const std::string out = temp_path("synth-" + type + ".gguf");
    const QuantizeReport report = quantize_model(path_, out, options_for(type));
    const nlohmann::json& expected = manifest_entry("synth-" + type + ".gguf");
    const MappedFile written(out);
    ASSERT_EQ(written.size(), expected["size"]) << type;
    const size_t header = expected["gguf"]["data_section_offset"];
    const MappedFile reference(kData + "ggml/synth-" + type + ".gguf");
    EXPECT_EQ(std::memcmp(written.data(), reference.data(), header), 0) << type << ": metadata or tensor infos differ";
    for (size_t i = 0; i < expected["tensors"].size(); ++i) {
      const nlohmann::json& tensor = expected["tensors"][i];
      const std::string hash = sha256_hex(written.data() + tensor["offset"].get<size_t>(), tensor["n_bytes"].get<size_t>());
      if (tensor["name"] == "output.weight") {
        EXPECT_EQ(tensor["type"], "q6_K");
        EXPECT_LE(report.tensors[i].error.relative_rms(), tensor["rel_rms_err"].get<double>() * 1.0001) << type;
      } else {
        EXPECT_EQ(hash, tensor["sha256"]) << type << " " << tensor["name"];
      }
    }
    fs::remove(out);
  }
}

// The K mixes: llama-quantize's type for every tensor, and per tensor an RMS error no larger than
// llama.cpp's (lowbit's K-quant scale search is its own, so the bytes differ).
TEST_F(SynthModel, NamedMixesChooseLlamaQuantizesTypesWithNoLargerError) {
  for (const std::string mix : {"Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"}) {
    const std::string out = temp_path("synth-" + mix + ".gguf");
    const QuantizeReport report = quantize_model(path_, out, options_for(mix));
    const nlohmann::json& expected = manifest_entry("synth-" + mix + ".gguf");
    EXPECT_EQ(report.file_bytes, expected["size"]) << mix;
    EXPECT_TRUE(report.fallbacks.empty()) << mix;
    ASSERT_EQ(report.tensors.size(), expected["tensors"].size());
    for (size_t i = 0; i < report.tensors.size(); ++i) {
      const nlohmann::json& tensor = expected["tensors"][i];
      EXPECT_EQ(report.tensors[i].name, tensor["name"]);
      EXPECT_EQ(type_traits(report.tensors[i].type).name, tensor["type"]) << mix << " " << tensor["name"];
      EXPECT_LE(report.tensors[i].error.relative_rms(), tensor["rel_rms_err"].get<double>() * 1.0001) << mix << " " << tensor["name"];
    }
    const GgufFile file = GgufFile::open(out);
    EXPECT_EQ(file.get_uint("general.file_type"), expected["kv"].back()["value"].get<uint64_t>()) << mix;
    fs::remove(out);
  }
}

TEST_F(SynthModel, ReportMeasuresErrorLikeTheManifest) {
  const std::string out = temp_path("synth-report.gguf");
  const QuantizeReport report = quantize_model(path_, out, options_for("Q8_0"));
  const nlohmann::json& expected = manifest_entry("synth-Q8_0.gguf");
  for (size_t i = 0; i < report.tensors.size(); ++i) {
    EXPECT_NEAR(report.tensors[i].error.relative_rms(), expected["tensors"][i]["rel_rms_err"].get<double>(), 1e-9)
        << report.tensors[i].name;
  }
  const double all_relative = expected["all_tensors_rms_err"].get<double>() / expected["all_tensors_rms_orig"].get<double>();
  EXPECT_NEAR(report.error().relative_rms(), all_relative, 1e-9);
  EXPECT_EQ(report.elements(), 3410176);
  EXPECT_DOUBLE_EQ(report.bits_per_weight(), 8.0 * 3643904 / 3410176);
  EXPECT_DOUBLE_EQ(report.compression_vs_f32(), 4.0 * 3410176 / 3643904);
  EXPECT_DOUBLE_EQ(report.compression_vs_f16(), 2.0 * 3410176 / 3643904);
  fs::remove(out);
}

std::vector<std::string> metadata_keys(const GgufFile& file) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : file.metadata()) keys.push_back(key);
  return keys;
}

void expect_same_values(const TensorView& a, const TensorView& b) {
  ASSERT_EQ(a.shape, b.shape) << a.name;
  ASSERT_EQ(a.type, b.type) << a.name;
  ASSERT_EQ(a.bytes, b.bytes) << a.name;
  EXPECT_EQ(std::memcmp(a.data, b.data, a.bytes), 0) << a.name;
}

TEST(QuantizeModel, Llama2cSourceGetsHyperParametersTokenizerAndProvenance) {
  const std::string source = kData + "stories260K/stories260K.bin", out = temp_path("llama2c.gguf");
  const QuantizeReport report = quantize_model(source, out, options_for("F32"));
  EXPECT_EQ(report.source_format, "llama2c");

  const GgufFile file = GgufFile::open(out);
  EXPECT_EQ(file.get_string("general.architecture"), "llama");
  EXPECT_EQ(file.get_uint("llama.rope.dimension_count"), 8u);
  EXPECT_EQ(file.get_uint("llama.vocab_size"), 512u);
  EXPECT_EQ(file.get_uint("general.file_type"), 0u);
  EXPECT_EQ(file.get_uint("general.quantization_version"), 2u);
  EXPECT_EQ(file.get_string("lowbit.source_format"), "llama2c");
  EXPECT_EQ(file.get_string("lowbit.quantize.type"), "F32");
  EXPECT_EQ(file.get_string("lowbit.version"), "test");

  const std::unique_ptr<ModelFile> original = open_model(source);
  const std::unique_ptr<ModelFile> written = open_model(out);
  const ModelConfig &a = original->config(), &b = written->config();
  EXPECT_EQ(std::tie(a.dim, a.hidden_dim, a.n_layers, a.n_heads, a.n_kv_heads, a.head_dim, a.vocab_size, a.context_length),
            std::tie(b.dim, b.hidden_dim, b.n_layers, b.n_heads, b.n_kv_heads, b.head_dim, b.vocab_size, b.context_length));
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.norm_eps, b.norm_eps);
  EXPECT_EQ(b.rope_style, RopeStyle::kInterleaved);
  EXPECT_EQ(original->vocab().tokens, written->vocab().tokens);
  EXPECT_EQ(original->vocab().scores, written->vocab().scores);
  EXPECT_EQ(original->vocab().bos_id, written->vocab().bos_id);
  EXPECT_EQ(original->vocab().eos_id, written->vocab().eos_id);
  ASSERT_EQ(original->tensors().size(), written->tensors().size());
  for (const TensorView& view : original->tensors()) expect_same_values(view, written->tensor(view.name));
  EXPECT_EQ(report.error().relative_rms(), 0.0);
  fs::remove(out);
}

// Hugging Face Llama rotates (i, i + head_dim/2); GGUF "llama" rotates (2i, 2i+1). The written
// attn_q/attn_k rows are permuted so that the file is an ordinary GGUF: same model, other convention.
TEST(QuantizeModel, HuggingFaceSourceIsPermutedToInterleavedRope) {
  const std::string source = kData + "tinystories-656K", out = temp_path("hf.gguf");
  quantize_model(source, out, options_for("F32"));
  const std::unique_ptr<ModelFile> original = open_model(source);
  const std::unique_ptr<ModelFile> written = open_model(out);
  EXPECT_EQ(written->config().rope_style, RopeStyle::kInterleaved);
  EXPECT_TRUE(written->config().tied_embeddings);
  const int64_t head_dim = original->config().head_dim;
  for (const TensorView& view : original->tensors()) {
    const TensorView& converted = written->tensor(view.name);
    if (!view.name.ends_with("attn_q.weight") && !view.name.ends_with("attn_k.weight")) {
      expect_same_values(view, converted);
      continue;
    }
    const std::vector<int64_t> order = interleaved_rope_row_order(view.rows(), head_dim);
    const size_t row_bytes = view.bytes / view.rows();
    for (int64_t r = 0; r < view.rows(); ++r) {
      EXPECT_EQ(std::memcmp(static_cast<const uint8_t*>(converted.data) + r * row_bytes,
                            static_cast<const uint8_t*>(view.data) + order[r] * row_bytes, row_bytes), 0)
          << view.name << " row " << r;
    }
  }
  // The vocabulary gets scores from its merge ranks; the merges themselves are kept, so lowbit
  // tokenizes exactly as with tokenizer.json.
  EXPECT_EQ(written->vocab().tokens, original->vocab().tokens);
  EXPECT_EQ(written->vocab().merges, original->vocab().merges);
  std::ifstream text_file(kData + "text/tinystories_valid_eval.txt");
  const std::string text(std::istreambuf_iterator<char>(text_file), {});
  const std::string head = text.substr(0, 4000);
  EXPECT_EQ(Tokenizer::create(written->vocab())->encode(head, true, false), Tokenizer::create(original->vocab())->encode(head, true, false));
  fs::remove(out);
}

TEST(QuantizeModel, ProvenanceOnRequestForGgufSources) {
  const std::string out = temp_path("provenance.gguf");
  QuantizeOptions options = options_for("Q8_0", {"ffn_down=f16"});
  options.provenance = true;
  quantize_model(kData + "stories260K/stories260K.gguf", out, options);
  const GgufFile file = GgufFile::open(out);
  const std::vector<std::string> keys = metadata_keys(file);
  ASSERT_GE(keys.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(keys.end() - 5, keys.end()),
            (std::vector<std::string>{"general.quantization_version", "general.file_type", "lowbit.version",
                                      "lowbit.source_format", "lowbit.quantize.type"}));
  EXPECT_EQ(file.get_string("lowbit.source_format"), "gguf");
  fs::remove(out);
}

void expect_error_and_no_output(const std::string& input, const std::string& output, const QuantizeOptions& options,
                                const std::string& message_part) {
  try {
    quantize_model(input, output, options);
    ADD_FAILURE() << "no error for " << message_part;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
  }
}

TEST(QuantizeModel, ErrorsNameTheProblemAndWriteNothing) {
  const std::string source = kData + "stories260K/stories260K.gguf", out = temp_path("error.gguf");
  expect_error_and_no_output(source, out, options_for("Q9_9"), "unknown quantization mix 'Q9_9'");
  expect_error_and_no_output(source, out, options_for("Q8_0", {"ffn_down=q7"}), "unknown tensor type 'q7'");
  expect_error_and_no_output(source, out, options_for("Q8_0", {"ffn_down"}), "expected PATTERN=TYPE");
  // ffn_down rows hold 172 elements, not a multiple of Q8_0's 32.
  expect_error_and_no_output(source, out, options_for("Q8_0"),
                             "stories260K.gguf: Q8_0: llama.cpp defines no fallback type for these rows: blk.0.ffn_down.weight");
  QuantizeOptions output_type = options_for("Q8_0", {"ffn_down=f16"});
  output_type.output_type = "q6_K";
  expect_error_and_no_output(source, out, output_type, "output.weight has rows of 64 elements, not a multiple of q6_K's 256-element blocks");
  output_type.output_type = "q9";
  expect_error_and_no_output(source, out, output_type, "--output-type q9: not a type lowbit can write");
  EXPECT_FALSE(fs::exists(out));

  expect_error_and_no_output(source, source, options_for("Q8_0", {"ffn_down=f16"}), "would overwrite the input");
  const std::string link = temp_path("link.gguf");
  fs::create_symlink(source, link);
  expect_error_and_no_output(source, link, options_for("Q8_0", {"ffn_down=f16"}), "would overwrite the input");
  fs::remove(link);
  expect_error_and_no_output(source, "/nonexistent-folder/out.gguf", options_for("Q8_0", {"ffn_down=f16"}), "/nonexistent-folder/out.gguf");
}

TEST(QuantizeModel, FailedRunLeavesAnExistingOutputUntouched) {
  const std::string out = temp_path("existing.gguf");
  std::ofstream(out) << "keep me";
  EXPECT_THROW(quantize_model(kData + "stories260K/stories260K.gguf", out, options_for("Q4_0")), Error);
  std::ifstream in(out);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "keep me");
  fs::remove(out);
}

TEST(QuantizeModel, ProgressReachesTheWholeModel) {
  const std::string out = temp_path("progress.gguf");
  QuantizeOptions options = options_for("Q8_0", {"ffn_down=f16"});
  double last = 0;
  size_t calls = 0;
  options.progress = [&](const QuantizeProgress& p) {
    EXPECT_GE(p.model_fraction, last);
    EXPECT_EQ(p.count, 48u);
    last = p.model_fraction;
    ++calls;
  };
  quantize_model(kData + "stories260K/stories260K.gguf", out, options);
  EXPECT_GE(calls, 48u);
  EXPECT_DOUBLE_EQ(last, 1.0);
  fs::remove(out);
}

// --- the pieces ---

TEST(RopeRowOrder, PairsTheHalvesOfEachHead) {
  EXPECT_EQ(interleaved_rope_row_order(8, 4), (std::vector<int64_t>{0, 2, 1, 3, 4, 6, 5, 7}));
  EXPECT_EQ(interleaved_rope_row_order(6, 6), (std::vector<int64_t>{0, 3, 1, 4, 2, 5}));
  EXPECT_THROW(interleaved_rope_row_order(6, 4), Error);
}

TEST(QuantizeTensor, ErrorSumsOfAKnownRow) {
  // 32 values; Q8_0 stores d = max|x| / 127 = 1/127 in FP16 and rounds x/d.
  std::vector<float> values(32);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) / 31.0f - 0.5f;
  values[0] = 1.0f;
  const TensorView view{"t", TensorType::F32, {1, 32}, values.data(), values.size() * sizeof(float)};
  const std::string out = temp_path("tensor.bin");
  ErrorSums sums;
  {
    AtomicFile file(out);
    sums = quantize_tensor(TensorJob{&view, &type_traits(TensorType::Q8_0), {}}, file, nullptr);
    file.commit();
  }
  std::vector<uint8_t> stored(34);
  std::ifstream(out, std::ios::binary).read(reinterpret_cast<char*>(stored.data()), 34);
  std::vector<float> back(32);
  type_traits(TensorType::Q8_0).to_float(stored.data(), back.data(), 32);
  double source_sq = 0, error_sq = 0;
  for (size_t i = 0; i < 32; ++i) {
    source_sq += static_cast<double>(values[i]) * values[i];
    error_sq += (static_cast<double>(back[i]) - values[i]) * (static_cast<double>(back[i]) - values[i]);
  }
  EXPECT_EQ(sums.elements, 32);
  EXPECT_DOUBLE_EQ(sums.source_sq, source_sq);
  EXPECT_DOUBLE_EQ(sums.error_sq, error_sq);
  EXPECT_GT(error_sq, 0);
  EXPECT_DOUBLE_EQ(sums.relative_rms(), std::sqrt(error_sq / source_sq));
  EXPECT_DOUBLE_EQ(sums.sqnr_db(), 10 * std::log10(source_sq / error_sq));
  fs::remove(out);
}

TEST(QuantizeTensor, RowsThatDoNotFitTheBlockAreRefused) {
  std::vector<float> values(40, 1.0f);
  const TensorView view{"blk.0.x.weight", TensorType::F32, {1, 40}, values.data(), values.size() * sizeof(float)};
  try {
    check_job(TensorJob{&view, &type_traits(TensorType::Q4_0), {}});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tensor blk.0.x.weight: rows of 40 elements cannot be stored as q4_0 (blocks of 32 elements)");
  }
}

}  // namespace test_quantize_model
}  // namespace lowbit
