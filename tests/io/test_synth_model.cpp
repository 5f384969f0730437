#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "core/error.h"
#include "formats/type_traits.h"
#include "io/gguf.h"
#include "io/model_file.h"
#include "io/synth_model.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {
namespace test_synth_model {

SynthOptions seeded(uint64_t seed) {
  SynthOptions options;
  options.seed = seed;
  return options;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("lowbit_test_synth_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Removes the file when the test ends.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name) : path(temp_path(name)) {}
  ~TempFile() { std::filesystem::remove(path); }
};

std::vector<float> values_of(const TensorView& t) {
  std::vector<float> values(static_cast<size_t>(t.elements()));
  type_traits(t.type).to_float(t.data, values.data(), t.elements());
  return values;
}

TEST(SynthModel, ShapesAreTheNamedModels) {
  const ModelConfig& tl = find_synth_shape("tinyllama-1.1b").config;
  EXPECT_EQ(tl.dim, 2048);
  EXPECT_EQ(tl.n_layers, 22);
  EXPECT_EQ(tl.n_heads, 32);
  EXPECT_EQ(tl.n_kv_heads, 4);
  EXPECT_EQ(tl.hidden_dim, 5632);
  EXPECT_EQ(tl.vocab_size, 32000);
  EXPECT_EQ(tl.context_length, 2048);
  const ModelConfig& l7 = find_synth_shape("llama-7b-2l").config;
  EXPECT_EQ(l7.dim, 4096);
  EXPECT_EQ(l7.n_layers, 2);
  EXPECT_EQ(l7.n_kv_heads, 32);
  EXPECT_EQ(l7.hidden_dim, 11008);

  int64_t parameters = 0;
  for (const SynthTensor& t : synth_tensors(tl)) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    parameters += n;
  }
  EXPECT_EQ(parameters, 1100048384);  // TinyLlama-1.1B's published parameter count
}

TEST(SynthModel, UnknownShapeNamesTheKnownOnes) {
  try {
    find_synth_shape("gpt-5");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gpt-5"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("tinyllama-1.1b"), std::string::npos);
  }
}

TEST(SynthModel, VocabularyHasSpecialsBytesAndMergeablePieces) {
  const Vocab vocab = synth_vocab(32000);
  ASSERT_EQ(vocab.tokens.size(), 32000u);
  EXPECT_EQ(vocab.tokens[vocab.bos_id], "<s>");
  EXPECT_EQ(vocab.tokens[vocab.eos_id], "</s>");
  EXPECT_EQ(vocab.tokens[vocab.unk_id], "<unk>");
  EXPECT_EQ(vocab.tokens[3 + 0x0A], "<0x0A>");
  EXPECT_EQ(vocab.token_types[3 + 0x0A], TokenType::kByte);
  EXPECT_EQ(std::set<std::string>(vocab.tokens.begin(), vocab.tokens.end()).size(), vocab.tokens.size());

  const std::unique_ptr<Tokenizer> tokenizer = Tokenizer::create(vocab);
  const std::vector<int32_t> ids = tokenizer->encode("hello world", /*add_special=*/false);
  EXPECT_LT(ids.size(), 6u);  // merged into pieces, not 11 characters or bytes
  EXPECT_EQ(tokenizer->decode(ids), "hello world");
  const std::vector<int32_t> bytes = tokenizer->encode("Hi!", false);  // upper case and '!' fall back to bytes
  EXPECT_EQ(tokenizer->decode(bytes), "Hi!");
  EXPECT_THROW(synth_vocab(100), Error);
}

TEST(SynthModel, TinyLoadsWithItsConfigShapesAndWeightStatistics) {
  const TempFile file("tiny_f32.gguf");
  const SynthShape& shape = find_synth_shape("tiny");
  write_synth_model(shape, file.path, seeded(7));
  const std::unique_ptr<ModelFile> model = open_model(file.path);

  const ModelConfig& c = model->config();
  EXPECT_EQ(c.dim, shape.config.dim);
  EXPECT_EQ(c.hidden_dim, shape.config.hidden_dim);
  EXPECT_EQ(c.n_layers, shape.config.n_layers);
  EXPECT_EQ(c.n_heads, shape.config.n_heads);
  EXPECT_EQ(c.n_kv_heads, shape.config.n_kv_heads);
  EXPECT_EQ(c.vocab_size, shape.config.vocab_size);
  EXPECT_EQ(c.context_length, shape.config.context_length);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_EQ(model->vocab().tokens.size(), static_cast<size_t>(c.vocab_size));

  const std::vector<SynthTensor> expected = synth_tensors(shape.config);
  ASSERT_EQ(model->tensors().size(), expected.size());
  for (const SynthTensor& t : expected) EXPECT_EQ(model->tensor(t.name).shape, t.shape) << t.name;

  // Matrices: RMS near 0.02 (times the mean row scale), rows of different scales, outlier columns.
  const TensorView& up = model->tensor("blk.1.ffn_up.weight");
  const std::vector<float> w = values_of(up);  // [rows][cols]
  const int64_t rows = up.rows(), cols = up.cols();
  double sum_sq = 0;
  std::vector<double> row_rms(static_cast<size_t>(rows)), column_sq(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    double row_sq = 0;
    for (int64_t col = 0; col < cols; ++col) {
      const double x = w[static_cast<size_t>(r * cols + col)];
      row_sq += x * x;
      column_sq[static_cast<size_t>(col)] += x * x;
    }
    sum_sq += row_sq;
    row_rms[static_cast<size_t>(r)] = std::sqrt(row_sq / static_cast<double>(cols));
  }
  const double rms = std::sqrt(sum_sq / static_cast<double>(w.size()));
  EXPECT_GT(rms, 0.015);
  EXPECT_LT(rms, 0.05);
  std::sort(row_rms.begin(), row_rms.end());
  EXPECT_GT(row_rms[row_rms.size() * 9 / 10] / row_rms[row_rms.size() / 10], 1.5);  // exp(0.3 N): ~2.2 between deciles
  std::sort(column_sq.begin(), column_sq.end());
  EXPECT_GT(column_sq.back() / column_sq[column_sq.size() / 2], 10.0);  // an outlier column, x4 or more

  const std::vector<float> norm = values_of(model->tensor("blk.0.attn_norm.weight"));
  for (float x : norm) {
    EXPECT_GT(x, 0.7f);
    EXPECT_LT(x, 1.3f);
  }
}

TEST(SynthModel, SameSeedSameBytesOtherSeedOtherWeights) {
  const TempFile a("seed_a.gguf"), b("seed_b.gguf"), c("seed_c.gguf");
  const SynthShape& shape = find_synth_shape("tiny");
  write_synth_model(shape, a.path, seeded(1));
  write_synth_model(shape, b.path, seeded(1));
  write_synth_model(shape, c.path, seeded(2));
  EXPECT_EQ(read_bytes(a.path), read_bytes(b.path));
  const std::vector<uint8_t> bytes_a = read_bytes(a.path), bytes_c = read_bytes(c.path);
  ASSERT_EQ(bytes_a.size(), bytes_c.size());  // same layout...
  EXPECT_NE(bytes_a, bytes_c);                // ...other values
}

TEST(SynthModel, WritesTheTypesAskedFor) {
  const TempFile file("tiny_q8_0.gguf");
  const SynthShape& shape = find_synth_shape("tiny");
  const std::vector<SynthTensor> tensors = synth_tensors(shape.config);
  SynthOptions options = seeded(3);
  options.file_type = 7;
  for (const SynthTensor& t : tensors) options.types.push_back(t.shape.size() == 1 ? TensorType::F32 : TensorType::Q8_0);
  write_synth_model(shape, file.path, options);

  const GgufFile gguf = GgufFile::open(file.path);
  EXPECT_EQ(gguf.get_uint("general.file_type"), std::optional<uint64_t>(7));
  const std::unique_ptr<ModelFile> model = open_model(file.path);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorView& t = model->tensor(tensors[i].name);
    EXPECT_EQ(t.type, options.types[i]) << t.name;
  }
  // Quantized, the weights still have the F32 file's statistics: same generator, 8-bit rounding.
  const TempFile reference("tiny_f32_seed3.gguf");
  write_synth_model(shape, reference.path, seeded(3));
  const std::unique_ptr<ModelFile> f32 = open_model(reference.path);
  const std::vector<float> q = values_of(model->tensor("blk.0.attn_q.weight"));
  const std::vector<float> x = values_of(f32->tensor("blk.0.attn_q.weight"));
  double error_sq = 0, source_sq = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    error_sq += (q[i] - x[i]) * (q[i] - x[i]);
    source_sq += x[i] * x[i];
  }
  EXPECT_LT(std::sqrt(error_sq / source_sq), 0.02);
}

TEST(SynthModel, RejectsTypesThatDoNotFitBeforeWriting) {
  const TempFile file("bad.gguf");
  SynthShape odd = find_synth_shape("tiny");
  odd.config.dim = 96;  // rows of 96 elements: no room for 256-element K blocks
  odd.config.head_dim = 24;
  const std::vector<SynthTensor> tensors = synth_tensors(odd.config);
  SynthOptions options;
  options.types.assign(tensors.size(), TensorType::Q4_K);
  EXPECT_THROW(write_synth_model(odd, file.path, options), Error);
  EXPECT_FALSE(std::filesystem::exists(file.path));
  options.types.pop_back();
  EXPECT_THROW(write_synth_model(odd, file.path, options), Error);
}

}  // namespace test_synth_model
}  // namespace lowbit
