// Named mixes against llama-quantize's own choices (testdata/ggml: stories260K_type_choices.json from
// --dry-run, and every tensor's type in manifest.json), then the rules and options those runs do not
// reach, on LLaMA-shaped tensor lists with hand-derived expectations.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "formats/type_traits.h"
#include "quant/mix_policy.h"

namespace lowbit {
namespace test_mix_policy {

using nlohmann::json;

json load_json(const std::string& relative_path) {
  std::ifstream in(std::string(LOWBIT_SOURCE_DIR) + "/" + relative_path);
  EXPECT_TRUE(in.good()) << relative_path;
  return json::parse(in);
}

std::string type_name(TensorType type) { return type_traits(type).name; }

// The message of the lowbit::Error `fn` throws ("" and a test failure if it throws none).
template <typename Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no lowbit::Error thrown";
  return "";
}

struct SourceModel {
  std::vector<TensorTypeRequest> tensors;
  ModelShapeInfo shape;
};

const json& manifest_entry(const json& manifest, const std::string& file) {
  for (const json& entry : manifest["files"]) {
    if (entry["file"] == file) return entry;
  }
  throw std::runtime_error("manifest has no entry " + file);
}

uint64_t kv_value(const json& entry, const std::string& key) {
  for (const json& kv : entry["kv"]) {
    if (kv["key"] == key) return kv["value"].get<uint64_t>();
  }
  throw std::runtime_error("no key " + key);
}

// Tensor names and shapes (GGUF ne reversed to outermost-first) and head counts of a manifest entry.
SourceModel source_model(const json& manifest, const std::string& file) {
  const json& entry = manifest_entry(manifest, file);
  SourceModel model;
  for (const json& t : entry["tensors"]) {
    std::vector<int64_t> ne = t["ne"].get<std::vector<int64_t>>();
    model.tensors.push_back({t["name"].get<std::string>(), {ne.rbegin(), ne.rend()}});
  }
  model.shape.n_layers = static_cast<int64_t>(kv_value(entry, "llama.block_count"));
  model.shape.n_heads = static_cast<int64_t>(kv_value(entry, "llama.attention.head_count"));
  model.shape.n_kv_heads = static_cast<int64_t>(kv_value(entry, "llama.attention.head_count_kv"));
  return model;
}

struct QuantizeCommand {
  std::string input;
  MixOptions options;
};

// "llama-quantize [--dry-run] [--tensor-type P=T]... INPUT [OUTPUT] MIX THREADS"
QuantizeCommand parse_command(const std::string& command) {
  std::istringstream words(command);
  std::string word;
  std::vector<std::string> positional;
  QuantizeCommand parsed;
  words >> word;  // llama-quantize
  while (words >> word) {
    if (word == "--dry-run") continue;
    if (word == "--tensor-type") {
      words >> word;
      parsed.options.tensor_overrides.push_back(parse_tensor_type_override(word));
      continue;
    }
    positional.push_back(word);
  }
  EXPECT_GE(positional.size(), 3u) << command;
  parsed.input = positional.front();
  parsed.options.mix = positional[positional.size() - 2];
  return parsed;
}

using Fallback = std::tuple<std::string, std::string, std::string>;  // tensor, wanted, got

// One llama-quantize run of stories260K_type_choices.json: same types, same fallbacks, or an error
// naming the tensors llama.cpp stopped at.
void check_stories_run(const json& run, const SourceModel& stories) {
  SCOPED_TRACE(run["command"].get<std::string>());
  const MixOptions options = parse_command(run["command"]).options;
  if (run["exit_code"] != 0) {
    const std::string message = error_message([&] { MixPolicy(options, stories.shape, stories.tensors); });
    for (const json& warning : run["warnings"]) {
      if (!warning["fallback"].is_null()) continue;
      EXPECT_NE(message.find(warning["tensor"].get<std::string>()), std::string::npos) << message;
      EXPECT_NE(message.find(warning["wanted"].get<std::string>()), std::string::npos) << message;
    }
    EXPECT_NE(message.find("--tensor-type ffn_down=f16"), std::string::npos) << message;
    return;
  }
  const MixPolicy policy(options, stories.shape, stories.tensors);
  ASSERT_EQ(policy.choices().size(), run["tensor_types"].size());
  for (const auto& [name, type] : run["tensor_types"].items()) {
    EXPECT_EQ(type_name(policy.choose(name)), type.get<std::string>()) << name;
  }
  std::set<Fallback> expected, got;
  for (const json& f : run["fallbacks"]) {
    expected.insert({f["tensor"].get<std::string>(), f["wanted"].get<std::string>(), f["got"].get<std::string>()});
  }
  for (const TensorTypeChoice& c : policy.choices()) {
    if (c.fell_back()) got.insert({c.name, type_name(c.wanted), type_name(c.type)});
  }
  EXPECT_EQ(got, expected);
}

TEST(MixPolicyOracle, StoriesNamedMixesMatchLlamaQuantize) {
  const json manifest = load_json("testdata/ggml/manifest.json");
  const json choices = load_json("testdata/ggml/stories260K_type_choices.json");
  const SourceModel stories = source_model(manifest, "../../models/stories260K/stories260K.gguf");
  ASSERT_EQ(choices["mixes"].size(), named_mixes().size() - 1);  // every mix but F32
  for (const json& run : choices["mixes"]) check_stories_run(run, stories);
  ASSERT_FALSE(choices["with_tensor_type_override"].empty());
  for (const json& run : choices["with_tensor_type_override"]) check_stories_run(run, stories);
}

TEST(MixPolicyOracle, EveryQuantizedFileOfTheManifest) {
  const json manifest = load_json("testdata/ggml/manifest.json");
  const SourceModel synth = source_model(manifest, "synth-f32.gguf");
  const SourceModel stories = source_model(manifest, "../../models/stories260K/stories260K.gguf");
  int files = 0;
  for (const json& entry : manifest["files"]) {
    if (!entry["made_with"].is_object() || entry["made_with"]["command"].is_null()) continue;
    const json& command = entry["made_with"]["command"];
    SCOPED_TRACE(command.get<std::string>());
    const QuantizeCommand run = parse_command(command);
    const SourceModel& source = run.input == "synth-f32.gguf" ? synth : stories;
    const MixPolicy policy(run.options, source.shape, source.tensors);
    EXPECT_EQ(policy.mix().file_type, kv_value(entry, "general.file_type"));
    for (const json& t : entry["tensors"]) {
      EXPECT_EQ(type_name(policy.choose(t["name"].get<std::string>())), t["type"].get<std::string>()) << t["name"];
    }
    ++files;
  }
  EXPECT_EQ(files, 21);  // 16 synth mixes (shipped or not) and 5 stories260K files
  EXPECT_EQ(find_named_mix("F32").file_type, kv_value(manifest_entry(manifest, "synth-f32.gguf"), "general.file_type"));
}

// A LLaMA-shaped tensor list in llama.cpp's GGUF names, every row a multiple of 256.
std::vector<TensorTypeRequest> llama_tensors(int64_t n_layers, bool with_output = true, int64_t dim = 256) {
  const int64_t ff = 3 * dim;
  std::vector<TensorTypeRequest> tensors = {{"token_embd.weight", {512, dim}}, {"output_norm.weight", {dim}}};
  if (with_output) tensors.push_back({"output.weight", {512, dim}});
  for (int64_t i = 0; i < n_layers; ++i) {
    const std::string blk = "blk." + std::to_string(i) + ".";
    for (const auto& [role, shape] :
         std::vector<std::pair<std::string, std::vector<int64_t>>>{{"attn_norm", {dim}},
                                                                   {"attn_q", {dim, dim}},
                                                                   {"attn_k", {dim / 2, dim}},
                                                                   {"attn_v", {dim / 2, dim}},
                                                                   {"attn_output", {dim, dim}},
                                                                   {"ffn_norm", {dim}},
                                                                   {"ffn_gate", {ff, dim}},
                                                                   {"ffn_up", {ff, dim}},
                                                                   {"ffn_down", {dim, ff}}}) {
      tensors.push_back({blk + role + ".weight", shape});
    }
  }
  return tensors;
}

std::string layer_type(const MixPolicy& policy, int64_t layer, const std::string& role) {
  return type_name(policy.choose("blk." + std::to_string(layer) + "." + role + ".weight"));
}

MixOptions mix_options(const std::string& mix) {
  MixOptions options;
  options.mix = mix;
  return options;
}

TEST(MixPolicyRules, MoreBitsLayersOf32) {
  // n/8 = 4, 7n/8 = 28: layers 0-3 and 28-31, and between them every layer with (i - 4) % 3 == 2.
  const std::set<int64_t> more = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31};
  const auto tensors = llama_tensors(32);
  for (const auto& [mix, base] : {std::pair{"Q4_K_M", "q4_K"}, std::pair{"Q5_K_M", "q5_K"}}) {
    const MixPolicy policy(mix_options(mix), {32, 32, 8}, tensors);
    for (int64_t i = 0; i < 32; ++i) {
      const std::string expected = more.contains(i) ? "q6_K" : base;
      EXPECT_EQ(layer_type(policy, i, "attn_v"), expected) << mix << " layer " << i;
      EXPECT_EQ(layer_type(policy, i, "ffn_down"), expected) << mix << " layer " << i;
      EXPECT_EQ(layer_type(policy, i, "attn_output"), base);
    }
  }
}

