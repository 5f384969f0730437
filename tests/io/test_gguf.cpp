#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "core/sha256.h"
#include "gguf_bytes.h"
#include "io/gguf.h"

namespace lowbit {
namespace test_gguf {

using testing::GgufBytes;
using testing::small_valid_gguf;

const std::string kStoriesGguf = LOWBIT_SOURCE_DIR "/testdata/stories260K/stories260K.gguf";
const std::string kStoriesBin = LOWBIT_SOURCE_DIR "/testdata/stories260K/stories260K.bin";

GgufFile parse(const std::vector<uint8_t>& bytes) { return GgufFile::parse(bytes, "test.gguf"); }

// The parse must fail with a lowbit::Error whose message contains `fragment`.
void expect_error(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  try {
    parse(bytes);
    ADD_FAILURE() << "parsed without error; expected: " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.gguf"), std::string::npos) << e.what();
  }
}

TEST(Gguf, ReadsStories260K) {
  const GgufFile file = GgufFile::open(kStoriesGguf);
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.tensors().size(), 48u);
  EXPECT_EQ(file.metadata().size(), 19u);
  EXPECT_EQ(file.alignment(), 32u);
  EXPECT_EQ(file.data_offset(), 14176u);
  EXPECT_EQ(file.get_string("general.architecture"), "llama");
  EXPECT_EQ(file.get_uint("llama.block_count"), 5u);
  EXPECT_EQ(file.get_int("llama.embedding_length"), 64);
  EXPECT_EQ(file.get_uint("llama.context_length"), 2048u);
  EXPECT_FLOAT_EQ(static_cast<float>(*file.get_float("llama.attention.layer_norm_rms_epsilon")), 1e-5f);
  EXPECT_EQ(file.get_uint("no.such.key"), std::nullopt);

