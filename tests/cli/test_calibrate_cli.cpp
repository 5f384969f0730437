// `lowbit calibrate` and `lowbit quantize --method/--calib` as a user runs them: the stats file feeds
// every method; bad input (a short text, a method that needs stats without them, stats of another
// model, a corrupt stats file) is one error line naming the file, exit 1, and no output file.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "run_lowbit.h"

namespace lowbit::test {
namespace test_calibrate_cli {

namespace fs = std::filesystem;
const std::string kStories = kTestdata + "/stories260K/stories260K.bin";
const std::string kTiny656 = kTestdata + "/tinystories-656K";
const std::string kCalibText = kTestdata + "/text/tinystories_valid_calib.txt";

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("lowbit_calibrate_cli_" + std::to_string(::getpid()) + "_" + name)).string();
}

nlohmann::json json_in(const std::string& output) {
  const size_t first = output.find('{'), last = output.rfind('}');
  if (first == std::string::npos || last == std::string::npos) throw std::runtime_error("no JSON in: " + output);
  return nlohmann::json::parse(output.begin() + static_cast<std::ptrdiff_t>(first), output.begin() + static_cast<std::ptrdiff_t>(last) + 1);
}

// Calibrates both models once, on the head of the calibration text (a few contexts keep it fast).
class CalibrateCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::ifstream in(kCalibText, std::ios::binary);
    std::string head(8192, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(text_) << head.substr(0, head.rfind('\n') + 1);
    for (const auto& [model, stats] : {std::pair{kStories, stories_stats_}, {kTiny656, tiny_stats_}}) {
      const CommandResult r = run_lowbit("calibrate -m " + model + " -f " + text_ + " --tokens 256 --ctx 64 --bins 256 -o " + stats);
      ASSERT_EQ(r.exit_code, 0) << r.output;
      EXPECT_NE(r.output.find("4/4 contexts (100%)"), std::string::npos) << r.output;
      EXPECT_NE(r.output.find("256 tokens in contexts of 64"), std::string::npos) << r.output;
    }
  }
  static void TearDownTestSuite() {
    for (const std::string& path : {text_, stories_stats_, tiny_stats_}) fs::remove(path);
  }

  // quantize stories260K with ffn_down in F16 (its 172-element rows fit no 32-element block).
  static CommandResult quantize(const std::string& arguments, const std::string& output) {
    return run_lowbit("quantize " + kStories + " " + output + " --tensor-type ffn_down=f16 --json " + arguments);
  }

  static inline const std::string text_ = temp_path("head.txt");
  static inline const std::string stories_stats_ = temp_path("stories260K.stats");
  static inline const std::string tiny_stats_ = temp_path("tinystories-656K.stats");
};

TEST_F(CalibrateCli, EveryMethodQuantizesWithTheStats) {
  const std::string out = temp_path("method.gguf");
  for (const std::string method : {"rtn", "gptq", "awq", "awq+gptq"}) {
    SCOPED_TRACE(method);
    const CommandResult r = quantize("--type lb_i4_asym_g32 --method " + method + " --calib " + stories_stats_ +
                                         " --awq-grid 4 --no-awq-clip --damp 0.02 --act-order",
                                     out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const nlohmann::json report = json_in(r.output);
    EXPECT_EQ(report["method"], method);
    EXPECT_EQ(report["calib"], stories_stats_);
    EXPECT_GT(report["totals"]["seconds"].get<double>(), 0);
    for (const auto& tensor : report["tensors"]) {
      if (tensor["type"] != "lb_i4_asym_g32") continue;
      EXPECT_GT(tensor["seconds"].get<double>(), 0) << tensor["name"];
      EXPECT_LT(tensor["relative_rms_error"].get<double>(), 0.5) << tensor["name"];
    }
  }
  fs::remove(out);
}

TEST_F(CalibrateCli, StaticSmoothQuantAppendsActivationScales) {
  const std::string out = temp_path("w8a8.gguf");
  const CommandResult r = quantize("--type lb_w8_row --method smoothquant --alpha 0.5 --act-quant static --calib " + stories_stats_, out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json tensors = json_in(r.output)["tensors"];
  size_t first_scale = tensors.size();
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i]["name"].get<std::string>().ends_with(".act_scale") && first_scale == tensors.size()) first_scale = i;
  }
  ASSERT_LT(first_scale, tensors.size()) << r.output;
  for (size_t i = first_scale; i < tensors.size(); ++i) {  // after every source tensor, as F32
    EXPECT_TRUE(tensors[i]["name"].get<std::string>().ends_with(".act_scale")) << tensors[i]["name"];
    EXPECT_EQ(tensors[i]["type"], "f32");
  }
  const CommandResult run = run_lowbit("run -m " + out + " -p 'Once upon a time' -n 8 --temp 0 --act-quant static");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  fs::remove(out);
}

// The command fails with one line naming `file`, and `output` does not appear.
void expect_refused(const CommandResult& r, const std::string& file, const std::string& problem, const std::string& output) {
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("error: " + file), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(problem), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(output)) << output;
}

TEST_F(CalibrateCli, BadInputIsAnErrorNamingTheFileAndWritesNothing) {
  const std::string out = temp_path("refused.gguf");
  const std::string short_text = temp_path("short.txt");
  std::ofstream(short_text) << "Once upon a time there was a cat.\n";
  const std::string stats = temp_path("short.stats");
  expect_refused(run_lowbit("calibrate -m " + kStories + " -f " + short_text + " -o " + stats), short_text,
                 "fewer than one context of 128", stats);
  fs::remove(short_text);

  const CommandResult no_stats = quantize("--type lb_i3_asym_g32 --method gptq", out);
  EXPECT_EQ(no_stats.exit_code, 1) << no_stats.output;
  EXPECT_NE(no_stats.output.find("--method gptq needs calibration statistics: give --calib STATS"), std::string::npos) << no_stats.output;
  EXPECT_FALSE(fs::exists(out));

  expect_refused(quantize("--type lb_i3_asym_g32 --method awq --calib " + tiny_stats_, out), tiny_stats_,
                 "recorded from another model", out);

  const std::string corrupt = temp_path("corrupt.stats");
  std::ofstream(corrupt) << "LBCALIBS not really";
  expect_refused(quantize("--type lb_i3_asym_g32 --method gptq --calib " + corrupt, out), corrupt, "version", out);
  fs::remove(corrupt);

  const CommandResult unknown = quantize("--type lb_i3_asym_g32 --method gtpq", out);
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("unknown quantization method 'gtpq'"), std::string::npos) << unknown.output;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace test_calibrate_cli
}  // namespace lowbit::test
