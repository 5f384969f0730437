// `lowbit quantize --type <lowbit type>` as a user runs it: the llama.cpp warning, then `lowbit run`
// and `lowbit eval perplexity` on the file. Perplexity on a slice of the evaluation text: int8 stays
// within 1% of F32, int2 is far worse but finite.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "run_lowbit.h"

namespace lowbit::test {
namespace test_quantize_lowbit_cli {

namespace fs = std::filesystem;
const std::string kModel = kTestdata + "/stories260K/stories260K.gguf";
const std::string kText = kTestdata + "/text/tinystories_valid_eval.txt";

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("lowbit_lowbit_cli_" + std::to_string(::getpid()) + "_" + name)).string();
}

// The JSON document in a command's output; run_lowbit merges stderr in, whose progress and warning
// lines come before stdout's JSON (stdout is flushed at exit) and hold no braces.
nlohmann::json json_in(const std::string& output) {
  const size_t first = output.find('{'), last = output.rfind('}');
  if (first == std::string::npos || last == std::string::npos) throw std::runtime_error("no JSON in: " + output);
  return nlohmann::json::parse(output.begin() + static_cast<std::ptrdiff_t>(first), output.begin() + static_cast<std::ptrdiff_t>(last) + 1);
}

double perplexity(const std::string& model) {
  const CommandResult r = run_lowbit("eval perplexity -m " + model + " -f " + kText + " --ctx 128 --chunks 10 --json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return json_in(r.output)["ppl"].get<double>();
}

std::string quantize(const std::string& type) {
  const std::string out = temp_path(type + ".gguf");
  const CommandResult r = run_lowbit("quantize " + kModel + " " + out + " --type " + type + " --tensor-type ffn_down=f16");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warning: " + out + " holds lowbit-only types (" + type + "); llama.cpp cannot load it"),
            std::string::npos)
      << r.output;
  return out;
}

TEST(QuantizeLowbitCli, RunAndPerplexityOnLowbitTypes) {
  const double f32 = perplexity(kModel);
  const std::string int8 = quantize("lb_i8_sym_g32"), int2 = quantize("lb_i2_asym_g32");
  const double ppl8 = perplexity(int8), ppl2 = perplexity(int2);
  EXPECT_NEAR(ppl8, f32, 0.01 * f32);
  EXPECT_TRUE(std::isfinite(ppl2));
  EXPECT_GT(ppl2, 2 * f32);

  const CommandResult run = run_lowbit("run -m " + int8 + " -p 'Once upon a time' -n 16 --temp 0");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("Once upon a time"), std::string::npos) << run.output;
  fs::remove(int8);
  fs::remove(int2);
}

TEST(QuantizeLowbitCli, TensorTypeTakesALowbitType) {
  const std::string out = temp_path("override.gguf");
  const CommandResult r =
      run_lowbit("quantize " + kModel + " " + out + " --type Q8_0 --tensor-type ffn_down=f16 --tensor-type attn=lb_nf4_g64 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json report = json_in(r.output);
  EXPECT_EQ(report["lowbit_only_types"], nlohmann::json::array({"lb_nf4_g64"}));
  for (const nlohmann::json& t : report["tensors"]) {
    const std::string name = t["name"];
    if (name.find(".attn_") != std::string::npos && !name.ends_with("_norm.weight")) {
      EXPECT_EQ(t["type"], "lb_nf4_g64") << name;
    }
  }
  fs::remove(out);
}

}  // namespace test_quantize_lowbit_cli
}  // namespace lowbit::test