  const auto tokens = file.get_string_array("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.has_value());
  ASSERT_EQ(tokens->size(), 512u);
  EXPECT_EQ((*tokens)[1], "<s>");
  EXPECT_EQ(file.get_float_array("tokenizer.ggml.scores")->size(), 512u);
  const auto types = file.get_int_array("tokenizer.ggml.token_type");
  ASSERT_EQ(types->size(), 512u);
  EXPECT_EQ((*types)[0], 2);  // <unk>
  EXPECT_EQ((*types)[1], 3);  // <s> control

  const GgufTensorInfo* embd = file.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->ne, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(embd->view.shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(embd->view.type, TensorType::F32);
  EXPECT_EQ(embd->view.bytes, 512u * 64u * 4u);
  const GgufTensorInfo* attn_k = file.find_tensor("blk.0.attn_k.weight");
  ASSERT_NE(attn_k, nullptr);
  EXPECT_EQ(attn_k->view.shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(file.find_tensor("missing"), nullptr);

  // The GGUF holds the same values as the llama2.c checkpoint, whose embedding follows its 28-byte header.
  std::ifstream bin(kStoriesBin, std::ios::binary);
  std::vector<char> bin_bytes((std::istreambuf_iterator<char>(bin)), {});
  ASSERT_GT(bin_bytes.size(), 28u + embd->view.bytes);
  EXPECT_EQ(std::memcmp(embd->view.data, bin_bytes.data() + 28, embd->view.bytes), 0);
}

// llama.cpp's own account of the quantized files it wrote (testdata/ggml/manifest.json): header facts
// and, per tensor, dimensions, type, absolute data offset, size and SHA-256 of the stored bytes.
TEST(Gguf, MatchesLlamaCppManifest) {
  const std::string folder = LOWBIT_SOURCE_DIR "/testdata/ggml/";
  const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(folder + "manifest.json"));
  size_t files_checked = 0;
  for (const nlohmann::json& entry : manifest.at("files")) {
    const std::string path = folder + entry.at("file").get<std::string>();
    if (!std::filesystem::exists(path)) continue;  // not every listed file is shipped
    SCOPED_TRACE(path);
    const GgufFile file = GgufFile::open(path);
    const nlohmann::json& header = entry.at("gguf");
    EXPECT_EQ(file.version(), header.at("version").get<uint32_t>());
    EXPECT_EQ(file.metadata().size(), header.at("n_kv").get<size_t>());
    EXPECT_EQ(file.alignment(), header.at("alignment").get<uint64_t>());
    EXPECT_EQ(file.data_offset(), header.at("data_section_offset").get<uint64_t>());
    ASSERT_EQ(file.tensors().size(), entry.at("tensors").size());
    for (const nlohmann::json& expected : entry.at("tensors")) {
      const GgufTensorInfo* info = file.find_tensor(expected.at("name").get<std::string>());
      ASSERT_NE(info, nullptr) << expected.at("name");
      EXPECT_EQ(info->ne, expected.at("ne").get<std::vector<int64_t>>());
      EXPECT_EQ(static_cast<uint32_t>(info->view.type), expected.at("type_id").get<uint32_t>());
      EXPECT_EQ(info->offset, expected.at("offset_rel").get<uint64_t>());
      EXPECT_EQ(static_cast<const uint8_t*>(info->view.data) - file.mapped_file()->data(), expected.at("offset").get<int64_t>());
      EXPECT_EQ(info->view.bytes, expected.at("n_bytes").get<size_t>());
      EXPECT_EQ(sha256_hex(info->view.data, info->view.bytes), expected.at("sha256").get<std::string>()) << info->view.name;
    }
    ++files_checked;
  }
  EXPECT_GE(files_checked, 16u);  // 5 stories260K and 11 synth quantizations are shipped
}

TEST(Gguf, TypedGettersRejectWrongTypes) {
  const GgufFile file = GgufFile::open(kStoriesGguf);
  EXPECT_THROW(file.get_string("llama.block_count"), Error);
  EXPECT_THROW(file.get_uint("general.architecture"), Error);
  EXPECT_THROW(file.get_bool("llama.block_count"), Error);
  EXPECT_THROW(file.get_string_array("tokenizer.ggml.scores"), Error);
  EXPECT_THROW(file.get_int_array("tokenizer.ggml.tokens"), Error);
  EXPECT_THROW(file.get_float("tokenizer.ggml.tokens"), Error);
}

TEST(Gguf, ReadsVocabOnlyFiles) {
  const GgufFile spm = GgufFile::open(LOWBIT_SOURCE_DIR "/testdata/tokenizer-tests/ggml-vocab-llama-spm.gguf");
  EXPECT_TRUE(spm.tensors().empty());
  EXPECT_EQ(spm.metadata().size(), 22u);
  EXPECT_EQ(spm.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(spm.get_string_array("tokenizer.ggml.tokens")->size(), 32000u);
  EXPECT_EQ(spm.get_bool("tokenizer.ggml.add_bos_token"), true);

  const GgufFile gpt2 = GgufFile::open(LOWBIT_SOURCE_DIR "/testdata/tokenizer-tests/ggml-vocab-gpt-2.gguf");
  EXPECT_EQ(gpt2.metadata().size(), 16u);
  EXPECT_EQ(gpt2.get_string("tokenizer.ggml.pre"), "gpt-2");
  EXPECT_EQ(gpt2.get_string_array("tokenizer.ggml.tokens")->size(), 50257u);
  EXPECT_EQ(gpt2.get_string_array("tokenizer.ggml.merges")->size(), 50000u);
  EXPECT_EQ(gpt2.get_uint("tokenizer.ggml.bos_token_id"), 50256u);
}

TEST(Gguf, ParsesSmallValidFile) {
  const std::vector<uint8_t> bytes = small_valid_gguf();
  const GgufFile file = parse(bytes);
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.data_offset() % 32, 0u);
  const GgufTensorInfo& a = file.tensors()[0];
  EXPECT_EQ(a.view.shape, (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(a.view.bytes, 64u);
  EXPECT_EQ(a.view.data, bytes.data() + file.data_offset());
  EXPECT_EQ(file.tensors()[1].view.type, TensorType::F16);
  EXPECT_EQ(file.tensors()[1].view.data, bytes.data() + file.data_offset() + 64);
}

TEST(Gguf, EveryTruncationIsAnError) {
  const std::vector<uint8_t> bytes = small_valid_gguf();
  for (size_t length = 0; length < bytes.size(); ++length) {
    const std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_THROW(parse(truncated), Error) << "truncated to " << length << " bytes";
  }
}

TEST(Gguf, RejectsBadMagicAndVersions) {
  std::vector<uint8_t> bytes = small_valid_gguf();
  bytes[0] = 'X';
  expect_error(bytes, "bad magic");
  expect_error(GgufBytes().header(1, 0, 0).bytes, "version 1 is not supported");
  expect_error(GgufBytes().header(4, 0, 0).bytes, "unsupported GGUF version 4");
  expect_error(GgufBytes().header(0x03000000, 0, 0).bytes, "big-endian");
}

TEST(Gguf, ReadsVersion2) {
  GgufBytes file;
  file.header(2, 0, 1).kv_u32("general.alignment", 8);
  EXPECT_EQ(parse(file.bytes).version(), 2u);
}

TEST(Gguf, RejectsHugeCountsBeforeAllocating) {
  expect_error(GgufBytes().header(3, uint64_t{1} << 60, 0).bytes, "tensor count");
  expect_error(GgufBytes().header(3, 0, ~uint64_t{0}).bytes, "metadata key-value count");
  GgufBytes huge_array;
  huge_array.header(3, 0, 1).string("x").put<uint32_t>(9).put<uint32_t>(0).put<uint64_t>(uint64_t{1} << 62);
  expect_error(huge_array.bytes, "cannot fit");
  GgufBytes huge_string;
  huge_string.header(3, 0, 1).string("x").put<uint32_t>(8).put<uint64_t>(~uint64_t{0});
  expect_error(huge_string.bytes, "file ends");
  GgufBytes huge_key;
  huge_key.header(3, 0, 1).put<uint64_t>(70000).zeros(16);
  expect_error(huge_key.bytes, "exceeds the limit");
}

TEST(Gguf, RejectsBadValues) {
  GgufBytes bad_type;
  bad_type.header(3, 0, 1).string("x").put<uint32_t>(13).put<uint32_t>(0);
  expect_error(bad_type.bytes, "unknown metadata value type 13");
  GgufBytes bad_bool;
  bad_bool.header(3, 0, 1).string("x").put<uint32_t>(7).put<uint8_t>(2);
  expect_error(bad_bool.bytes, "neither 0 nor 1");
  GgufBytes duplicate;
  duplicate.header(3, 0, 2).kv_u32("k", 1).kv_u32("k", 2);
  expect_error(duplicate.bytes, "appears twice");
  expect_error(GgufBytes().header(3, 0, 1).kv_u32("general.alignment", 0).bytes, "power of two");
  expect_error(GgufBytes().header(3, 0, 1).kv_u32("general.alignment", 48).bytes, "power of two");
  GgufBytes signed_alignment;
  signed_alignment.header(3, 0, 1).string("general.alignment").put<uint32_t>(5).put<int32_t>(-32);
  expect_error(signed_alignment.bytes, "non-negative");
}

TEST(Gguf, ReadsNestedArraysAndLimitsDepth) {
  // [[1, 2], []] as an array of arrays of uint16.
  GgufBytes nested;
  nested.header(3, 0, 1).string("nested").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(2);
  nested.put<uint32_t>(2).put<uint64_t>(2).put<uint16_t>(1).put<uint16_t>(2);
  nested.put<uint32_t>(2).put<uint64_t>(0);
  const GgufFile file = parse(nested.bytes);
  const GgufArray& outer = std::get<GgufArray>(file.find("nested")->value);
  ASSERT_EQ(outer.items.size(), 2u);
  const GgufArray& first = std::get<GgufArray>(outer.items[0].value);
  EXPECT_EQ(first.element_type, GgufValueType::UINT16);
  EXPECT_EQ(std::get<uint64_t>(first.items[1].value), 2u);
  EXPECT_THROW(file.get_int_array("nested"), Error);

  GgufBytes deep;
  deep.header(3, 0, 1).string("deep").put<uint32_t>(9);
  for (int i = 0; i < 100; ++i) deep.put<uint32_t>(9).put<uint64_t>(1);
  deep.put<uint32_t>(0).put<uint64_t>(0);
  expect_error(deep.bytes, "nested deeper");
}

TEST(Gguf, RejectsBadTensorInfos) {
  auto one_tensor = [](const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data) {
    GgufBytes file;
    file.header(3, 1, 0).tensor_info(name, ne, type, offset).pad_to(32).zeros(data);
    return file.bytes;
  };
  EXPECT_NO_THROW(parse(one_tensor("t", {8}, 0, 0, 32)));
  expect_error(one_tensor("t", {8}, 0, 32, 32), "runs past the end");
  expect_error(one_tensor("t", {8}, 0, ~uint64_t{0} - 31, 32), "runs past the end");
  expect_error(one_tensor("t", {8}, 0, 16, 64), "not a multiple of the alignment");
  expect_error(one_tensor("t", {8}, 99, 0, 32), "unknown type id 99");
  expect_error(one_tensor("t", {1, 1, 1, 1, 1}, 0, 0, 32), "5 dimensions");
  expect_error(one_tensor("t", {8, 0}, 0, 0, 32), "invalid dimension 1");
  expect_error(one_tensor("t", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0, 32), "overflow");
  expect_error(one_tensor("t", {16}, 2, 0, 32), "not a multiple of the block size 32");  // q4_0
  expect_error(one_tensor(std::string(65, 'n'), {8}, 0, 0, 32), "tensor name");
  expect_error(one_tensor("t", {uint64_t{1} << 62}, 0, 0, 32), "size overflow");

  GgufBytes twice;
  twice.header(3, 2, 0).tensor_info("t", {8}, 0, 0).tensor_info("t", {8}, 0, 32).pad_to(32).zeros(64);
  expect_error(twice.bytes, "appears twice");
  GgufBytes overlap;
  overlap.header(3, 2, 0).tensor_info("a", {16}, 0, 0).tensor_info("b", {8}, 0, 32).pad_to(32).zeros(64);
  expect_error(overlap.bytes, "overlap");
}

TEST(Gguf, HonoursAlignment) {
  GgufBytes file;
  file.header(3, 1, 1).kv_u32("general.alignment", 64).tensor_info("t", {4}, 0, 0).pad_to(64).zeros(16);
  const GgufFile parsed = parse(file.bytes);
  EXPECT_EQ(parsed.alignment(), 64u);
  EXPECT_EQ(parsed.data_offset() % 64, 0u);
  EXPECT_EQ(parsed.data_offset(), file.bytes.size() - 16);
}

TEST(Gguf, OpenNamesMissingFile) {
  try {
    GgufFile::open("/nonexistent/model.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

}  // namespace test_gguf
}  // namespace lowbit
