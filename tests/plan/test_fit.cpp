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
namespace {

const std::string kTestdata = LOWBIT_SOURCE_DIR "/testdata";

TEST(Fit, ExactTensorTypeOptionEscapesDots) {
  EXPECT_EQ(exact_tensor_type_option("blk.10.ffn_up.weight", TensorType::Q4_K), "^blk\\.10\\.ffn_up\\.weight$=q4_K");
}

TEST(Fit, Stories260KWithinBudget) {
  const std::string output =
      (std::filesystem::temp_directory_path() / fmt::format("lowbit_fit_test_{}.gguf", ::getpid())).string();
  FitOptions options;
  options.calibration_path = kTestdata + "/text/tinystories_valid_calib.txt";
  options.output = output;
  options.context = 64;
  options.max_chunks = 2;
  options.budget_bytes = 300'000;  // between all-smallest (~170 KB) and all-F16 (~585 KB)
  const FitReport report = fit_model(kTestdata + "/stories260K/stories260K.bin", options);
  EXPECT_LE(report.choice.bytes + report.sensitivity.fixed_bytes, options.budget_bytes);

  const std::unique_ptr<ModelFile> written = open_model(output);
  uint64_t tensor_bytes = 0;
  for (const TensorView& view : written->tensors()) tensor_bytes += view.bytes;
  EXPECT_EQ(tensor_bytes, report.choice.bytes + report.sensitivity.fixed_bytes);
  for (size_t i = 0; i < report.sensitivity.matrices.size(); ++i) {
    const TensorCandidates& tensor = report.sensitivity.matrices[i];
    EXPECT_EQ(written->tensor(tensor.name).type, tensor.candidates[report.choice.chosen[i]].type) << tensor.name;
  }
  std::filesystem::remove(output);

  options.budget_bytes = 1000;
  EXPECT_THROW(fit_model(kTestdata + "/stories260K/stories260K.bin", options), Error);
}

}  // namespace
}  // namespace lowbit
