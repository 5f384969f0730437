#include "io/synth_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "core/error.h"
#include "formats/type_traits.h"
#include "io/gguf_metadata.h"
#include "io/gguf_writer.h"

namespace lowbit {
namespace {

// Rows of 256 (the K-quant block) everywhere, so that every ggml type lowbit writes applies to "tiny" too
// (the interleaved layouts, lb_q4_0x16 and its kin, need rows of 512).
const std::array<SynthShape, 3> kShapes = {{
    {"tiny", "2 layers, hidden 256, FFN 512, vocab 512: for tests", llama_model_config(256, 512, 2, 4, 2, 512, 256)},
    {"tinyllama-1.1b", "TinyLlama 1.1B: hidden 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632, vocab 32000",
     llama_model_config(2048, 5632, 22, 32, 4, 32000, 2048)},
    {"llama-7b-2l", "two layers of Llama 7B: hidden 4096, 32 heads, 32 KV heads, FFN 11008, vocab 32000",
     llama_model_config(4096, 11008, 2, 32, 32, 32000, 4096)},
}};

constexpr int64_t kSpecialTokens = 3;  // <unk>, <s>, </s>
constexpr int64_t kByteTokens = 256;
constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // ▁
constexpr int64_t kAlphabet = 27;                          // ▁ and a..z

// The piece with this index in the enumeration of strings over the alphabet, shortest first.
std::string filler_piece(int64_t index) {
  int64_t length = 1, count = kAlphabet;
  while (index >= count) {
    index -= count;
    ++length;
    count *= kAlphabet;
  }
  std::string piece;
  for (int64_t i = 0; i < length; ++i) {
    count /= kAlphabet;
    const int64_t letter = index / count % kAlphabet;
    if (letter == 0) {
      piece += kSpaceMarker;
    } else {
      piece += static_cast<char>('a' + letter - 1);
    }
  }
  return piece;
}

// splitmix64: a fast generator of good quality whose every state is a valid seed, so one per row is free.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

uint64_t mix_seed(uint64_t a, uint64_t b) { return SplitMix64{a ^ (b * 0xD1342543DE82EF95ull)}.next(); }

// Box-Muller: two independent N(0,1) values from one 64-bit draw (24-bit uniforms are plenty for weights).
std::pair<float, float> gaussian_pair(SplitMix64& rng) {
  const uint64_t bits = rng.next();
  const float u1 = (static_cast<float>(bits >> 40) + 0.5f) * (1.0f / 16777216.0f);  // (0, 1): log is finite
  const float u2 = static_cast<float>((bits >> 8) & 0xFFFFFF) * (1.0f / 16777216.0f);
  const float radius = std::sqrt(-2.0f * std::log(u1));
  const float angle = 2.0f * std::numbers::pi_v<float> * u2;
  return {radius * std::cos(angle), radius * std::sin(angle)};
}

void fill_gaussian(SplitMix64& rng, float* out, int64_t n) {
  for (int64_t i = 0; i + 1 < n; i += 2) {
    const auto [a, b] = gaussian_pair(rng);
    out[i] = a;
    out[i + 1] = b;
  }
  if (n % 2 == 1) out[n - 1] = gaussian_pair(rng).first;
}

constexpr float kWeightStd = 0.02f;
constexpr float kRowScaleSpread = 0.3f;
constexpr float kNormSpread = 0.05f;
constexpr int64_t kColumnsPerOutlier = 512;  // one outlier column per this many (at least one per matrix)

// How one tensor's values are drawn.
class TensorGenerator {
 public:
  TensorGenerator(const SynthTensor& tensor, uint64_t tensor_seed) : seed_(tensor_seed), cols_(tensor.shape.back()) {
    is_norm_ = tensor.shape.size() == 1;
    if (is_norm_) return;
    column_scale_.assign(static_cast<size_t>(cols_), 1.0f);  // [cols]
    SplitMix64 rng{mix_seed(seed_, ~uint64_t{0})};
    const int64_t outliers = std::max<int64_t>(1, cols_ / kColumnsPerOutlier);
    for (int64_t i = 0; i < outliers; ++i) {
      const int64_t column = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(cols_));
      column_scale_[static_cast<size_t>(column)] = 4.0f + static_cast<float>(rng.next() % 7);
    }
  }

  // One row of cols() values.
  void row(int64_t r, float* out) const {
    SplitMix64 rng{mix_seed(seed_, static_cast<uint64_t>(r))};
    fill_gaussian(rng, out, cols_);
    if (is_norm_) {
      for (int64_t c = 0; c < cols_; ++c) out[c] = std::abs(1.0f + kNormSpread * out[c]);
      return;
    }
    const float scale = kWeightStd * std::exp(kRowScaleSpread * gaussian_pair(rng).first);
    for (int64_t c = 0; c < cols_; ++c) out[c] *= scale * column_scale_[static_cast<size_t>(c)];
  }

 private:
  uint64_t seed_;
  int64_t cols_;
  bool is_norm_ = false;
  std::vector<float> column_scale_;  // [cols]
};

// Rows are generated and converted in chunks of about this many elements (16 MiB of F32).
constexpr int64_t kChunkElements = int64_t{1} << 22;

void write_tensor_data(const SynthTensor& tensor, uint64_t tensor_seed, const TypeTraits& traits, AtomicFile& out) {
  const TensorGenerator generator(tensor, tensor_seed);
  const int64_t cols = tensor.shape.back();
  const int64_t rows = tensor.shape.size() == 1 ? 1 : tensor.shape.front();
  const size_t row_bytes = traits.row_bytes(cols);
  const int64_t chunk_rows = std::clamp<int64_t>(kChunkElements / cols, 1, rows);
  std::vector<float> values(static_cast<size_t>(chunk_rows * cols));        // [chunk_rows][cols]
  std::vector<uint8_t> bytes(static_cast<size_t>(chunk_rows) * row_bytes);  // [chunk_rows][row_bytes]
  for (int64_t first = 0; first < rows; first += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - first);
#pragma omp parallel for schedule(dynamic, 16) if (n > 1)
    for (int64_t i = 0; i < n; ++i) {
      float* row = values.data() + i * cols;
      generator.row(first + i, row);
      traits.from_float(row, bytes.data() + static_cast<size_t>(i) * row_bytes, cols);
    }
    out.write(bytes.data(), static_cast<size_t>(n) * row_bytes);
  }
}

}  // namespace

