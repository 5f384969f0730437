// `lowbit plan` as a user runs it: tables and JSON for a named shape, a config.json alone and a model
// file, device files, pricing, and one-line errors naming the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "run_lowbit.h"

namespace lowbit::test {
namespace test_plan_cli {

int count_lines(const std::string& text) {
  int lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

nlohmann::json plan_json(const std::string& arguments) {
  const CommandResult result = run_lowbit("plan " + arguments + " --bandwidth 100 --json");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return nlohmann::json::parse(result.output);
}

const nlohmann::json& precision(const nlohmann::json& plan, const std::string& name) {
  for (const nlohmann::json& row : plan["precisions"]) {
    if (row["name"] == name) return row;
  }
  ADD_FAILURE() << "no precision " << name;
  return plan;
}

TEST(PlanCli, NamedShapeTables) {
  const CommandResult result = run_lowbit("plan llama-7b --bandwidth 50 --gpu A100-80GB --price 4.1 --util 0.8");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* text : {"6738415616  (6.74 B)", "feed-forward", "FLOPs per token", "Q4_K_M", "lb_nf4_g64",
                           "RaspberryPi5-8GB", "H100-80GB", "cost on A100-80GB at $4.10 per hour, utilization 0.80"}) {
    EXPECT_NE(result.output.find(text), std::string::npos) << text << "\n" << result.output;
  }
}

TEST(PlanCli, ConfigJsonAloneAndModelFileAgree) {
  // tinystories-656K's config.json copied alone: no weights beside it.
  const std::string folder = (std::filesystem::temp_directory_path() / fmt::format("lowbit_plan_cli_{}", ::getpid())).string();
  std::filesystem::create_directories(folder);
  std::filesystem::copy_file(kTestdata + "/tinystories-656K/config.json", folder + "/config.json",
                             std::filesystem::copy_options::overwrite_existing);
  const nlohmann::json alone = plan_json(folder + "/config.json --ctx 256");
  const nlohmann::json with_weights = plan_json(kTestdata + "/tinystories-656K --ctx 256");
  std::filesystem::remove_all(folder);
  EXPECT_EQ(alone["parameters"]["total"], 656000);
  EXPECT_EQ(alone["parameters"], with_weights["parameters"]);
  EXPECT_EQ(alone["flops_per_token"], with_weights["flops_per_token"]);
  EXPECT_EQ(precision(alone, "Q8_0")["memory"], precision(with_weights, "Q8_0")["memory"]);
}

TEST(PlanCli, JsonMemoryFitAndCost) {
  const nlohmann::json plan = plan_json("llama-7b --ctx 4096 --batch 1 --kv-type f16 --gpu A10G-24GB --price 1 --util 0.5");
  EXPECT_EQ(plan["settings"]["context"], 4096);
  const nlohmann::json& f16 = precision(plan, "f16");
  EXPECT_EQ(f16["memory"]["kv_cache"], uint64_t{2} << 30);
  const uint64_t total = f16["memory"]["total"];
  EXPECT_EQ(total, f16["memory"]["weights"].get<uint64_t>() + (uint64_t{2} << 30) + f16["memory"]["activations"].get<uint64_t>());
  EXPECT_EQ(f16["devices"]["RTX4090-24GB"]["devices_needed"], 1);
  EXPECT_EQ(f16["devices"]["phone-8GB"]["devices_needed"], 0);
  EXPECT_EQ(precision(plan, "f32")["devices"]["A10G-24GB"]["devices_needed"], 2);
  EXPECT_EQ(precision(plan, "f32")["cost"]["gpus"], 2);
  EXPECT_DOUBLE_EQ(precision(plan, "f32")["cost"]["per_month"], 2 * 1.0 * 730 * 0.5);
  // Decode reads the weights and the KV cache once per token at 100 GB/s.
  const double bytes_per_token = f16["memory"]["weights"].get<double>() + f16["memory"]["kv_cache"].get<double>();
  EXPECT_NEAR(f16["decode_tokens_per_s"].get<double>(), 100e9 / bytes_per_token, 1e-9);
  // A mix that cannot apply is listed with the reason.
  const nlohmann::json small = plan_json(kTestdata + "/stories260K/stories260K.bin");
  EXPECT_TRUE(precision(small, "Q4_0").contains("unavailable"));
}

TEST(PlanCli, DevicesFileExtendsTheTable) {
  const std::string path = (std::filesystem::temp_directory_path() / fmt::format("lowbit_devices_{}.json", ::getpid())).string();
  std::ofstream(path) << R"([{"name": "my-box", "memory_gib": 3, "bandwidth_gb_s": 40}])";
  const nlohmann::json plan = plan_json("tinyllama-1.1b --devices " + path + " --device my-box --device H100-80GB");
  ASSERT_EQ(plan["devices"].size(), 2u);
  EXPECT_EQ(plan["devices"][0]["name"], "my-box");
  EXPECT_EQ(precision(plan, "Q4_K_M")["devices"]["my-box"]["devices_needed"], 1);
  EXPECT_EQ(precision(plan, "f32")["devices"]["my-box"]["devices_needed"], 0);

  std::ofstream(path) << R"([{"name": "my-box", "memory_gib": -5, "bandwidth_gb_s": 40}])";
  const CommandResult bad = run_lowbit("plan tinyllama-1.1b --bandwidth 1 --devices " + path);
  std::filesystem::remove(path);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(count_lines(bad.output), 1) << bad.output;
  EXPECT_NE(bad.output.find(path + ": device my-box: memory_gib must be a positive number"), std::string::npos) << bad.output;
}

TEST(PlanCli, ErrorsAreOneLineNamingTheProblem) {
  const std::string config = (std::filesystem::temp_directory_path() / fmt::format("lowbit_bad_config_{}.json", ::getpid())).string();
  std::ofstream(config) << R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 0})";
  for (const auto& [arguments, message] : {
           std::pair<std::string, std::string>{"plan " + config, config + ": hidden_size is 0"},
           {"plan /no/such/config.json", "/no/such/config.json: cannot open"},
           {"plan llama-9000b", "llama-9000b: no such file, folder or named shape"},
           {"plan llama-7b --bandwidth 1 --kv-type q9_9", "--kv-type q9_9: unknown type"},
           {"plan llama-7b --bandwidth 1 --gpu TPU --price 1", "unknown device TPU"},
           {"plan llama-7b --bandwidth 1 --gpu H100-80GB", "--gpu H100-80GB needs --price"},
           {"plan llama-7b --bandwidth 1 --precisions Q4_K_M,q9_K", "unknown precision q9_K"}}) {
    const CommandResult result = run_lowbit(arguments);
    EXPECT_EQ(result.exit_code, 1) << arguments << "\n" << result.output;
    EXPECT_EQ(count_lines(result.output), 1) << result.output;
    EXPECT_NE(result.output.find(message), std::string::npos) << result.output;
  }
  std::filesystem::remove(config);
  EXPECT_EQ(run_lowbit("plan llama-7b --ctx 0").exit_code, 2);
  EXPECT_EQ(run_lowbit("plan llama-7b --price 3").exit_code, 2);  // --price needs --gpu
  EXPECT_EQ(run_lowbit("plan llama-7b --gpu H100-80GB --price 3 --util 1.5").exit_code, 2);
}

