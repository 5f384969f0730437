// The stats file: save/load round trip, refusal of another model's stats, and malformed files (every
// truncation, bad fields, sizes that would overflow) rejected with lowbit::Error naming the file. The
// libFuzzer corpus of fuzz/fuzz_calib_stats.cpp is replayed here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "core/error.h"
#include "quant/calib_stats.h"

namespace lowbit {
namespace test_calib_stats {

namespace fs = std::filesystem;

ModelConfig tiny_config() { return llama_model_config(/*dim=*/4, /*hidden_dim=*/6, /*n_layers=*/1, 2, 1, /*vocab=*/10, 16); }

SiteStats make_site(std::string name, std::vector<std::string> weights, int64_t channels, bool with_gram) {
  SiteStats site;
  site.name = std::move(name);
  site.weights = std::move(weights);
  site.channels = channels;
  site.tokens = 7;
  for (int64_t c = 0; c < channels; ++c) {
    site.mean_square.push_back(0.25 * static_cast<double>(c + 1));
    site.abs_max.push_back(1.5f + static_cast<float>(c));
  }
  if (with_gram) {
    for (int64_t i = 0; i < channels * channels; ++i) site.gram.push_back(0.125f * static_cast<float>(i));
  }
  site.ranges = {{-1, 2}, {-0.5f, 1.5f}, {-0.75f, 1.75f}, {-1.25f, 1.25f}, {-1, 1}};
  return site;
}

// One layer of a 4-dim model: all five sites, the Gram matrix on two of them.
CalibStats tiny_stats() {
  CalibStats stats;
  stats.source = {"model.gguf", tiny_config(), "calib.txt", 8, 64};
  stats.sites.push_back(make_site("blk.0.attn_in", {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}, 4, true));
  stats.sites.push_back(make_site("blk.0.attn_out_in", {"blk.0.attn_output.weight"}, 4, false));
  stats.sites.push_back(make_site("blk.0.ffn_in", {"blk.0.ffn_gate.weight", "blk.0.ffn_up.weight"}, 4, false));
  stats.sites.push_back(make_site("blk.0.ffn_down_in", {"blk.0.ffn_down.weight"}, 6, true));
  stats.sites.push_back(make_site("output_in", {"output.weight"}, 4, false));
  return stats;
}

class CalibStatsFile : public ::testing::Test {
 protected:
  void SetUp() override { path_ = (fs::temp_directory_path() / ("lowbit_calib_stats_" + std::to_string(::getpid()) + ".stats")).string(); }
  void TearDown() override { fs::remove(path_); }

