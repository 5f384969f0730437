// lowbit's own types against the numeric core, and `quantize_model` writing them: every lowbit type
// dequantizes to exactly the values quant/linear.h, codebook_quant.h and fp8_quant.h reconstruct for
// its scheme; files holding them are marked and read back through the GGUF reader.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "formats/type_traits.h"
#include "io/gguf.h"
#include "quant/quantize_model.h"
#include "quant/scheme.h"

namespace lowbit {
namespace test_quantize_lowbit_types {

namespace fs = std::filesystem;
const std::string kStories = LOWBIT_SOURCE_DIR "/testdata/stories260K/stories260K.gguf";

std::vector<const TypeTraits*> lowbit_rows() {
  std::vector<const TypeTraits*> rows;
  for (uint32_t id = kLowbitTypeBase; id < 2 * kLowbitTypeBase; ++id) {
    // lb_q4_0x16, lb_q4_kx2 and lb_q8_0x16 are ggml's types (their rounding, non-finite values kept) in
    // other layouts: their own tests are in tests/formats/test_interleaved_layouts.cpp.
    if (id == static_cast<uint32_t>(kQ4_0x16Type) || id == static_cast<uint32_t>(kQ4_Kx2Type) ||
        id == static_cast<uint32_t>(kQ8_0x16Type)) {
      continue;
    }
    if (const TypeTraits* t = find_type_traits(id)) rows.push_back(t);
  }
  return rows;
}

// The numeric core's scheme for a lowbit type, and how much of a row it quantizes as one tensor: the
// whole row where the core's scales are per group too, one block where the lowbit type keeps per
// block what the core keeps per tensor (FP8's scale, double quantization's mean and second level).
struct CoreScheme {
  std::string scheme;
  bool per_block;
};

CoreScheme core_scheme(std::string name) {
  if (name.starts_with("lb_i")) {  // lb_i4_asym_g32 -> int4-asym-g32, lb_i3_asym_row -> int3-asym-channel
    name = "int" + name.substr(4);
    if (name.ends_with("_row")) name.replace(name.size() - 3, 3, "channel");
    std::replace(name.begin(), name.end(), '_', '-');
    return {name, false};
  }
  if (name == "lb_w8_row") return {"int8-sym-channel-f32", false};
  if (name == "lb_nf4_g64") return {"nf4-g64-f32", false};
  if (name == "lb_nf4_g64_f16") return {"nf4-g64-f16", false};
  if (name == "lb_fp4_g64") return {"fp4-g64-f32", false};
  if (name == "lb_fp4_g64_f16") return {"fp4-g64-f16", false};
  if (name == "lb_nf4_dq") return {"nf4-g64-dq", true};
  if (name == "lb_fp8_e4m3_g32") return {"fp8-e4m3", true};
  if (name == "lb_fp8_e5m2_g32") return {"fp8-e5m2", true};
  ADD_FAILURE() << "no numeric-core scheme for " << name;
  return {};
}

// What the numeric core reconstructs for x ({1, x.size()}) under the scheme.
std::vector<float> core_values(const QuantScheme& scheme, std::span<const float> x) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<float> y(x.size());
  if (const auto* linear = std::get_if<LinearSpec>(&scheme.spec)) {
    dequantize_linear(quantize_linear("x", x, 1, n, *linear), y);
  } else if (const auto* codebook = std::get_if<CodebookSpec>(&scheme.spec)) {
    dequantize_codebook(quantize_codebook("x", x, 1, n, *codebook), y);
  } else {
    dequantize_fp8(quantize_fp8("x", x, 1, n, std::get<Fp8Spec>(scheme.spec)), y);
  }
  return y;
}

TEST(LowbitTypes, DequantizeToTheNumericCoresValues) {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (const TypeTraits* t : lowbit_rows()) {
    SCOPED_TRACE(t->name);
    const CoreScheme core = core_scheme(t->name);
    const QuantScheme scheme = parse_quant_scheme(core.scheme);
    std::vector<float> x(static_cast<size_t>(t->block_size) * 4);  // one row of 4 blocks
    for (float& v : x) v = normal(rng);
    x[5] = 0.9f;  // an outlier

    std::vector<uint8_t> bytes(t->row_bytes(static_cast<int64_t>(x.size())));
    t->from_float(x.data(), bytes.data(), static_cast<int64_t>(x.size()));
    std::vector<float> y(x.size());
    t->to_float(bytes.data(), y.data(), static_cast<int64_t>(x.size()));

    std::vector<float> expected;
    const size_t piece = core.per_block ? static_cast<size_t>(t->block_size) : x.size();
    for (size_t first = 0; first < x.size(); first += piece) {
      const std::vector<float> part = core_values(scheme, std::span<const float>(x).subspan(first, piece));
      expected.insert(expected.end(), part.begin(), part.end());
    }
    ASSERT_EQ(y, expected);
  }
}

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("lowbit_lowbit_types_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

QuantizeOptions options_for(const std::string& type, std::vector<std::string> tensor_types) {
  QuantizeOptions options;
  options.type = type;
  options.tensor_types = std::move(tensor_types);
  options.lowbit_version = "test";
  return options;
}

// stories260K's ffn_down rows hold 172 elements, which no lowbit block divides: they stay F16.
TEST(LowbitTypes, QuantizeStories260KToEveryFittingType) {
  const GgufFile source = GgufFile::open(kStories);
  for (const std::string type : {"lb_i8_sym_g32", "lb_i2_asym_g32", "lb_i4_asym_g64", "lb_nf4_g64", "lb_fp4_g64_f16",
                                 "lb_fp8_e4m3_g32", "lb_fp8_e5m2_g32"}) {
    SCOPED_TRACE(type);
    const std::string out = temp_path(type + ".gguf");
    const QuantizeReport report = quantize_model(kStories, out, options_for(type, {"ffn_down=f16"}));
    EXPECT_EQ(report.lowbit_only_types, std::vector<std::string>{type});

    const GgufFile file = GgufFile::open(out);
    EXPECT_EQ(file.get_uint("lowbit.format_version"), 1u);
    EXPECT_EQ(file.get_string_array("lowbit.types"), std::vector<std::string>{type});
    EXPECT_EQ(file.get_uint("general.file_type"), static_cast<uint64_t>(find_type_traits(type)->type));
    const TypeTraits& traits = *find_type_traits(type);
    int lowbit_tensors = 0;
    for (const GgufTensorInfo& info : file.tensors()) {
      const TensorView& view = info.view;
      if (view.type != traits.type) continue;
      ++lowbit_tensors;
      // The stored bytes are the type's quantization of the F32 source.
      const TensorView* original = nullptr;
      for (const GgufTensorInfo& s : source.tensors()) {
        if (s.view.name == view.name) original = &s.view;
      }
      ASSERT_NE(original, nullptr);
      std::vector<uint8_t> expected(view.bytes);
      traits.from_float(static_cast<const float*>(original->data), expected.data(), original->elements());
      ASSERT_EQ(std::vector<uint8_t>(static_cast<const uint8_t*>(view.data), static_cast<const uint8_t*>(view.data) + view.bytes),
                expected)
          << view.name;
    }
    // Token embedding, output, and attention and ffn_gate/ffn_up of 5 layers: no llama.cpp rule
    // lifts output.weight to q6_K in a lowbit type's mix.
    EXPECT_EQ(lowbit_tensors, 2 + 5 * 6);
    fs::remove(out);
  }
}

TEST(LowbitTypes, OverrideInAGgmlMixMarksOnlyThatType) {
  const std::string out = temp_path("override.gguf");
  const QuantizeReport report = quantize_model(kStories, out, options_for("Q8_0", {"ffn_down=f16", "attn_v=lb_nf4_g64_f16"}));
  EXPECT_EQ(report.lowbit_only_types, std::vector<std::string>{"lb_nf4_g64_f16"});
  const GgufFile file = GgufFile::open(out);
  EXPECT_EQ(file.get_string_array("lowbit.types"), std::vector<std::string>{"lb_nf4_g64_f16"});
  fs::remove(out);

  quantize_model(kStories, out, options_for("Q8_0", {"ffn_down=f16"}));
  const GgufFile plain = GgufFile::open(out);
  EXPECT_EQ(plain.find("lowbit.types"), nullptr);  // a llama.cpp file stays unmarked
  EXPECT_EQ(plain.find("lowbit.format_version"), nullptr);
  fs::remove(out);
}

TEST(LowbitTypes, RowsTheBlockDoesNotDivideAreAnError) {
  const std::string out = temp_path("g128.gguf");
  try {
    quantize_model(kStories, out, options_for("lb_i4_sym_g128", {}));
    FAIL() << "stories260K's 64-element rows do not hold 128-element blocks";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lb_i4_sym_g128"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
}

TEST(LowbitTypes, UnknownTypeNamesTheLowbitTypes) {
  try {
    quantize_model(kStories, temp_path("x.gguf"), options_for("lb_i9_sym_g32", {}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lb_i4_asym_g32"), std::string::npos) << e.what();
  }
}

}  // namespace test_quantize_lowbit_types
}  // namespace lowbit
