#include "io/llama2c.h"

#include <array>
#include <initializer_list>

#include "core/error.h"
#include "io/byte_reader.h"
#include "io/model_file.h"

namespace lowbit {
namespace {

constexpr size_t kHeaderBytes = 7 * sizeof(int32_t);
// llama2.c's newer export formats (version 1 and 2) start with this magic instead of a legacy header.
constexpr uint32_t kVersionedExportMagic = 0x616b3432;  // "ak42"

// Product of non-negative factors, with an error naming the file on uint64 overflow.
uint64_t checked_product(const std::string& name, std::initializer_list<uint64_t> factors) {
  uint64_t product = 1;
  for (uint64_t factor : factors) {
    if (__builtin_mul_overflow(product, factor, &product)) throw_error("{}: header dimensions are too large (overflow)", name);
  }
  return product;
}

uint64_t checked_sum(const std::string& name, std::initializer_list<uint64_t> terms) {
  uint64_t sum = 0;
  for (uint64_t term : terms) {
    if (__builtin_add_overflow(sum, term, &sum)) throw_error("{}: header dimensions are too large (overflow)", name);
  }
  return sum;
}

ModelConfig read_config(ByteReader& reader, const std::string& name) {
  std::array<int32_t, 7> header{};
  for (int32_t& field : header) field = reader.read<int32_t>("llama2.c header");
  const auto [dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len] = header;
  if (static_cast<uint32_t>(dim) == kVersionedExportMagic) {
    throw_error("{}: llama2.c versioned export format is not supported (only the legacy version-0 checkpoint)", name);
  }
  for (const auto& [field, value] : {std::pair{"dim", dim}, {"hidden_dim", hidden_dim}, {"n_layers", n_layers},
                                     {"n_heads", n_heads}, {"n_kv_heads", n_kv_heads}, {"seq_len", seq_len}}) {
    if (value <= 0) throw_error("{}: llama2.c header field {} is {}, expected a positive number", name, field, value);
  }
  if (vocab_size == 0 || vocab_size == INT32_MIN) throw_error("{}: llama2.c header vocab_size is {}", name, vocab_size);
  if (dim % n_heads != 0) throw_error("{}: dim {} is not a multiple of n_heads {}", name, dim, n_heads);
  if (n_kv_heads > n_heads || n_heads % n_kv_heads != 0) {
    throw_error("{}: n_heads {} is not a multiple of n_kv_heads {}", name, n_heads, n_kv_heads);
  }

  // run.c's fixed values: RoPE theta 10000, RMSNorm eps 1e-5, interleaved RoPE pairs.
  ModelConfig config = llama_model_config(dim, hidden_dim, n_layers, n_heads, n_kv_heads,
                                          vocab_size < 0 ? -static_cast<int64_t>(vocab_size) : vocab_size,  // negative: wcls stored
                                          seq_len);
  config.tied_embeddings = vocab_size > 0;
  return config;
}

// Hands out consecutive float32 arrays of the checkpoint as tensor views.
class ArrayCursor {
 public:
  explicit ArrayCursor(const uint8_t* start) : next_(start) {}

  // One array [count][shape...] stacked per layer: returns the view of each of the `count` slices.
  void take(std::vector<TensorView>& out, const std::string& pattern, int64_t count, std::vector<int64_t> shape) {
    int64_t elements = 1;
    for (int64_t d : shape) elements *= d;
    const size_t bytes = static_cast<size_t>(elements) * sizeof(float);
    for (int64_t i = 0; i < count; ++i) {
      TensorView view;
      view.name = fmt::format(fmt::runtime(pattern), i);  // "blk.{}.attn_q.weight" -> layer i
      view.type = TensorType::F32;
      view.shape = shape;
      view.data = next_;
      view.bytes = bytes;
      out.push_back(std::move(view));
      next_ += bytes;
    }
  }
  void skip(uint64_t bytes) { next_ += bytes; }

 private:
  const uint8_t* next_;
};

}  // namespace

Llama2cCheckpoint parse_llama2c_checkpoint(std::span<const uint8_t> bytes, const std::string& name) {
  ByteReader reader(bytes, name);
  Llama2cCheckpoint checkpoint;
  checkpoint.config = read_config(reader, name);
  const ModelConfig& c = checkpoint.config;
  const bool tied = c.tied_embeddings;

  const uint64_t dim = static_cast<uint64_t>(c.dim), hidden = static_cast<uint64_t>(c.hidden_dim);
  const uint64_t layers = static_cast<uint64_t>(c.n_layers), vocab = static_cast<uint64_t>(c.vocab_size);
  const uint64_t kv_dim = static_cast<uint64_t>(c.n_kv_heads * c.head_dim);
  const uint64_t weight_floats = checked_sum(
      name, {checked_product(name, {vocab, dim}),                   // token embedding
             checked_product(name, {layers, dim, 2}),               // rms_att, rms_ffn
             checked_product(name, {layers, dim, dim, 2}),          // wq, wo
             checked_product(name, {layers, kv_dim, dim, 2}),       // wk, wv
             checked_product(name, {layers, hidden, dim, 3}),       // w1, w2, w3
             dim,                                                   // rms_final
             tied ? 0 : checked_product(name, {vocab, dim})});      // wcls
  const uint64_t rope_table_floats = checked_product(name, {static_cast<uint64_t>(c.context_length), static_cast<uint64_t>(c.head_dim)});
  const uint64_t without_tables = checked_sum(name, {kHeaderBytes, checked_product(name, {weight_floats, sizeof(float)})});
  const uint64_t with_tables = checked_sum(name, {without_tables, checked_product(name, {rope_table_floats, sizeof(float)})});
  if (bytes.size() != without_tables && bytes.size() != with_tables) {
    throw_error("{}: file is {} bytes, but its llama2.c header implies {} (or {} with the RoPE tables)", name,
                bytes.size(), without_tables, with_tables);
  }
  checkpoint.has_rope_tables = bytes.size() == with_tables && with_tables != without_tables;

  const int64_t L = c.n_layers, D = c.dim, H = c.hidden_dim, KV = static_cast<int64_t>(kv_dim);
  std::vector<TensorView>& t = checkpoint.tensors;
  ArrayCursor cursor(bytes.data() + kHeaderBytes);
  cursor.take(t, "token_embd.weight", 1, {c.vocab_size, D});
  cursor.take(t, "blk.{}.attn_norm.weight", L, {D});
  cursor.take(t, "blk.{}.attn_q.weight", L, {D, D});
  cursor.take(t, "blk.{}.attn_k.weight", L, {KV, D});
  cursor.take(t, "blk.{}.attn_v.weight", L, {KV, D});
  cursor.take(t, "blk.{}.attn_output.weight", L, {D, D});
  cursor.take(t, "blk.{}.ffn_norm.weight", L, {D});
  cursor.take(t, "blk.{}.ffn_gate.weight", L, {H, D});
  cursor.take(t, "blk.{}.ffn_down.weight", L, {D, H});
  cursor.take(t, "blk.{}.ffn_up.weight", L, {H, D});
  cursor.take(t, "output_norm.weight", 1, {D});
  if (!tied) {
    if (checkpoint.has_rope_tables) cursor.skip(rope_table_floats * sizeof(float));
    cursor.take(t, "output.weight", 1, {c.vocab_size, D});
  }
  return checkpoint;
}

}  // namespace lowbit
