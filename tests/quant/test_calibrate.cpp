// Calibration: the recorder's sums on known activations, and calibrate() on the bundled models (a few
// contexts each): every site observed for every token, statistics consistent with each other, errors
// naming the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "quant/calibrate.h"

namespace lowbit {
namespace test_calibrate {

namespace fs = std::filesystem;

const std::string kStories = LOWBIT_SOURCE_DIR "/testdata/stories260K/stories260K.bin";
const std::string kTiny656 = LOWBIT_SOURCE_DIR "/testdata/tinystories-656K";
const std::string kCalibText = LOWBIT_SOURCE_DIR "/testdata/text/tinystories_valid_calib.txt";

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("lowbit_calibrate_" + std::to_string(::getpid()) + "_" + name)).string();
}

// The head of the calibration text: enough for the few contexts a test runs, and tokenizing the whole
// 300 KB would take most of the test's time.
class CalibrationText : public ::testing::Test {
 protected:
  // Coarse histograms: the kl and mse ranges cost time quadratic in the bins.
  static CalibrateOptions fast_options() {
    CalibrateOptions options;
    options.observer_options.bins = 512;
    return options;
  }

  static void SetUpTestSuite() {
    std::ifstream in(kCalibText, std::ios::binary);
    std::string head(8192, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(text_) << head.substr(0, head.rfind('\n') + 1);
  }
  static void TearDownTestSuite() { fs::remove(text_); }

  static inline const std::string text_ = temp_path("head.txt");
};

TEST(CalibrationRecorder, SumsKnownActivations) {
  const std::unique_ptr<ModelFile> model = open_model(kStories);
  const int64_t dim = model->config().dim;
  CalibrationRecorder recorder(*model, /*with_gram=*/true);
  // Two batches into blk.1.ffn_in: token t has x_c = (t + 1) * (c % 3 - 1).
  std::vector<float> x(static_cast<size_t>(3 * dim));  // [3][dim]
  for (int64_t t = 0; t < 3; ++t) {
    for (int64_t c = 0; c < dim; ++c) x[t * dim + c] = static_cast<float>((t + 1) * (c % 3 - 1));
  }
  recorder.observe(1, LinearSite::kFfnIn, x.data(), 2, dim);
  recorder.observe(1, LinearSite::kFfnIn, x.data() + 2 * dim, 1, dim);
  EXPECT_THROW(recorder.observe(1, LinearSite::kFfnIn, x.data(), 1, dim - 1), Error);
  EXPECT_THROW(recorder.finish(), Error);  // the other sites saw nothing

  for (int64_t layer = 0; layer < model->config().n_layers; ++layer) {
    for (LinearSite site : {LinearSite::kAttnIn, LinearSite::kAttnOutIn, LinearSite::kFfnIn, LinearSite::kFfnDownIn}) {
      if (layer == 1 && site == LinearSite::kFfnIn) continue;
      const int64_t cols = site == LinearSite::kFfnDownIn ? model->config().hidden_dim : dim;
      std::vector<float> ones(static_cast<size_t>(cols), 1.0f);
      recorder.observe(layer, site, ones.data(), 1, cols);
    }
  }
  std::vector<float> ones(static_cast<size_t>(dim), 1.0f);
  recorder.observe(-1, LinearSite::kOutputIn, ones.data(), 1, dim);
  const std::vector<SiteStats> sites = recorder.finish();
  ASSERT_EQ(sites.size(), 21u);  // 5 layers * 4 + output

  const SiteStats& s = sites[1 * 4 + 2];
  EXPECT_EQ(s.name, "blk.1.ffn_in");
  EXPECT_EQ(s.weights, (std::vector<std::string>{"blk.1.ffn_gate.weight", "blk.1.ffn_up.weight"}));
  EXPECT_EQ(s.tokens, 3);
  ASSERT_EQ(s.gram.size(), static_cast<size_t>(dim * dim));
  for (int64_t c = 0; c < dim; ++c) {
    const double sign = static_cast<double>(c % 3 - 1);
    EXPECT_DOUBLE_EQ(s.mean_square[c], sign * sign * (1 + 4 + 9) / 3.0) << c;
    EXPECT_EQ(s.abs_max[c], static_cast<float>(std::abs(sign) * 3)) << c;
    for (int64_t d = 0; d < dim; ++d) {
      EXPECT_NEAR(s.gram[c * dim + d], sign * static_cast<double>(d % 3 - 1) * 14.0 / 3.0, 1e-5) << c << "," << d;
    }
  }
  EXPECT_EQ(s.ranges.minmax.min, -3.0f);
  EXPECT_EQ(s.ranges.minmax.max, 3.0f);
  EXPECT_EQ(sites.back().name, "output_in");
  EXPECT_EQ(sites.back().weights, std::vector<std::string>{"token_embd.weight"});  // llama2.c ties the classifier
}

void expect_consistent(const CalibStats& stats, const ModelConfig& config, int64_t tokens, bool with_gram) {
  ASSERT_EQ(stats.sites.size(), static_cast<size_t>(4 * config.n_layers + 1));
  EXPECT_EQ(stats.source.tokens, tokens);
  for (const SiteStats& site : stats.sites) {
    SCOPED_TRACE(site.name);
    EXPECT_EQ(site.tokens, tokens);  // the output site too: every position's logits are computed
    ASSERT_EQ(site.mean_square.size(), static_cast<size_t>(site.channels));
    EXPECT_EQ(site.gram.size(), with_gram ? static_cast<size_t>(site.channels * site.channels) : 0u);
    double total = 0;
    for (int64_t c = 0; c < site.channels; ++c) {
      total += site.mean_square[c];
      // A mean of squares never exceeds the largest square, and equals the Gram diagonal.
      EXPECT_LE(site.mean_square[c], static_cast<double>(site.abs_max[c]) * site.abs_max[c] * (1 + 1e-6));
      if (with_gram) {
        EXPECT_NEAR(site.gram[c * site.channels + c], site.mean_square[c], 1e-4 * (site.mean_square[c] + 1e-6));
      }
    }
    EXPECT_GT(total, 0);
    float abs_max = 0;
    for (float v : site.abs_max) abs_max = std::max(abs_max, v);
    EXPECT_EQ(std::max(-site.ranges.minmax.min, site.ranges.minmax.max), abs_max);
    for (const Range& r : {site.ranges.moving_average, site.ranges.percentile, site.ranges.kl, site.ranges.mse}) {
      EXPECT_LT(r.min, r.max);
      EXPECT_GE(r.min, -abs_max * (1 + 1e-5f));  // kl and mse are symmetric: inside [-abs_max, abs_max]
      EXPECT_LE(r.max, abs_max * (1 + 1e-5f));
    }
  }
}

TEST_F(CalibrationText, RecordsEverySiteOfStories260K) {
  CalibrateOptions options = fast_options();
  options.context = 64;
  options.max_tokens = 200;  // three whole contexts
  int64_t progress_calls = 0;
  options.progress = [&](int64_t done, int64_t total) {
    EXPECT_EQ(total, 3);
    EXPECT_EQ(done, ++progress_calls);
  };
  const CalibStats stats = calibrate(kStories, text_, options);
  EXPECT_EQ(progress_calls, 3);
  EXPECT_EQ(stats.source.model, kStories);
  EXPECT_EQ(stats.source.text, text_);
  EXPECT_EQ(stats.source.context, 64);
  expect_consistent(stats, stats.source.config, 192, /*with_gram=*/true);
  EXPECT_EQ(stats.sites[3].name, "blk.0.ffn_down_in");
  EXPECT_EQ(stats.sites[3].channels, 172);
}

TEST_F(CalibrationText, TiedEmbeddingsReadTheOutputSite) {
  CalibrateOptions options = fast_options();
  options.context = 32;
  options.max_tokens = 32;
  options.with_gram = false;
  const CalibStats stats = calibrate(kTiny656, text_, options);
  expect_consistent(stats, stats.source.config, 32, /*with_gram=*/false);
  EXPECT_EQ(stats.find_for_weight("token_embd.weight"), &stats.sites.back());
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST_F(CalibrationText, ShortTextAndBadOptionsAreErrors) {
  const std::string short_text = temp_path("short.txt");
  std::ofstream(short_text) << "Once upon a time there was a cat.\n";
  CalibrateOptions options = fast_options();
  const std::string message = error_of([&] { calibrate(kStories, short_text, options); });
  fs::remove(short_text);
  EXPECT_NE(message.find(short_text + ": the calibration text has"), std::string::npos) << message;
  EXPECT_NE(message.find("fewer than one context of 128"), std::string::npos) << message;

  options.max_tokens = 100;
  EXPECT_NE(error_of([&] { calibrate(kStories, text_, options); }).find("--tokens 100 is less than one context"), std::string::npos);
  options.max_tokens = 0;
  options.context = 4096;
  EXPECT_NE(error_of([&] { calibrate(kStories, text_, options); }).find("outside 3..512"), std::string::npos);
}

}  // namespace test_calibrate
}  // namespace lowbit
