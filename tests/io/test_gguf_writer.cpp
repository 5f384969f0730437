#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"

namespace lowbit {
namespace test_gguf_writer {

const std::string kTestdata = LOWBIT_SOURCE_DIR "/testdata";

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("lowbit_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Rewrites a llama.cpp-made file from what the reader parsed: the result must be the same bytes, which
// proves metadata encoding (every value type used there), tensor infos, alignment and padding.
void expect_rewrite_identical(const std::string& path) {
  const GgufFile original = GgufFile::open(path);
  GgufWriter writer;
  for (const auto& [key, value] : original.metadata()) writer.set_metadata(key, value);
  for (const GgufTensorInfo& info : original.tensors()) {
    writer.add_tensor({info.view.name, info.view.type, info.view.shape, info.view.bytes});
  }
  const std::string out = temp_path(std::filesystem::path(path).filename().string());
  writer.write(out, [&](size_t i, AtomicFile& file) {
    const TensorView& view = original.tensors()[i].view;
    file.write(view.data, view.bytes);
  });
  EXPECT_EQ(read_bytes(out), read_bytes(path)) << path;
  std::filesystem::remove(out);
}

TEST(GgufWriter, RewritesLlamaCppFilesByteForByte) {
  expect_rewrite_identical(kTestdata + "/stories260K/stories260K.gguf");
  expect_rewrite_identical(kTestdata + "/ggml/stories260K-Q4_0.gguf");
  expect_rewrite_identical(kTestdata + "/ggml/synth-Q4_K_M.gguf");
  expect_rewrite_identical(kTestdata + "/tokenizer-tests/ggml-vocab-gpt-2.gguf");
}

TEST(GgufWriter, ReplacesMetadataInPlaceAndRoundTripsValues) {
  GgufWriter writer;
  writer.set_metadata("general.architecture", gguf_string("llama"));
  writer.set_metadata("a.count", gguf_uint32(7));
  writer.set_metadata("general.architecture", gguf_string("qwen2"));
  writer.set_metadata("a.eps", gguf_float32(1e-5f));
  writer.set_metadata("a.flag", gguf_bool(true));
  GgufArray nested{GgufValueType::ARRAY, {}};
  nested.items.push_back({GgufValueType::ARRAY, GgufArray{GgufValueType::INT32, {{GgufValueType::INT32, int64_t{-3}}}}});
  writer.set_metadata("a.nested", {GgufValueType::ARRAY, nested});
  const std::vector<float> data = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  writer.add_tensor({"w", TensorType::F32, {2, 3}, sizeof(float) * data.size()});

  const std::string out = temp_path("values.gguf");
  writer.write(out, [&](size_t, AtomicFile& file) { file.write(data.data(), sizeof(float) * data.size()); });
  const GgufFile file = GgufFile::open(out);
  ASSERT_EQ(file.metadata().size(), 5u);
  EXPECT_EQ(file.metadata()[0].first, "general.architecture");
  EXPECT_EQ(file.get_string("general.architecture"), "qwen2");
  EXPECT_EQ(file.get_uint("a.count"), 7u);
  EXPECT_FLOAT_EQ(static_cast<float>(*file.get_float("a.eps")), 1e-5f);
  EXPECT_EQ(file.get_bool("a.flag"), true);
  const auto& outer = std::get<GgufArray>(file.find("a.nested")->value);
  const auto& inner = std::get<GgufArray>(outer.items.at(0).value);
  EXPECT_EQ(std::get<int64_t>(inner.items.at(0).value), -3);
  const GgufTensorInfo* w = file.find_tensor("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->view.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(static_cast<const float*>(w->view.data)[5], 6.0f);
  std::filesystem::remove(out);
}

TEST(GgufWriter, WrongTensorSizeLeavesNoFileAndKeepsExistingOne) {
  const std::string out = temp_path("partial.gguf");
  { std::ofstream(out) << "previous content"; }
  GgufWriter writer;
  writer.add_tensor({"w", TensorType::F32, {4}, 16});
  const float two[2] = {1.0f, 2.0f};
  EXPECT_THROW(writer.write(out, [&](size_t, AtomicFile& file) { file.write(two, sizeof(two)); }), Error);
  std::ifstream in(out);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "previous content");
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
    EXPECT_EQ(entry.path().string().find(out + ".tmp-"), std::string::npos) << "temporary file left behind";
  }
  std::filesystem::remove(out);
}

TEST(GgufWriter, UnwritableDestinationIsAnErrorNamingIt) {
  GgufWriter writer;
  try {
    writer.write("/nonexistent-folder/x.gguf", [](size_t, AtomicFile&) {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-folder/x.gguf"), std::string::npos);
  }
}

}  // namespace test_gguf_writer
}  // namespace lowbit