TEST(MixPolicyRules, FirstLayersOf32) {
  const auto tensors = llama_tensors(32);
  const MixPolicy q3_k_m(mix_options("Q3_K_M"), {32, 32, 8}, tensors);
  const MixPolicy q4_k_s(mix_options("Q4_K_S"), {32, 32, 8}, tensors);
  for (int64_t i = 0; i < 32; ++i) {
    EXPECT_EQ(layer_type(q3_k_m, i, "attn_v"), i < 2 ? "q5_K" : "q4_K") << i;
    EXPECT_EQ(layer_type(q3_k_m, i, "ffn_down"), i < 32 / 16 ? "q5_K" : "q4_K") << i;
    EXPECT_EQ(layer_type(q3_k_m, i, "attn_output"), "q4_K");
    EXPECT_EQ(layer_type(q4_k_s, i, "attn_v"), i < 4 ? "q5_K" : "q4_K") << i;
    EXPECT_EQ(layer_type(q4_k_s, i, "ffn_down"), i < 32 / 8 ? "q5_K" : "q4_K") << i;
  }
}

TEST(MixPolicyRules, Q2KAttnVFollowsTheGroupedQueryRatio) {
  const auto tensors = llama_tensors(2);
  EXPECT_EQ(layer_type(MixPolicy(mix_options("Q2_K"), {2, 32, 8}, tensors), 1, "attn_v"), "q4_K");
  EXPECT_EQ(layer_type(MixPolicy(mix_options("Q2_K"), {2, 32, 16}, tensors), 1, "attn_v"), "q3_K");
  EXPECT_EQ(layer_type(MixPolicy(mix_options("Q2_K"), {2, 32, 0}, tensors), 1, "attn_v"), "q3_K");
}

