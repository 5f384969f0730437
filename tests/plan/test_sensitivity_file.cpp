// The --sensitivity file: a round trip, and refusals for other settings, another model, or a broken file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/error.h"
#include "io/model_file.h"
#include "plan/sensitivity_file.h"

namespace lowbit {
namespace test_sensitivity_file {

const std::string kTestdata = LOWBIT_SOURCE_DIR "/testdata";

class SensitivityFile : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = open_model(kTestdata + "/stories260K/stories260K.bin");
    settings_ = {"calib.txt", 64, 2, {TensorType::F16}};
    // Every matrix with an F16 candidate, as measure_sensitivity lists them.
    for (const TensorView& view : model_->tensors()) {
      if (!is_choice_matrix(view)) {
        report_.fixed_bytes += view.bytes;
        continue;
      }
      report_.matrices.push_back({view.name, {{TensorType::F16, static_cast<uint64_t>(view.elements()) * 2, 0.25}}});
    }
    report_.positions = 62;
  }
  void TearDown() override { std::filesystem::remove(path_); }

  void write_text(const std::string& text) const { std::ofstream(path_) << text; }

  std::unique_ptr<ModelFile> model_;
  SensitivitySettings settings_;
  SensitivityReport report_;
  const std::string path_ =
      (std::filesystem::temp_directory_path() / fmt::format("lowbit_sensitivity_test_{}.json", ::getpid())).string();
};

TEST_F(SensitivityFile, RoundTrip) {
  report_.matrices[0].candidates[0].sensitivity = -1e-10;  // a lossless type's KL, measured a rounding error below 0
  write_sensitivity(path_, report_, settings_);
  const SensitivityReport read = read_sensitivity(path_, *model_, settings_);
  EXPECT_EQ(read.positions, report_.positions);
  EXPECT_EQ(read.fixed_bytes, report_.fixed_bytes);
  ASSERT_EQ(read.matrices.size(), report_.matrices.size());
  for (size_t i = 0; i < read.matrices.size(); ++i) {
    EXPECT_EQ(read.matrices[i].name, report_.matrices[i].name);
    ASSERT_EQ(read.matrices[i].candidates.size(), 1u);
    EXPECT_EQ(read.matrices[i].candidates[0].type, TensorType::F16);
    EXPECT_EQ(read.matrices[i].candidates[0].bytes, report_.matrices[i].candidates[0].bytes);
    EXPECT_DOUBLE_EQ(read.matrices[i].candidates[0].sensitivity, report_.matrices[i].candidates[0].sensitivity);
  }
}

TEST_F(SensitivityFile, OtherSettingsAreRefused) {
  write_sensitivity(path_, report_, settings_);
  SensitivitySettings other = settings_;
  other.max_chunks = 3;
  EXPECT_THROW(read_sensitivity(path_, *model_, other), Error);
  other = settings_;
  other.candidate_types.push_back(TensorType::Q8_0);
  EXPECT_THROW(read_sensitivity(path_, *model_, other), Error);
}

TEST_F(SensitivityFile, AnotherModelIsRefused) {
  report_.matrices.pop_back();
  write_sensitivity(path_, report_, settings_);
  EXPECT_THROW(read_sensitivity(path_, *model_, settings_), Error);
  report_.matrices[0].candidates[0].bytes += 2;  // not this shape
  report_.matrices.push_back({"output.weight", {{TensorType::F16, 0, 0}}});
  write_sensitivity(path_, report_, settings_);
  EXPECT_THROW(read_sensitivity(path_, *model_, settings_), Error);
}

TEST_F(SensitivityFile, BrokenFilesAreErrors) {
  for (const char* text : {"", "[1, 2]", "{\"calibration\": 5}", "{\"calibration\": \"calib.txt\", \"context\": 64, \"chunks\": 2, "
                           "\"candidate_types\": [\"f16\"], \"positions\": 1, \"matrices\": [{\"name\": 3}]}",
                           "{\"calibration\": \"calib.txt\", \"context\": 64, \"chunks\": 2, \"candidate_types\": [\"f16\"], "
                           "\"positions\": 1, \"matrices\": 7}"}) {
    SCOPED_TRACE(text);
    write_text(text);
    EXPECT_THROW(read_sensitivity(path_, *model_, settings_), Error);
  }
  EXPECT_THROW(read_sensitivity(path_ + ".missing", *model_, settings_), Error);
}

}  // namespace test_sensitivity_file
}  // namespace lowbit