std::span<const SynthShape> synth_shapes() { return kShapes; }

const SynthShape& find_synth_shape(std::string_view name) {
  for (const SynthShape& shape : kShapes) {
    if (name == shape.name) return shape;
  }
  std::string names;
  for (const SynthShape& shape : kShapes) names += (names.empty() ? "" : ", ") + std::string(shape.name);
  throw_error("unknown shape '{}' (known: {})", name, names);
}

Vocab synth_vocab(int64_t size) {
  if (size < kSpecialTokens + kByteTokens + kAlphabet) {
    throw_error("a synthetic vocabulary needs at least {} tokens, not {}", kSpecialTokens + kByteTokens + kAlphabet, size);
  }
  Vocab vocab;
  vocab.model = "llama";
  vocab.unk_id = 0;
  vocab.bos_id = 1;
  vocab.eos_id = 2;
  vocab.tokens = {"<unk>", "<s>", "</s>"};
  vocab.token_types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl};
  vocab.scores.assign(kSpecialTokens, 0.0f);
  for (int byte = 0; byte < kByteTokens; ++byte) {
    vocab.tokens.push_back(fmt::format("<0x{:02X}>", byte));
    vocab.token_types.push_back(TokenType::kByte);
    vocab.scores.push_back(0.0f);
  }
  // Shorter pieces score higher, so merges build words up from their prefixes.
  for (int64_t i = 0; static_cast<int64_t>(vocab.tokens.size()) < size; ++i) {
    vocab.tokens.push_back(filler_piece(i));
    vocab.token_types.push_back(TokenType::kNormal);
    vocab.scores.push_back(-static_cast<float>(i));
  }
  return vocab;
}

std::vector<SynthTensor> synth_tensors(const ModelConfig& c) {
  const int64_t q_dim = c.n_heads * c.head_dim, kv_dim = c.n_kv_heads * c.head_dim;
  std::vector<SynthTensor> tensors = {{"token_embd.weight", {c.vocab_size, c.dim}}};
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    const std::string p = fmt::format("blk.{}.", layer);
    tensors.push_back({p + "attn_norm.weight", {c.dim}});
    tensors.push_back({p + "attn_q.weight", {q_dim, c.dim}});
    tensors.push_back({p + "attn_k.weight", {kv_dim, c.dim}});
    tensors.push_back({p + "attn_v.weight", {kv_dim, c.dim}});
    tensors.push_back({p + "attn_output.weight", {c.dim, q_dim}});
    tensors.push_back({p + "ffn_norm.weight", {c.dim}});
    tensors.push_back({p + "ffn_gate.weight", {c.hidden_dim, c.dim}});
    tensors.push_back({p + "ffn_up.weight", {c.hidden_dim, c.dim}});
    tensors.push_back({p + "ffn_down.weight", {c.dim, c.hidden_dim}});
  }
  tensors.push_back({"output_norm.weight", {c.dim}});
  tensors.push_back({"output.weight", {c.vocab_size, c.dim}});
  return tensors;
}

void write_synth_model(const SynthShape& shape, const std::string& path, const SynthOptions& options) {
  const std::vector<SynthTensor> tensors = synth_tensors(shape.config);
  if (!options.types.empty() && options.types.size() != tensors.size()) {
    throw_error("{}: {} tensor types given for the {} tensors of shape {}", path, options.types.size(), tensors.size(), shape.name);
  }

  GgufWriter writer;
  writer.set_metadata("general.name", gguf_string(fmt::format("lowbit synth {}", shape.name)));
  for (auto& [key, value] : build_model_metadata(shape.config, synth_vocab(shape.config.vocab_size))) {
    writer.set_metadata(key, std::move(value));
  }
  if (options.file_type) writer.set_metadata("general.file_type", gguf_uint32(*options.file_type));
  std::vector<const TypeTraits*> traits;  // [tensors]
  for (size_t i = 0; i < tensors.size(); ++i) {
    const SynthTensor& t = tensors[i];
    const TypeTraits& type = type_traits(options.types.empty() ? TensorType::F32 : options.types[i]);
    if (t.shape.back() % type.block_size != 0) {
      throw_error("{}: tensor {}: rows of {} elements cannot be stored as {} (blocks of {} elements)", path, t.name,
                  t.shape.back(), type.name, type.block_size);
    }
    if (type.from_float == nullptr) throw_error("{}: tensor {}: lowbit cannot write type {}", path, t.name, type.name);
    const int64_t rows = t.shape.size() == 1 ? 1 : t.shape.front();
    writer.add_tensor({t.name, type.type, t.shape, static_cast<uint64_t>(rows) * type.row_bytes(t.shape.back())});
    traits.push_back(&type);
  }

  writer.write(path, [&](size_t index, AtomicFile& out) {
    write_tensor_data(tensors[index], mix_seed(options.seed, index), *traits[index], out);
    if (options.progress) options.progress(index, tensors.size());
  });
}

}  // namespace lowbit
