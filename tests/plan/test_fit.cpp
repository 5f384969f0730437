// --fit end to end on stories260K: the written file holds the chosen types within the budget.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/error.h"
#include "io/model_file.h"
#include "plan/fit.h"

namespace lowbit {
namespace test_fit {

const std::string kTestdata = LOWBIT_SOURCE_DIR "/testdata";

TEST(Fit, ExactTensorTypeOptionEscapesDots) {
  EXPECT_EQ(exact_tensor_type_option("blk.10.ffn_up.weight", TensorType::Q4_K), "^blk\\.10\\.ffn_up\\.weight$=q4_K");
}

TEST(Fit, Stories260KFileWithinBudget) {
  const std::string output =
      (std::filesystem::temp_directory_path() / fmt::format("lowbit_fit_test_{}.gguf", ::getpid())).string();
  FitOptions options;
  options.calibration_path = kTestdata + "/text/tinystories_valid_calib.txt";
  options.output = output;
  options.candidate_types = {TensorType::F16, TensorType::Q8_0, TensorType::Q4_0};
  options.context = 64;
  options.max_chunks = 2;
  options.max_refine_evaluations = 12;
  options.sensitivity_cache = output + ".sensitivity.json";
  options.budget_bytes = 330'000;  // between all-smallest (~205 KB) and all-F16 (~620 KB) with the header
  const FitReport report = fit_model(kTestdata + "/stories260K/stories260K.bin", options);
  EXPECT_LE(report.written.file_bytes, options.budget_bytes);
  EXPECT_EQ(report.written.file_bytes, std::filesystem::file_size(output));
  EXPECT_EQ(report.overhead_bytes + report.refined.choice.bytes, report.written.file_bytes);
  EXPECT_LE(report.refined.kld, report.refined.start_kld);
  EXPECT_LE(report.refined.evaluations, 13);
  EXPECT_FALSE(std::filesystem::exists(output + ".fit-probe"));

  const std::unique_ptr<ModelFile> written = open_model(output);
  for (size_t i = 0; i < report.sensitivity.matrices.size(); ++i) {
    const TensorCandidates& tensor = report.sensitivity.matrices[i];
    EXPECT_EQ(written->tensor(tensor.name).type, tensor.candidates[report.refined.choice.chosen[i]].type) << tensor.name;
  }

  // At another size, the sensitivities come from the file written by the first run.
  options.budget_bytes = 400'000;
  options.max_refine_evaluations = 0;
  const FitReport second = fit_model(kTestdata + "/stories260K/stories260K.bin", options);
  EXPECT_EQ(second.refined.evaluations, 1);
  EXPECT_EQ(second.refined.choice.chosen, second.summed_choice.chosen);
  ASSERT_EQ(second.sensitivity.matrices.size(), report.sensitivity.matrices.size());
  EXPECT_DOUBLE_EQ(second.sensitivity.matrices[3].candidates[1].sensitivity,
                   report.sensitivity.matrices[3].candidates[1].sensitivity);
  EXPECT_LE(second.written.file_bytes, options.budget_bytes);
  EXPECT_GT(second.written.file_bytes, report.written.file_bytes);
  std::filesystem::remove(options.sensitivity_cache);
  std::filesystem::remove(output);

  options.budget_bytes = 1000;
  EXPECT_THROW(fit_model(kTestdata + "/stories260K/stories260K.bin", options), Error);
  std::filesystem::remove(options.sensitivity_cache);
}

}  // namespace test_fit
}  // namespace lowbit
