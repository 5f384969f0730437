// The command line as a user meets it: help, exit codes, one-line errors naming the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "run_lowbit.h"

namespace lowbit::test {
namespace test_cli {

int count_lines(const std::string& text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

TEST(Cli, HelpListsEverySubcommandAndExitsZero) {
  const CommandResult result = run_lowbit("--help");
  EXPECT_EQ(result.exit_code, 0);
  for (const char* name : {"plan", "quantize", "run", "eval", "bench", "inspect"}) {
    EXPECT_NE(result.output.find(name), std::string::npos) << name;
  }
  for (const char* name : {"plan", "quantize", "run", "eval", "bench", "inspect"}) {
    EXPECT_EQ(run_lowbit(std::string(name) + " --help").exit_code, 0) << name;
  }
}

TEST(Cli, UnknownOptionsAndBadValuesExitTwo) {
  EXPECT_EQ(run_lowbit("--no-such-option").exit_code, 2);
  EXPECT_EQ(run_lowbit("no-such-command").exit_code, 2);
  EXPECT_EQ(run_lowbit("inspect " + kTestdata + "/stories260K/stories260K.bin --no-such-option").exit_code, 2);
  const CommandResult bad_scheme = run_lowbit("inspect " + kTestdata + "/stories260K/stories260K.bin --error int9-sym-g32");
  EXPECT_EQ(bad_scheme.exit_code, 2);
  EXPECT_NE(bad_scheme.output.find("int9-sym-g32"), std::string::npos);
}

TEST(Cli, MissingAndTruncatedFilesGiveOneLineNamingTheFile) {
  const CommandResult missing = run_lowbit("inspect /no/such/model.bin");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(count_lines(missing.output), 1) << missing.output;
  EXPECT_NE(missing.output.find("/no/such/model.bin"), std::string::npos);

  const std::string truncated = (std::filesystem::temp_directory_path() / "lowbit_cli_truncated.gguf").string();
  {
    std::ifstream in(kTestdata + "/stories260K/stories260K.gguf", std::ios::binary);
    std::string head(5000, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(truncated, std::ios::binary) << head;
  }
  const CommandResult result = run_lowbit("inspect " + truncated);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(count_lines(result.output), 1) << result.output;
  EXPECT_NE(result.output.find(truncated), std::string::npos);
  std::filesystem::remove(truncated);
}

TEST(Cli, InspectErrorTableOnTheBundledModel) {
  const CommandResult result = run_lowbit("inspect " + kTestdata + "/stories260K/stories260K.bin --error int4-asym-g32");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // 4-bit codes plus an FP16 scale and a 4-bit zero point per 32 weights.
  EXPECT_NE(result.output.find("int4-asym-g32-f16-minmax over 204288 quantized weights: 4.625 bits per weight"),
            std::string::npos)
      << result.output;
  // ffn_down rows (172) do not split into groups of 32: the table says so instead of failing.
  EXPECT_NE(result.output.find("group size 32 does not divide its row length 172"), std::string::npos);

  const CommandResult json = run_lowbit("inspect " + kTestdata + "/stories260K/stories260K.bin --error int8-sym-channel --json");
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_NE(json.output.find("\"scheme\": \"int8-sym-channel"), std::string::npos) << json.output;
  EXPECT_NE(json.output.find("\"sqnr_db\""), std::string::npos);
}

}  // namespace test_cli
}  // namespace lowbit::test