  std::vector<uint8_t> saved_bytes(const CalibStats& stats) {
    stats.save(path_);
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  std::string path_;
};

void expect_same(const SiteStats& a, const SiteStats& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.weights, b.weights);
  EXPECT_EQ(a.channels, b.channels);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.mean_square, b.mean_square);
  EXPECT_EQ(a.abs_max, b.abs_max);
  EXPECT_EQ(a.gram, b.gram);
  for (auto [x, y] : {std::pair{a.ranges.minmax, b.ranges.minmax}, {a.ranges.moving_average, b.ranges.moving_average},
                      {a.ranges.percentile, b.ranges.percentile}, {a.ranges.kl, b.ranges.kl}, {a.ranges.mse, b.ranges.mse}}) {
    EXPECT_EQ(x.min, y.min);
    EXPECT_EQ(x.max, y.max);
  }
}

TEST_F(CalibStatsFile, RoundTripsEveryField) {
  const CalibStats stats = tiny_stats();
  stats.save(path_);
  const ModelConfig config = tiny_config();
  const CalibStats loaded = CalibStats::load(path_, &config);
  EXPECT_EQ(loaded.source.model, "model.gguf");
  EXPECT_EQ(loaded.source.text, "calib.txt");
  EXPECT_EQ(loaded.source.context, 8);
  EXPECT_EQ(loaded.source.tokens, 64);
  EXPECT_EQ(loaded.source.config.architecture, "llama");
  EXPECT_EQ(loaded.source.config.hidden_dim, 6);
  EXPECT_EQ(loaded.source.config.norm_eps, config.norm_eps);
  ASSERT_EQ(loaded.sites.size(), stats.sites.size());
  for (size_t i = 0; i < stats.sites.size(); ++i) expect_same(loaded.sites[i], stats.sites[i]);
}

TEST(CalibStats, FindsTheSiteAWeightReads) {
  const CalibStats stats = tiny_stats();
  ASSERT_NE(stats.find_for_weight("blk.0.attn_k.weight"), nullptr);
  EXPECT_EQ(stats.find_for_weight("blk.0.attn_k.weight")->name, "blk.0.attn_in");
  EXPECT_EQ(stats.find_for_weight("blk.0.ffn_down.weight")->name, "blk.0.ffn_down_in");
  EXPECT_EQ(stats.find_for_weight("blk.0.attn_norm.weight"), nullptr);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST_F(CalibStatsFile, RefusesStatsOfAnotherModel) {
  tiny_stats().save(path_);
  ModelConfig other = tiny_config();
  other.hidden_dim = 8;
  const std::string message = error_of([&] { CalibStats::load(path_, &other); });
  EXPECT_NE(message.find(path_), std::string::npos) << message;
  EXPECT_NE(message.find("another model"), std::string::npos) << message;
}

TEST_F(CalibStatsFile, RefusesASiteWhoseChannelsDoNotMatchTheModel) {
  CalibStats stats = tiny_stats();
  stats.sites[3] = make_site("blk.0.ffn_down_in", {"blk.0.ffn_down.weight"}, 5, false);
  stats.save(path_);
  const ModelConfig config = tiny_config();
  EXPECT_NE(error_of([&] { CalibStats::load(path_, &config); }).find("site blk.0.ffn_down_in has 5 channels"), std::string::npos);
  stats.sites[3] = make_site("blk.1.ffn_down_in", {"blk.1.ffn_down.weight"}, 6, false);  // no layer 1
  stats.save(path_);
  EXPECT_NE(error_of([&] { CalibStats::load(path_, &config); }).find("unknown site blk.1.ffn_down_in"), std::string::npos);
}

TEST_F(CalibStatsFile, EveryTruncationIsAnError) {
  const std::vector<uint8_t> bytes = saved_bytes(tiny_stats());
  for (size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_THROW(CalibStats::parse({bytes.data(), size}, "cut.stats"), Error) << size;
  }
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_NE(error_of([&] { CalibStats::parse(longer, "long.stats"); }).find("unexpected bytes"), std::string::npos);
}

// Offsets of the first site's fields, from the format: magic 8, version 4, two strings, two i64, the
// config (string "llama", 8 i64, 2 f32, 3 u8), the site count.
constexpr size_t kConfigBytes = 8 + 5 + 8 * 8 + 2 * 4 + 3;
constexpr size_t kFirstSite = 8 + 4 + (8 + 10) + (8 + 9) + 16 + kConfigBytes + 8;
constexpr size_t kFirstSiteChannels = kFirstSite + (8 + 13) + 8 + (8 + 19) + (8 + 19) + (8 + 19);

template <typename T>
void poke(std::vector<uint8_t>& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

TEST_F(CalibStatsFile, BadFieldsAreErrorsNamingTheFile) {
  const std::vector<uint8_t> good = saved_bytes(tiny_stats());
  int64_t channels = 0;
  std::memcpy(&channels, good.data() + kFirstSiteChannels, sizeof(channels));
  ASSERT_EQ(channels, 4) << "the offsets in this test no longer follow the format";

  auto message = [&](const std::function<void(std::vector<uint8_t>&)>& corrupt) {
    std::vector<uint8_t> bytes = good;
    corrupt(bytes);
    return error_of([&] { CalibStats::parse(bytes, "bad.stats"); });
  };
  EXPECT_NE(message([](auto& b) { b[0] = 'X'; }).find("bad.stats: not a lowbit calibration stats file"), std::string::npos);
  EXPECT_NE(message([](auto& b) { poke<uint32_t>(b, 8, 2); }).find("version 2"), std::string::npos);
  EXPECT_NE(message([](auto& b) { poke<uint64_t>(b, 12, uint64_t{1} << 62); }).find("bad.stats"), std::string::npos);
  // Channel counts whose arrays, or whose square, exceed the file (2^32 squared overflows 64 bits * 4).
  for (int64_t huge : {int64_t{1} << 20, int64_t{1} << 32, std::numeric_limits<int64_t>::max()}) {
    EXPECT_NE(message([&](auto& b) { poke<int64_t>(b, kFirstSiteChannels, huge); }).find("bad.stats"), std::string::npos) << huge;
  }
  EXPECT_NE(message([](auto& b) { poke<int64_t>(b, kFirstSiteChannels, 0); }).find("0 channels"), std::string::npos);
  EXPECT_NE(message([](auto& b) { poke<int64_t>(b, kFirstSiteChannels + 8, -1); }).find("-1 tokens"), std::string::npos);
  const size_t mean_square = kFirstSiteChannels + 16;
  EXPECT_NE(message([&](auto& b) { poke<double>(b, mean_square, std::nan("")); }).find("non-finite"), std::string::npos);
  EXPECT_NE(message([&](auto& b) { poke<double>(b, mean_square, -1.0); }).find("negative"), std::string::npos);
  const size_t gram_flag = mean_square + 4 * 8 + 4 * 4;
  EXPECT_NE(message([&](auto& b) { b[gram_flag] = 2; }).find("expected 0 or 1"), std::string::npos);
  const size_t minmax = gram_flag + 1 + 16 * 4;
  EXPECT_NE(message([&](auto& b) { poke<float>(b, minmax, 5.0f); }).find("reversed"), std::string::npos);
}

TEST(CalibStats, CorpusOfTheFuzzerIsRejectedOrParsed) {
  const fs::path corpus = LOWBIT_SOURCE_DIR "/fuzz/corpus/calib_stats";
  size_t files = 0, parsed = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
    ++files;
    try {
      CalibStats::parse(bytes, entry.path().filename().string());
      ++parsed;
    } catch (const Error&) {
      // Rejected with a message: the expected outcome for most inputs.
    }
  }
  EXPECT_GT(files, 0u);
  EXPECT_GT(parsed, 0u);  // the seeds include valid files
}

}  // namespace test_calib_stats
}  // namespace lowbit
