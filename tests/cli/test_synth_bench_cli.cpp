// `lowbit synth` and `lowbit bench` as a user runs them: the built program, its exit status and output.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/cpu_features.h"
#include "run_lowbit.h"

namespace lowbit {
namespace test_synth_bench_cli {

using test::run_lowbit;
namespace fs = std::filesystem;

// A folder of its own per test program, removed at the end.
class SynthBenchCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("lowbit_synth_bench_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }

  static fs::path dir_;
};
fs::path SynthBenchCli::dir_;

// Small enough to be quick under the sanitizers.
const std::string kQuickBench = " -t 1 -p 8 -n 4 -r 2 --bandwidth-mib 32";

TEST_F(SynthBenchCli, SynthWritesAModelThatRuns) {
  const std::string model = path("tiny-q8.gguf");
  const auto synth = run_lowbit("synth --shape tiny --type Q8_0 --seed 4 -o " + model);
  ASSERT_EQ(synth.exit_code, 0) << synth.output;
  EXPECT_NE(synth.output.find("Q8_0"), std::string::npos) << synth.output;
  EXPECT_NE(synth.output.find(std::to_string(fs::file_size(model)) + " bytes"), std::string::npos) << synth.output;

  const auto run = run_lowbit("run -m " + model + " -p 'hello world' -n 5");
  EXPECT_EQ(run.exit_code, 0) << run.output;
}

TEST_F(SynthBenchCli, SynthErrorsAreOneLine) {
  const auto shape = run_lowbit("synth --shape llama-70b -o " + path("x.gguf"));
  EXPECT_EQ(shape.exit_code, 1);
  EXPECT_NE(shape.output.find("lowbit synth: error: unknown shape 'llama-70b'"), std::string::npos) << shape.output;
  const auto type = run_lowbit("synth --shape tiny --type Q9_9 -o " + path("x.gguf"));
  EXPECT_EQ(type.exit_code, 1) << type.output;
  EXPECT_FALSE(fs::exists(path("x.gguf")));
  EXPECT_EQ(run_lowbit("synth --type F16 -o " + path("x.gguf")).exit_code, 2);  // --shape is required
}

TEST_F(SynthBenchCli, BenchPrintsEveryFigure) {
  const std::string model = path("tiny-f16.gguf");
  ASSERT_EQ(run_lowbit("synth --shape tiny --type F16 -o " + model).exit_code, 0);
  const auto bench = run_lowbit("bench -m " + model + kQuickBench);
  ASSERT_EQ(bench.exit_code, 0) << bench.output;
  for (const char* field : {"weights/token", "kernels", "prefill pp8", "decode  tg4", "peak resident", "bandwidth",
                            "efficiency", "each decode against its own read"}) {
    EXPECT_NE(bench.output.find(field), std::string::npos) << field << "\n" << bench.output;
  }
}

TEST_F(SynthBenchCli, BenchJsonParses) {
  const std::string model = path("tiny-q4.gguf");
  ASSERT_EQ(run_lowbit("synth --shape tiny --type Q4_K_M -o " + model).exit_code, 0);
  const auto bench = run_lowbit("bench -m " + model + kQuickBench + " --json");
  ASSERT_EQ(bench.exit_code, 0) << bench.output;
  const nlohmann::json j = nlohmann::json::parse(bench.output);
  EXPECT_EQ(j["model_bytes"].get<uint64_t>(), fs::file_size(model));
  EXPECT_GT(j["weight_bytes_per_token"].get<uint64_t>(), 0u);
  EXPECT_LT(j["weight_bytes_per_token"].get<uint64_t>(), j["model_bytes"].get<uint64_t>());
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["kernels"].get<std::string>().rfind(cpu_level_name(active_cpu_level()), 0), 0u) << j["kernels"];
  EXPECT_EQ(j["prefill_tokens_per_second"]["samples"].size(), 2u);
  EXPECT_GT(j["prefill_tokens_per_second"]["median"].get<double>(), 0.0);
  EXPECT_GT(j["decode_tokens_per_second"]["median"].get<double>(), 0.0);
  EXPECT_GT(j["peak_resident_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(j["bandwidth_bytes_per_second"]["median"].get<double>(), 0.0);
  EXPECT_GT(j["decode_efficiency"].get<double>(), 0.0);
  EXPECT_EQ(j["decode_efficiency_samples"].size(), 2u);  // -r 2
  EXPECT_TRUE(j["type_bytes"].contains("q4_K"));
}

// LOWBIT_AMX=0 leaves AMX out of the kernel set; any value but 0 or 1 is an error naming the variable.
TEST_F(SynthBenchCli, LowbitAmxTurnsAmxOff) {
  const std::string model = path("tiny-amx.gguf");
  ASSERT_EQ(run_lowbit("synth --shape tiny --type Q4_0 -o " + model).exit_code, 0);
  ::setenv("LOWBIT_AMX", "0", 1);
  const auto off = run_lowbit("bench -m " + model + kQuickBench + " --json");
  ::setenv("LOWBIT_AMX", "2", 1);
  const auto bad = run_lowbit("bench -m " + model + kQuickBench);
  ::unsetenv("LOWBIT_AMX");
  ASSERT_EQ(off.exit_code, 0) << off.output;
  EXPECT_EQ(nlohmann::json::parse(off.output)["kernels"].get<std::string>().find("amx"), std::string::npos);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("LOWBIT_AMX=2"), std::string::npos) << bad.output;
}

TEST_F(SynthBenchCli, CompareQuantizesOrReusesEachType) {
  const std::string model = path("base.gguf");
  ASSERT_EQ(run_lowbit("synth --shape tiny --type F32 -o " + model).exit_code, 0);
  ASSERT_EQ(run_lowbit("synth --shape tiny --type Q4_0 -o " + path("base-Q4_0.gguf")).exit_code, 0);
  const auto compare = run_lowbit("bench --compare " + model + " --types F32,Q8_0,Q4_0" + kQuickBench);
  ASSERT_EQ(compare.exit_code, 0) << compare.output;
  EXPECT_NE(compare.output.find("Q8_0: quantizing"), std::string::npos) << compare.output;
  EXPECT_NE(compare.output.find("Q4_0: reusing " + path("base-Q4_0.gguf")), std::string::npos) << compare.output;
  EXPECT_NE(compare.output.find("tg vs F32"), std::string::npos) << compare.output;
  EXPECT_NE(compare.output.find("1.00x"), std::string::npos) << compare.output;  // F32 against itself
  EXPECT_FALSE(fs::exists(path("base-Q8_0.gguf")));                           // temporary unless --keep

  const auto json = run_lowbit("bench --compare " + model + " --types Q8_0 --keep --json" + kQuickBench);
  ASSERT_EQ(json.exit_code, 0) << json.output;
  const std::string text = json.output.substr(json.output.find('['));  // after the progress lines on stderr
  const nlohmann::json rows = nlohmann::json::parse(text);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["type"], "Q8_0");
  EXPECT_TRUE(fs::exists(path("base-Q8_0.gguf")));
}

TEST_F(SynthBenchCli, BenchErrors) {
  EXPECT_EQ(run_lowbit("bench").exit_code, 2);  // neither -m nor --compare
  const auto missing = run_lowbit("bench -m " + path("missing.gguf") + kQuickBench);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("lowbit bench: error: "), std::string::npos) << missing.output;
}

}  // namespace test_synth_bench_cli
}  // namespace lowbit
