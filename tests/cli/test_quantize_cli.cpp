// `lowbit quantize` as a user runs it: the built program in a child process, its exit status, output
// and report, and its peak resident memory on a generated model larger than the memory bound.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/mapped_file.h"
#include "core/sha256.h"
#include "io/gguf_writer.h"

extern char** environ;

namespace lowbit {
namespace test_quantize_cli {

namespace fs = std::filesystem;
const std::string kData = LOWBIT_SOURCE_DIR "/testdata/";
const std::string kLowbit = LOWBIT_BINARY_DIR "/lowbit";

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("lowbit_quantize_cli_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  uint64_t peak_rss_bytes = 0;  // the child's, from wait4
};

// Runs `lowbit args...` with stdout and stderr in files (so stderr is not a terminal: no progress bar).
RunResult run_lowbit(const std::vector<std::string>& args) {
  const std::string out_path = temp_path("stdout"), err_path = temp_path("stderr");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> argv_strings = {kLowbit};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  RunResult result;
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, kLowbit.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    ADD_FAILURE() << "cannot run " << kLowbit;
    return result;
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.peak_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  result.out = read_text(out_path);
  result.err = read_text(err_path);
  fs::remove(out_path);
  fs::remove(err_path);
  return result;
}

std::string file_sha256(const std::string& path) {
  const MappedFile file(path);
  return sha256_hex(file.data(), file.size());
}

std::string manifest_sha256(const std::string& file) {
  const nlohmann::json manifest = nlohmann::json::parse(std::ifstream(kData + "ggml/manifest.json"));
  for (const nlohmann::json& entry : manifest["files"]) {
    if (entry["file"] == file) return entry["sha256"];
  }
  return "";
}

TEST(QuantizeCli, WritesLlamaQuantizesFileAndReportsAsJson) {
  const std::string out = temp_path("q8.gguf");
  const RunResult run = run_lowbit({"quantize", kData + "stories260K/stories260K.gguf", out, "--type", "Q8_0",
                                    "--tensor-type", "ffn_down=f16", "--threads", "2", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(file_sha256(out), manifest_sha256("stories260K-Q8_0.gguf"));
  const nlohmann::json report = nlohmann::json::parse(run.out);
  ASSERT_EQ(report["tensors"].size(), 48u);
  EXPECT_EQ(report["tensors"][0]["name"], "output.weight");
  EXPECT_EQ(report["tensors"][0]["type"], "q8_0");
  EXPECT_EQ(report["tensors"][0]["shape"], nlohmann::json::array({512, 64}));
  EXPECT_DOUBLE_EQ(report["tensors"][0]["bits_per_weight"].get<double>(), 8.5);
  EXPECT_TRUE(report["tensors"][1]["sqnr_db"].is_null());  // output_norm.weight is copied exactly
  EXPECT_EQ(report["totals"]["file_bytes"], fs::file_size(out));
  EXPECT_EQ(report["totals"]["elements"], 292800);
  EXPECT_GT(report["totals"]["sqnr_db"].get<double>(), 40.0);
  EXPECT_GT(report["peak_rss_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(report["lowbit_only_types"], nlohmann::json::array());
  fs::remove(out);
}

TEST(QuantizeCli, PrintsATableAndTotals) {
  const std::string out = temp_path("q4.gguf");
  const RunResult run = run_lowbit({"quantize", kData + "stories260K/stories260K.bin", out, "--type", "Q4_0",
                                    "--tensor-type", "ffn_down=f16", "-z", kData + "stories260K/tok512.bin"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("tensor"), std::string::npos);
  EXPECT_NE(run.out.find("blk.0.ffn_down.weight     [64, 172]       f16"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("bits per weight"), std::string::npos);
  EXPECT_NE(run.out.find("smaller than F32"), std::string::npos);
  EXPECT_NE(run.out.find("peak resident memory"), std::string::npos);
  fs::remove(out);
}

void expect_one_line_error(const std::vector<std::string>& args, const std::string& output, const std::string& message_part) {
  const RunResult run = run_lowbit(args);
  EXPECT_EQ(run.exit_code, 1) << message_part;
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find(message_part), std::string::npos) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_FALSE(fs::exists(output)) << output;
}

TEST(QuantizeCli, ErrorsAreOneLineAndWriteNothing) {
  const std::string source = kData + "stories260K/stories260K.gguf", out = temp_path("error.gguf");
  expect_one_line_error({"quantize", source, out, "--type", "Q3"}, out, "unknown quantization mix 'Q3'");
  expect_one_line_error({"quantize", source, out, "--type", "Q4_0"}, out,
                        "stories260K.gguf: Q4_0: llama.cpp defines no fallback type for these rows: blk.0.ffn_down.weight");
  expect_one_line_error({"quantize", source, "/nonexistent-folder/out.gguf", "--type", "F16"}, "/nonexistent-folder/out.gguf",
                        "/nonexistent-folder/out.gguf");
  const RunResult same = run_lowbit({"quantize", source, source, "--type", "F16"});
  EXPECT_EQ(same.exit_code, 1);
  EXPECT_NE(same.err.find("would overwrite the input"), std::string::npos) << same.err;
  EXPECT_EQ(file_sha256(source), manifest_sha256("../../models/stories260K/stories260K.gguf"));
  EXPECT_EQ(run_lowbit({"quantize", source, out}).exit_code, 2);  // --type is required
}

// A generated F32 model of ~590 MB whose largest tensor is 11.5 MB: quantizing it must stay under that
// tensor's F32 size plus 256 MiB of resident memory, far less than the model.
TEST(QuantizeCli, PeakMemoryStaysUnderTheLargestTensorPlus256MiB) {
  const int64_t dim = 1024, hidden = 2816, layers = 11, vocab = 4096;
  GgufWriter writer;
  writer.set_metadata("general.architecture", gguf_string("llama"));
  writer.set_metadata("llama.context_length", gguf_uint32(256));
  writer.set_metadata("llama.embedding_length", gguf_uint32(dim));
  writer.set_metadata("llama.feed_forward_length", gguf_uint32(hidden));
  writer.set_metadata("llama.block_count", gguf_uint32(layers));
  writer.set_metadata("llama.attention.head_count", gguf_uint32(8));
  writer.set_metadata("llama.attention.head_count_kv", gguf_uint32(8));
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    uint64_t elements = 1;
    for (int64_t d : shape) elements *= static_cast<uint64_t>(d);
    writer.add_tensor({name, TensorType::F32, std::move(shape), elements * sizeof(float)});
  };
  add("token_embd.weight", {vocab, dim});
  add("output_norm.weight", {dim});
  add("output.weight", {vocab, dim});
  for (int64_t i = 0; i < layers; ++i) {
    const std::string blk = "blk." + std::to_string(i) + ".";
    add(blk + "attn_norm.weight", {dim});
    add(blk + "ffn_norm.weight", {dim});
    for (const char* name : {"attn_q", "attn_k", "attn_v", "attn_output"}) add(blk + name + ".weight", {dim, dim});
    add(blk + "ffn_gate.weight", {hidden, dim});
    add(blk + "ffn_up.weight", {hidden, dim});
    add(blk + "ffn_down.weight", {dim, hidden});
  }
  uint64_t model_bytes = 0, largest = 0;
  for (const GgufTensorSpec& spec : writer.tensors()) {
    model_bytes += spec.bytes;
    largest = std::max(largest, spec.bytes);
  }
  const std::string source = temp_path("big-f32.gguf"), out = temp_path("big-q8.gguf");
  std::vector<float> values;
  writer.write(source, [&](size_t index, AtomicFile& file) {
    values.resize(writer.tensors()[index].bytes / sizeof(float));
    uint32_t state = static_cast<uint32_t>(index) * 2654435761u + 1;
    for (float& v : values) {
      state = state * 1664525u + 1013904223u;  // any varied values will do
      v = static_cast<float>(static_cast<int32_t>(state >> 8) - (1 << 23)) * (0.05f / (1 << 23));
    }
    file.write(values.data(), writer.tensors()[index].bytes);
  });
  values = {};

  const uint64_t bound = largest + (uint64_t{256} << 20);
  ASSERT_GT(model_bytes, 2 * bound);  // the model could not fit under the bound
  const RunResult run = run_lowbit({"quantize", source, out, "--type", "Q8_0", "--threads", "2", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  RecordProperty("peak_rss_mib", std::to_string(run.peak_rss_bytes >> 20));
  RecordProperty("model_mib", std::to_string(model_bytes >> 20));
  EXPECT_LT(run.peak_rss_bytes, bound) << "peak RSS " << (run.peak_rss_bytes >> 20) << " MiB";
  const nlohmann::json report = nlohmann::json::parse(run.out);
  EXPECT_LE(report["peak_rss_bytes"].get<uint64_t>(), run.peak_rss_bytes);
  EXPECT_EQ(report["tensors"].size(), writer.tensors().size());
  fs::remove(source);
  fs::remove(out);
}

}  // namespace test_quantize_cli
}  // namespace lowbit