TEST(MixPolicyRules, Llama70BLiftsAttnV) {
  const auto tensors = llama_tensors(80);
  const MixPolicy q3_k_s(mix_options("Q3_K_S"), {80, 64, 8}, tensors);
  EXPECT_EQ(layer_type(q3_k_s, 40, "attn_v"), "q5_K");
  EXPECT_EQ(layer_type(q3_k_s, 40, "attn_q"), "q3_K");
  const MixPolicy q4_k_m(mix_options("Q4_K_M"), {80, 64, 8}, tensors);
  EXPECT_EQ(layer_type(q4_k_m, 0, "attn_v"), "q6_K");   // first eighth
  EXPECT_EQ(layer_type(q4_k_m, 10, "attn_v"), "q5_K");  // q4_K lifted
  EXPECT_EQ(layer_type(q4_k_m, 10, "ffn_down"), "q4_K");
  // 80 layers without grouped-query attention is LLaMA-65B: no lift.
  EXPECT_EQ(layer_type(MixPolicy(mix_options("Q3_K_S"), {80, 64, 64}, tensors), 40, "attn_v"), "q3_K");
}

TEST(MixPolicyRules, TiedEmbeddingIsTheOutput) {
  const auto untied = llama_tensors(2);
  const auto tied = llama_tensors(2, /*with_output=*/false);
  EXPECT_EQ(type_name(MixPolicy(mix_options("Q4_K_M"), {2, 4, 2}, untied).choose("token_embd.weight")), "q4_K");
  EXPECT_EQ(type_name(MixPolicy(mix_options("Q4_K_M"), {2, 4, 2}, tied).choose("token_embd.weight")), "q6_K");
  EXPECT_EQ(type_name(MixPolicy(mix_options("Q8_0"), {2, 4, 2}, tied).choose("token_embd.weight")), "q8_0");

  MixOptions options = mix_options("Q4_K_M");
  options.output_type = TensorType::Q8_0;
  EXPECT_EQ(type_name(MixPolicy(options, {2, 4, 2}, tied).choose("token_embd.weight")), "q8_0");
  EXPECT_EQ(type_name(MixPolicy(options, {2, 4, 2}, untied).choose("token_embd.weight")), "q4_K");
  options.embedding_type = TensorType::Q5_0;
  EXPECT_EQ(type_name(MixPolicy(options, {2, 4, 2}, tied).choose("token_embd.weight")), "q5_0");
}