TEST(PlanCli, FitWritesTheChosenMixWithinTheBudget) {
  const std::string output = (std::filesystem::temp_directory_path() / fmt::format("lowbit_fit_cli_{}.gguf", ::getpid())).string();
  const CommandResult result = run_lowbit("plan --fit 300K -m " + kTestdata + "/stories260K/stories260K.bin --calib " +
                                          kTestdata + "/text/tinystories_valid_calib.txt -o " + output +
                                          " --fit-ctx 64 --fit-chunks 1 --fit-refine 6 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json report = nlohmann::json::parse(result.output);
  EXPECT_EQ(report["budget_bytes"], 300 * 1024);
  EXPECT_LE(report["file_bytes"].get<uint64_t>(), 300u * 1024);
  EXPECT_EQ(report["file_bytes"].get<uint64_t>(), std::filesystem::file_size(output));
  EXPECT_LE(report["refined_choice"]["measured_kld"].get<double>(), report["summed_choice"]["measured_kld"].get<double>());
  EXPECT_LE(report["refined_choice"]["evaluations"].get<int>(), 7);
  EXPECT_TRUE(report["llama_cpp_loads"].get<bool>());
  EXPECT_EQ(report["tensors"].size(), 36u);
  std::filesystem::remove(output);

  const CommandResult no_calib = run_lowbit("plan --fit 300K -m " + kTestdata + "/stories260K/stories260K.bin -o " + output);
  EXPECT_EQ(no_calib.exit_code, 1);
  EXPECT_NE(no_calib.output.find("--fit needs --calib TEXT and -o OUT.gguf"), std::string::npos) << no_calib.output;
  const CommandResult too_small = run_lowbit("plan --fit 1K -m " + kTestdata + "/stories260K/stories260K.bin --calib " +
                                             kTestdata + "/text/tinystories_valid_calib.txt -o " + output + " --fit-chunks 1 --json");
  EXPECT_EQ(too_small.exit_code, 1);
  EXPECT_NE(too_small.output.find("1024 bytes"), std::string::npos) << too_small.output;
  EXPECT_FALSE(std::filesystem::exists(output));
}

}  // namespace test_plan_cli
}  // namespace lowbit::test
