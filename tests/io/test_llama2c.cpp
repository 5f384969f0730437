#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/gguf.h"
#include "io/llama2c.h"

namespace lowbit {
namespace test_llama2c {

struct Header {
  int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

// A checkpoint whose float i holds the value i, so each tensor's first value tells where it starts.
std::vector<uint8_t> synthetic_checkpoint(const Header& h, bool rope_tables) {
  const int64_t vocab = h.vocab_size < 0 ? -h.vocab_size : h.vocab_size;
  const int64_t kv_dim = h.dim / h.n_heads * h.n_kv_heads;
  int64_t floats = vocab * h.dim + h.n_layers * (2 * h.dim + 2 * h.dim * h.dim + 2 * kv_dim * h.dim + 3 * h.hidden_dim * h.dim) + h.dim;
  if (rope_tables) floats += h.seq_len * (h.dim / h.n_heads);
  if (h.vocab_size < 0) floats += vocab * h.dim;
  std::vector<uint8_t> bytes(sizeof(Header) + static_cast<size_t>(floats) * 4);
  std::memcpy(bytes.data(), &h, sizeof(Header));
  for (int64_t i = 0; i < floats; ++i) {
    const float value = static_cast<float>(i);
    std::memcpy(bytes.data() + sizeof(Header) + i * 4, &value, 4);
  }
  return bytes;
}

float first_value(const TensorView& view) {
  float value;
  std::memcpy(&value, view.data, sizeof(float));
  return value;
}

const TensorView& find(const Llama2cCheckpoint& checkpoint, const std::string& name) {
  for (const TensorView& view : checkpoint.tensors) {
    if (view.name == name) return view;
  }
  throw std::runtime_error("tensor not found: " + name);
}

TEST(Llama2c, ReadsStories260KWithTheSameTensorsAsItsGguf) {
  const MappedFile bin(LOWBIT_SOURCE_DIR "/testdata/stories260K/stories260K.bin");
  const Llama2cCheckpoint checkpoint = parse_llama2c_checkpoint(bin.bytes(), bin.path());
  const ModelConfig& c = checkpoint.config;
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.context_length, 512);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(c.rope_style, RopeStyle::kInterleaved);
  EXPECT_TRUE(checkpoint.has_rope_tables);
  EXPECT_EQ(checkpoint.tensors.size(), 2u + 9u * 5u);

  // llama.cpp's conversion of the same checkpoint holds identical values under the same names and
  // shapes (plus an explicit output.weight, which the tied checkpoint does not store).
  const GgufFile gguf = GgufFile::open(LOWBIT_SOURCE_DIR "/testdata/stories260K/stories260K.gguf");
  for (const TensorView& view : checkpoint.tensors) {
    const GgufTensorInfo* twin = gguf.find_tensor(view.name);
    ASSERT_NE(twin, nullptr) << view.name;
    EXPECT_EQ(view.shape, twin->view.shape) << view.name;
    ASSERT_EQ(view.bytes, twin->view.bytes) << view.name;
    EXPECT_EQ(std::memcmp(view.data, twin->view.data, view.bytes), 0) << view.name;
  }
}

TEST(Llama2c, LaysOutTensorsInFileOrder) {
  const Header h{8, 12, 2, 2, 1, 10, 4};  // head 4, kv_dim 4
  const std::vector<uint8_t> bytes = synthetic_checkpoint(h, /*rope_tables=*/false);
  const Llama2cCheckpoint checkpoint = parse_llama2c_checkpoint(bytes, "tiny.bin");
  EXPECT_FALSE(checkpoint.has_rope_tables);
  EXPECT_EQ(first_value(find(checkpoint, "token_embd.weight")), 0.0f);
  EXPECT_EQ(first_value(find(checkpoint, "blk.0.attn_norm.weight")), 80.0f);
  EXPECT_EQ(first_value(find(checkpoint, "blk.1.attn_norm.weight")), 88.0f);
  EXPECT_EQ(first_value(find(checkpoint, "blk.0.attn_q.weight")), 96.0f);
  EXPECT_EQ(first_value(find(checkpoint, "blk.1.attn_q.weight")), 160.0f);
  EXPECT_EQ(first_value(find(checkpoint, "blk.0.attn_k.weight")), 224.0f);
  EXPECT_EQ(find(checkpoint, "blk.0.attn_k.weight").shape, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(find(checkpoint, "blk.1.ffn_down.weight").shape, (std::vector<int64_t>{8, 12}));
  const TensorView& norm = find(checkpoint, "output_norm.weight");
  EXPECT_EQ(first_value(norm), static_cast<float>((bytes.size() - 28) / 4 - 8));
  EXPECT_TRUE(checkpoint.config.tied_embeddings);
}

TEST(Llama2c, NegativeVocabMeansAStoredClassifierAfterTheRopeTables) {
  const Header h{8, 12, 1, 2, 2, -10, 4};
  const std::vector<uint8_t> bytes = synthetic_checkpoint(h, /*rope_tables=*/true);
  const Llama2cCheckpoint checkpoint = parse_llama2c_checkpoint(bytes, "untied.bin");
  EXPECT_FALSE(checkpoint.config.tied_embeddings);
  EXPECT_EQ(checkpoint.config.vocab_size, 10);
  EXPECT_TRUE(checkpoint.has_rope_tables);
  const TensorView& output = find(checkpoint, "output.weight");
  EXPECT_EQ(output.shape, (std::vector<int64_t>{10, 8}));
  EXPECT_EQ(first_value(output), static_cast<float>((bytes.size() - 28) / 4 - 80));
  EXPECT_EQ(static_cast<const uint8_t*>(output.data) + output.bytes, bytes.data() + bytes.size());
}

void expect_error(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  try {
    parse_llama2c_checkpoint(bytes, "bad.bin");
    ADD_FAILURE() << "parsed without error; expected: " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.bin"), std::string::npos) << e.what();
  }
}

TEST(Llama2c, RejectsWrongSizesAndBadHeaders) {
  const Header h{8, 12, 1, 2, 1, 10, 4};
  std::vector<uint8_t> bytes = synthetic_checkpoint(h, false);
  for (size_t length = 0; length < bytes.size(); length += 3) {
    EXPECT_THROW(parse_llama2c_checkpoint(std::span(bytes).first(length), "bad.bin"), Error) << length;
  }
  bytes.push_back(0);
  expect_error(bytes, "header implies");

  auto header_only = [](Header header) {
    std::vector<uint8_t> out(sizeof(Header) + 64);
    std::memcpy(out.data(), &header, sizeof(Header));
    return out;
  };
  expect_error(header_only({0, 12, 1, 2, 1, 10, 4}), "dim is 0");
  expect_error(header_only({8, -12, 1, 2, 1, 10, 4}), "hidden_dim is -12");
  expect_error(header_only({8, 12, 1, 2, 1, 0, 4}), "vocab_size is 0");
  expect_error(header_only({8, 12, 1, 3, 1, 10, 4}), "not a multiple of n_heads");
  expect_error(header_only({8, 12, 1, 2, 4, 10, 4}), "n_kv_heads");
  expect_error(header_only({1 << 30, 1 << 30, 1 << 30, 1, 1, 1 << 30, 1 << 30}), "overflow");
  expect_error(header_only({0x616b3432, 1, 1, 1, 1, 1, 1}), "versioned export");
}

}  // namespace test_llama2c
}  // namespace lowbit