TEST(MixPolicyRules, ExplicitOutputAndEmbeddingTypes) {
  MixOptions options = mix_options("Q4_K_M");
  options.output_type = TensorType::Q4_0;
  options.embedding_type = TensorType::F16;
  options.tensor_overrides = {{"output", TensorType::Q8_0}, {"token_embd", TensorType::Q8_0}};
  const MixPolicy policy(options, {2, 4, 2}, llama_tensors(2));
  EXPECT_EQ(type_name(policy.choose("output.weight")), "q4_0");
  EXPECT_EQ(type_name(policy.choose("token_embd.weight")), "f16");
  EXPECT_EQ(layer_type(policy, 0, "attn_output"), "q8_0");  // "output" is a regex search

  // Taken as given: rows of 64 cannot hold q6_K, and no fallback replaces an explicit type.
  MixOptions narrow = mix_options("Q4_0");
  narrow.output_type = TensorType::Q6_K;
  const std::string message = error_message([&] { MixPolicy(narrow, {2, 4, 2}, llama_tensors(2, true, 64)); });
  EXPECT_NE(message.find("--output-type q6_K"), std::string::npos) << message;
  EXPECT_NE(message.find("output.weight"), std::string::npos) << message;
}

TEST(MixPolicyOverrides, FirstMatchingPatternWins) {
  MixOptions options = mix_options("Q4_K_M");
  options.tensor_overrides = {parse_tensor_type_override("attn=q8_0"), parse_tensor_type_override("attn_v=f16")};
  const MixPolicy policy(options, {4, 4, 2}, llama_tensors(4));
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(layer_type(policy, i, "attn_v"), "q8_0");
    EXPECT_EQ(layer_type(policy, i, "attn_q"), "q8_0");
    EXPECT_EQ(layer_type(policy, i, "ffn_up"), "q4_K");
    EXPECT_EQ(layer_type(policy, i, "attn_norm"), "f32");
  }
}

TEST(MixPolicyOverrides, PatternNamingTheBaseTypeDoesNotPin) {
  // As llama.cpp: attn_v=q4_K in a q4_K mix is skipped, so the mix's q6_K (layers 2 and 3 of 4) stays,
  // and the search goes on to the next pattern.
  MixOptions options = mix_options("Q4_K_M");
  options.tensor_overrides = {{"attn_v", TensorType::Q4_K}};
  const auto tensors = llama_tensors(4);
  const MixPolicy policy(options, {4, 4, 2}, tensors);
  EXPECT_EQ(layer_type(policy, 1, "attn_v"), "q4_K");
  EXPECT_EQ(layer_type(policy, 2, "attn_v"), "q6_K");
  EXPECT_EQ(layer_type(policy, 3, "attn_v"), "q6_K");
  options.tensor_overrides.push_back({"attn_v", TensorType::Q5_K});
  EXPECT_EQ(layer_type(MixPolicy(options, {4, 4, 2}, tensors), 2, "attn_v"), "q5_K");
}

TEST(MixPolicyOverrides, OverriddenTensorsDoNotAdvanceTheLayerCount) {
  // Q3_K_M gives q5_K to the first two attn_v the rules see; with blk.0's pinned, those are blk.1, blk.2.
  MixOptions options = mix_options("Q3_K_M");
  const auto tensors = llama_tensors(4);
  const MixPolicy plain(options, {4, 4, 2}, tensors);
  options.tensor_overrides = {parse_tensor_type_override(R"(blk\.0\.attn_v=q8_0)")};
  const MixPolicy pinned(options, {4, 4, 2}, tensors);
  const std::vector<std::string> plain_types = {"q5_K", "q5_K", "q4_K", "q4_K"};
  const std::vector<std::string> pinned_types = {"q8_0", "q5_K", "q5_K", "q4_K"};
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(layer_type(plain, i, "attn_v"), plain_types[i]) << i;
    EXPECT_EQ(layer_type(pinned, i, "attn_v"), pinned_types[i]) << i;
  }
}

