#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "io/safetensors.h"

namespace lowbit {
namespace test_safetensors {

// A file with the given JSON header followed by `data_bytes` bytes numbered 0, 1, 2, ...
std::vector<uint8_t> make_file(const std::string& json, size_t data_bytes) {
  std::vector<uint8_t> bytes(8 + json.size());
  const uint64_t length = json.size();
  std::memcpy(bytes.data(), &length, 8);
  std::memcpy(bytes.data() + 8, json.data(), json.size());
  for (size_t i = 0; i < data_bytes; ++i) bytes.push_back(static_cast<uint8_t>(i));
  return bytes;
}

void expect_error(const std::vector<uint8_t>& bytes, const std::string& fragment) {
  try {
    parse_safetensors(bytes, "bad.safetensors");
    ADD_FAILURE() << "parsed without error; expected: " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, ReadsTinyStories656K) {
  const SafetensorsFile file = open_safetensors(LOWBIT_SOURCE_DIR "/testdata/tinystories-656K/model.safetensors");
  EXPECT_EQ(file.tensors.size(), 2u * 9u + 2u);
  EXPECT_EQ(file.metadata.at("format"), "pt");
  EXPECT_EQ(file.metadata.at("model.embed_tokens.weight"), "lm_head.weight");
  const uint8_t* data_start = file.map->data() + 8 + 2160;
  size_t total = 0;
  for (const TensorView& view : file.tensors) {
    EXPECT_EQ(view.type, TensorType::F32) << view.name;
    EXPECT_EQ(view.bytes, static_cast<size_t>(view.elements()) * 4) << view.name;
    total += view.bytes;
  }
  EXPECT_EQ(file.tensors.front().data, data_start);
  EXPECT_EQ(data_start + total, file.map->data() + file.map->size());  // contiguous, nothing left over
  const auto lm_head = std::find_if(file.tensors.begin(), file.tensors.end(), [](const TensorView& v) { return v.name == "lm_head.weight"; });
  ASSERT_NE(lm_head, file.tensors.end());
  EXPECT_EQ(lm_head->shape, (std::vector<int64_t>{2048, 128}));
}

TEST(Safetensors, ReadsAllSupportedDtypesInDataOrder) {
  const std::string json =
      R"({"b": {"dtype": "BF16", "shape": [2], "data_offsets": [12, 16]},)"
      R"( "a": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]},)"
      R"( "c": {"dtype": "F16", "shape": [2], "data_offsets": [8, 12]}})";
  const std::vector<uint8_t> bytes = make_file(json, 16);
  const SafetensorsFile file = parse_safetensors(bytes, "ok.safetensors");
  ASSERT_EQ(file.tensors.size(), 3u);
  EXPECT_EQ(file.tensors[0].name, "a");
  EXPECT_EQ(file.tensors[0].shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(file.tensors[1].type, TensorType::F16);
  EXPECT_EQ(file.tensors[2].type, TensorType::BF16);
  EXPECT_EQ(*static_cast<const uint8_t*>(file.tensors[2].data), 12);
  EXPECT_TRUE(file.metadata.empty());
}

TEST(Safetensors, RejectsMalformedHeaders) {
  const std::string good = R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  const std::vector<uint8_t> valid = make_file(good, 8);
  EXPECT_NO_THROW(parse_safetensors(valid, "ok.safetensors"));
  for (size_t length = 0; length < valid.size(); ++length) {
    EXPECT_THROW(parse_safetensors(std::span(valid).first(length), "cut.safetensors"), Error) << length;
  }

  std::vector<uint8_t> huge_length = valid;
  huge_length[7] = 0x7f;
  expect_error(huge_length, "implausibly large");
  expect_error(make_file("{\"t\": ", 8), "not valid JSON");
  expect_error(make_file("[1, 2]", 0), "not a JSON object");
  expect_error(make_file(std::string(50, '[') + std::string(50, ']'), 0), "nested deeper");
  expect_error(make_file(R"({"t": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})", 8), "dtype I64");
  expect_error(make_file(R"({"t": {"shape": [2], "data_offsets": [0, 8]}})", 8), "no dtype");
  expect_error(make_file(R"({"t": {"dtype": "F32", "data_offsets": [0, 8]}})", 8), "no shape");
  expect_error(make_file(R"({"t": {"dtype": "F32", "shape": [2]}})", 8), "no data_offsets");
  expect_error(make_file(R"({"t": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", 8), "non-negative");
  expect_error(make_file(R"({"t": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}})", 8), "empty dimension");
  expect_error(make_file(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}})", 8), "outside");
  expect_error(make_file(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", 8), "outside");
  expect_error(make_file(R"({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 12), "need 12");
  expect_error(make_file(R"({"t": {"dtype": "F32", "shape": [4611686018427387904, 8], "data_offsets": [0, 8]}})", 8), "overflow");
  expect_error(make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                         R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", 12),
               "overlap");
  expect_error(make_file(R"({"__metadata__": {"format": 1}})", 0), "not a string");
}

TEST(Safetensors, OpenNamesMissingFile) {
  EXPECT_THROW(open_safetensors("/nonexistent/model.safetensors"), Error);
}

}  // namespace test_safetensors
}  // namespace lowbit
