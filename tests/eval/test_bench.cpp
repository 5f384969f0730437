#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "core/memory_bandwidth.h"
#include "core/process_memory.h"
#include "eval/bench.h"
#include "io/model_file.h"
#include "io/synth_model.h"

namespace lowbit {
namespace test_bench {

SynthOptions seeded(uint64_t seed) {
  SynthOptions options;
  options.seed = seed;
  return options;
}

class BenchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    path_ = (std::filesystem::temp_directory_path() / ("lowbit_test_bench_" + std::to_string(::getpid()) + ".gguf")).string();
    write_synth_model(find_synth_shape("tiny"), path_, seeded(5));
  }
  static void TearDownTestSuite() { std::filesystem::remove(path_); }

  static BenchOptions small_options() {
    BenchOptions options;
    options.threads = 1;
    options.prompt_tokens = 8;
    options.decode_tokens = 4;
    options.repetitions = 3;
    options.bandwidth_buffer_bytes = 16 << 20;
    return options;
  }

  static std::string path_;
};
std::string BenchTest::path_;

TEST(RateStats, MedianSpreadAndDeviation) {
  const RateStats odd{{3.0, 1.0, 2.0}};
  EXPECT_DOUBLE_EQ(odd.median(), 2.0);
  EXPECT_DOUBLE_EQ(odd.min(), 1.0);
  EXPECT_DOUBLE_EQ(odd.max(), 3.0);
  EXPECT_DOUBLE_EQ(odd.stddev(), 1.0);
  EXPECT_DOUBLE_EQ((RateStats{{4.0, 1.0, 2.0, 3.0}}.median()), 2.5);
  EXPECT_DOUBLE_EQ((RateStats{{5.0}}.stddev()), 0.0);
  EXPECT_DOUBLE_EQ((RateStats{}.median()), 0.0);
}

TEST(MemoryBandwidth, OnePositiveFigurePerPass) {
  const BandwidthResult result = measure_read_bandwidth(BandwidthOptions{.buffer_bytes = 8 << 20, .passes = 3, .threads = 1});
  ASSERT_EQ(result.bytes_per_second.size(), 3u);
  for (double b : result.bytes_per_second) {
    EXPECT_GT(b, 1e8);  // any machine reads faster than 100 MB/s
    EXPECT_LE(b, result.best());
  }
  EXPECT_LE(result.median(), result.best());
}

TEST(MemoryBandwidth, ReadsForAtLeastTheTimeAsked) {
  BandwidthMeter meter(8 << 20, 1);
  EXPECT_GT(meter.read_for(0.0), 1e8);  // one pass
  const auto start = std::chrono::steady_clock::now();
  EXPECT_GT(meter.read_for(0.05), 1e8);
  EXPECT_GE(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.05);
}

TEST(ProcessMemory, PeakCoversWhatWasTouched) {
  ASSERT_GT(resident_bytes(), 0u);
  std::vector<char> block(64 << 20, 1);  // 64 MiB, written so that it is resident
  // The block escapes through a volatile store: Clang at -O3 otherwise drops an allocation nothing reads.
  char* volatile escaped = block.data();
  (void)escaped;
  EXPECT_GE(peak_resident_bytes(), block.size());
  // The resident figure first: it can grow between two reads (the allocator's pages), the peak never falls.
  const uint64_t resident = resident_bytes();
  EXPECT_GE(peak_resident_bytes(), resident);
  EXPECT_GT(available_memory_bytes(), 0u);  // this process holds at least 64 MiB; the machine has more
}

TEST_F(BenchTest, MeasuresTheTinySynthModel) {
  const BenchResult r = run_bench(path_, small_options());
  EXPECT_EQ(r.threads, 1);
  EXPECT_EQ(r.model_bytes, std::filesystem::file_size(path_));

  const std::unique_ptr<ModelFile> model = open_model(path_);
  uint64_t all = 0;
  for (const TensorView& t : model->tensors()) all += t.bytes;
  EXPECT_EQ(r.weight_bytes_per_token, all - model->tensor("token_embd.weight").bytes);
  ASSERT_EQ(r.type_bytes.size(), 1u);
  EXPECT_EQ(r.type_bytes[0].first, "f32");
  EXPECT_EQ(r.type_bytes[0].second, all);

  ASSERT_EQ(r.prefill.samples.size(), 3u);
  ASSERT_EQ(r.decode.samples.size(), 3u);
  for (double s : r.prefill.samples) EXPECT_TRUE(std::isfinite(s) && s > 0);
  for (double s : r.decode.samples) EXPECT_TRUE(std::isfinite(s) && s > 0);
  EXPECT_GE(r.peak_resident_bytes, r.model_bytes / 2);  // the weights were read, so mostly resident
  EXPECT_TRUE(r.weights_in_memory);  // a small model fits

  // One bandwidth figure per repetition, each decode run against its own.
  ASSERT_EQ(r.bandwidth.bytes_per_second.size(), 3u);
  EXPECT_DOUBLE_EQ(r.decode_bytes_per_second(), static_cast<double>(r.weight_bytes_per_token) * r.decode.median());
  const std::vector<double> efficiencies = r.decode_efficiencies();
  ASSERT_EQ(efficiencies.size(), 3u);
  for (size_t i = 0; i < efficiencies.size(); ++i) {
    EXPECT_DOUBLE_EQ(efficiencies[i], static_cast<double>(r.weight_bytes_per_token) * r.decode.samples[i] /
                                          r.bandwidth.bytes_per_second[i]);
  }
  EXPECT_DOUBLE_EQ(r.decode_efficiency(), RateStats{efficiencies}.median());
}

TEST_F(BenchTest, WithMmapTheWeightsStayInTheFileMap) {
  BenchOptions options = small_options();
  options.use_map = true;
  options.measure_bandwidth = false;
  const BenchResult r = run_bench(path_, options);
  EXPECT_FALSE(r.weights_in_memory);
  for (double s : r.decode.samples) EXPECT_TRUE(std::isfinite(s) && s > 0);
}

TEST_F(BenchTest, WithoutBandwidthTheEfficiencyIsZero) {
  BenchOptions options = small_options();
  options.measure_bandwidth = false;
  options.repetitions = 1;
  const BenchResult r = run_bench(path_, options);
  EXPECT_TRUE(r.bandwidth.bytes_per_second.empty());
  EXPECT_TRUE(r.decode_efficiencies().empty());
  EXPECT_EQ(r.decode_efficiency(), 0.0);
}

TEST_F(BenchTest, RejectsRunsTheModelCannotHold) {
  BenchOptions options = small_options();
  options.prompt_tokens = find_synth_shape("tiny").config.context_length + 1;
  EXPECT_THROW(run_bench(path_, options), Error);
  options = small_options();
  options.repetitions = 0;
  EXPECT_THROW(run_bench(path_, options), Error);
  EXPECT_THROW(run_bench(path_ + ".missing", small_options()), Error);
}

}  // namespace test_bench
}  // namespace lowbit