TEST(MixPolicyOverrides, OverrideTypesFallBackLikeMixTypes) {
  MixOptions options = mix_options("Q8_0");
  options.tensor_overrides = {{"attn_q", TensorType::Q4_K}, {"ffn_up", TensorType::Q2_K}};
  const MixPolicy policy(options, {1, 4, 2}, llama_tensors(1, true, 64));
  const TensorTypeChoice& attn_q = policy.choices()[4];
  ASSERT_EQ(attn_q.name, "blk.0.attn_q.weight");
  EXPECT_TRUE(attn_q.fell_back());
  EXPECT_EQ(type_name(attn_q.type), "q5_0");
  EXPECT_EQ(describe_fallback(attn_q),
            "blk.0.attn_q.weight: rows of 64 elements do not fill q4_K's 256-element blocks; using q5_0");
  EXPECT_EQ(layer_type(policy, 0, "ffn_up"), "q4_0");

  options.tensor_overrides = {{"ffn_down", TensorType::Q4_K}};
  const std::vector<TensorTypeRequest> odd = {{"blk.0.ffn_down.weight", {64, 172}}};
  const MixPolicy odd_rows(options, {1, 4, 2}, odd);
  EXPECT_EQ(describe_fallback(odd_rows.choices()[0]),
            "blk.0.ffn_down.weight: rows of 172 elements do not fill q4_K's 256-element blocks; using f16 "
            "(q5_0 does not fit either)");
}

TEST(MixPolicyModes, PureKeepsTheBaseTypeAndAllowsNoFallback) {
  MixOptions options = mix_options("Q4_K_M");
  options.pure = true;
  const MixPolicy policy(options, {4, 4, 2}, llama_tensors(4));
  for (const TensorTypeChoice& c : policy.choices()) {
    EXPECT_EQ(type_name(c.type), c.name.find("norm") != std::string::npos ? "f32" : "q4_K") << c.name;
  }
  options.tensor_overrides = {{"ffn_down", TensorType::F16}};  // lowbit applies overrides under --pure
  EXPECT_EQ(layer_type(MixPolicy(options, {4, 4, 2}, llama_tensors(4)), 3, "ffn_down"), "f16");

  const std::string message = error_message([&] { MixPolicy(options, {1, 4, 2}, llama_tensors(1, true, 64)); });
  EXPECT_NE(message.find("--pure"), std::string::npos) << message;
  EXPECT_NE(message.find("blk.0.attn_q.weight (64 elements per row, q4_K blocks of 256)"), std::string::npos)
      << message;
  EXPECT_NE(message.find(R"(--tensor-type ^output\.weight$=f16)"), std::string::npos) << message;
  EXPECT_NE(message.find("--tensor-type attn_q=f16"), std::string::npos) << message;
}

TEST(MixPolicyModes, FloatMixesApplyNoRules) {
  const auto tensors = llama_tensors(2);
  for (const auto& [mix, type] : {std::pair{"F32", "f32"}, std::pair{"F16", "f16"}, std::pair{"BF16", "bf16"}}) {
    const MixPolicy policy(mix_options(mix), {2, 4, 2}, tensors);
    for (const TensorTypeChoice& c : policy.choices()) {
      EXPECT_EQ(type_name(c.type), c.name.find("norm") != std::string::npos ? "f32" : type) << c.name;
    }
  }
  MixOptions options = mix_options("F16");
  options.tensor_overrides = {parse_tensor_type_override("attn=q8_0")};
  const MixPolicy policy(options, {2, 4, 2}, tensors);
  EXPECT_EQ(layer_type(policy, 1, "attn_v"), "q8_0");
  EXPECT_EQ(layer_type(policy, 1, "ffn_down"), "f16");
}

TEST(MixPolicyModes, TensorsLlamaCppNeverQuantizes) {
  const std::vector<TensorTypeRequest> tensors = {
      {"rope_freqs.weight", {32}},          {"blk.0.attn_q.weight", {1, 256}}, {"blk.0.attn_k.weight", {256, 1}},
      {"blk.0.attn_norm.weight", {4, 256}}, {"blk.0.attn_q.bias2d", {4, 256}}, {"blk.0.scalar.weight", {}},
  };
  const MixPolicy policy(mix_options("Q4_K_M"), {1, 4, 2}, tensors);
  // {1, 256} counts as one dimension; {256, 1} is a matrix with rows of one element, which neither
  // q4_K nor its fallback q5_0 holds: f16.
  const std::vector<std::string> expected = {"f32", "f32", "f16", "f32", "f32", "f32"};
  for (size_t i = 0; i < tensors.size(); ++i) EXPECT_EQ(type_name(policy.choices()[i].type), expected[i]) << i;
}

TEST(MixPolicyModes, LayersCountInNumericOrder) {
  // Given in name order (blk.10 before blk.2), the rules still count blk.0 and blk.1 as the first.
  auto tensors = llama_tensors(12);
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  const MixPolicy policy(mix_options("Q3_K_M"), {12, 4, 2}, tensors);
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(layer_type(policy, i, "attn_v"), i < 2 ? "q5_K" : "q4_K") << i;

  EXPECT_TRUE(precedes_in_llama_order("blk.2.attn_v.weight", "blk.10.attn_q.weight"));
  EXPECT_TRUE(precedes_in_llama_order("output.weight", "token_embd.weight"));
  EXPECT_TRUE(precedes_in_llama_order("token_embd.weight", "blk.0.attn_k.weight"));
  EXPECT_FALSE(precedes_in_llama_order("blk.0.ffn_up.weight", "blk.0.attn_k.weight"));
}

TEST(MixPolicyModes, UnknownAndDuplicatedTensors) {
  const MixPolicy policy(mix_options("Q8_0"), {1, 4, 2}, llama_tensors(1));
  EXPECT_NE(error_message([&] { policy.choose("blk.7.attn_q.weight"); }).find("blk.7.attn_q.weight"),
            std::string::npos);
  auto tensors = llama_tensors(1);
  tensors.push_back(tensors[3]);
  EXPECT_NE(error_message([&] {
              MixPolicy(mix_options("Q8_0"), {1, 4, 2}, tensors);
            }).find("listed twice"),
            std::string::npos);
}

TEST(MixPolicyOptions, ParseTensorTypeOverride) {
  const TensorTypeOverride upper = parse_tensor_type_override("FFN_Down=F16");
  EXPECT_EQ(upper.pattern, "ffn_down");
  EXPECT_EQ(upper.type, TensorType::F16);
  EXPECT_EQ(parse_tensor_type_override(R"(blk\.[0-3]\.attn=Q4_k)").type, TensorType::Q4_K);
  // Split at the first '=', as llama-quantize does: "a=b=q8_0" names the type "b=q8_0".
  for (const char* bad : {"ffn_down", "=f16", "ffn_down=", "ffn_down=q9_9", "a=b=q8_0"}) {
    EXPECT_NE(error_message([&] { parse_tensor_type_override(bad); }).find("--tensor-type"), std::string::npos) << bad;
  }
}

TEST(MixPolicyOptions, BadPatternIsAnError) {
  MixOptions options = mix_options("Q4_0");
  options.tensor_overrides = {{"attn_(q", TensorType::F16}};
  const std::string message = error_message([&] { MixPolicy(options, {1, 4, 2}, llama_tensors(1)); });
  EXPECT_NE(message.find("attn_(q"), std::string::npos) << message;
  EXPECT_NE(message.find("regular expression"), std::string::npos) << message;
}

TEST(NamedMix, LookupAndTable) {
  EXPECT_EQ(find_named_mix("q4_k_m").id, MixId::Q4_K_M);
  EXPECT_EQ(find_named_mix("Q3_K").id, MixId::Q3_K_M);
  EXPECT_EQ(find_named_mix("Q4_K").id, MixId::Q4_K_M);
  EXPECT_EQ(find_named_mix("q5_k").id, MixId::Q5_K_M);
  EXPECT_EQ(find_named_mix("bf16").base_type, TensorType::BF16);
  const std::string message = error_message([] { find_named_mix("Q7_K"); });
  EXPECT_NE(message.find("Q7_K"), std::string::npos);
  EXPECT_NE(message.find("Q4_K_M"), std::string::npos);

  std::set<std::string> names;
  std::set<uint32_t> file_types;
  for (const NamedMix& mix : named_mixes()) {
    names.insert(mix.name);
    file_types.insert(mix.file_type);
    EXPECT_EQ(&find_named_mix(mix.name), &mix);
  }
  EXPECT_EQ(names.size(), 17u);
  EXPECT_EQ(file_types.size(), 17u);
}

}  // namespace test_mix_policy
}  // namespace lowbit
