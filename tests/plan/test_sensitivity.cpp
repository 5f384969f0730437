// Per-tensor sensitivity on the bundled stories260K with its calibration text.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "core/error.h"
#include "formats/type_traits.h"
#include "io/model_file.h"
#include "plan/calibration_kld.h"
#include "plan/quantized_variants.h"
#include "plan/sensitivity.h"
#include "plan/tensor_override_model.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {
namespace test_sensitivity {

const std::string kTestdata = LOWBIT_SOURCE_DIR "/testdata";

std::vector<int32_t> calibration_tokens(const ModelFile& model) {
  std::ifstream in(kTestdata + "/text/tinystories_valid_calib.txt");
  std::ostringstream text;
  text << in.rdbuf();
  return Tokenizer::create(model.vocab())->encode(text.str(), /*add_special=*/true);
}

const TensorCandidate* find_candidate(const TensorCandidates& tensor, TensorType type) {
  for (const TensorCandidate& candidate : tensor.candidates) {
    if (candidate.type == type) return &candidate;
  }
  return nullptr;
}

TEST(Sensitivity, Stories260K) {
  const std::unique_ptr<ModelFile> model = open_model(kTestdata + "/stories260K/stories260K.bin");
  SensitivityOptions options;
  options.candidate_types = {TensorType::F16, TensorType::Q8_0, TensorType::Q4_0};
  const CalibrationKld kld(*model, calibration_tokens(*model), /*context=*/64, /*max_chunks=*/2);
  const SensitivityReport report = measure_sensitivity(*model, kld, options);
  EXPECT_EQ(report.positions, 2 * (64 - 32 - 1));
  ASSERT_EQ(report.matrices.size(), 1u + 5 * 7);  // the tied embedding and 7 matrices per layer
  EXPECT_EQ(report.fixed_bytes, (2 * 5 + 1) * 64 * 4u);  // the F32 norms
  double q8_total = 0, q4_total = 0;
  for (const TensorCandidates& tensor : report.matrices) {
    SCOPED_TRACE(tensor.name);
    const TensorCandidate* f16 = find_candidate(tensor, TensorType::F16);
    ASSERT_NE(f16, nullptr);
    EXPECT_LT(f16->sensitivity, 1e-4);
    const TensorView& view = model->tensor(tensor.name);
    EXPECT_EQ(f16->bytes, static_cast<uint64_t>(view.elements()) * 2);
    if (tensor.name.find("ffn_down") != std::string::npos) {
      EXPECT_EQ(tensor.candidates.size(), 1u);  // rows of 172: no 32-element blocks
      continue;
    }
    const TensorCandidate* q8 = find_candidate(tensor, TensorType::Q8_0);
    const TensorCandidate* q4 = find_candidate(tensor, TensorType::Q4_0);
    ASSERT_NE(q8, nullptr);
    ASSERT_NE(q4, nullptr);
    EXPECT_EQ(q4->bytes, static_cast<uint64_t>(view.rows()) * type_traits(TensorType::Q4_0).row_bytes(view.cols()));
    q8_total += q8->sensitivity;
    q4_total += q4->sensitivity;
  }
  // Coarser codes cost more accuracy, by far, over the model.
  EXPECT_GT(q4_total, 10 * q8_total);
  EXPECT_GT(q8_total, 0);
}

TEST(TensorOverrideModel, ReplacesTheNamedTensorsAndKeepsTheRest) {
  const std::unique_ptr<ModelFile> model = open_model(kTestdata + "/stories260K/stories260K.bin");
  const TensorView& original = model->tensor("blk.0.attn_q.weight");
  const std::vector<uint8_t> bytes(static_cast<size_t>(original.rows()) * type_traits(TensorType::Q8_0).row_bytes(original.cols()));
  const std::vector<TensorOverride> overrides = {{"blk.0.attn_q.weight", TensorType::Q8_0, bytes},
                                                 {"blk.1.attn_q.weight", TensorType::Q8_0, bytes}};
  const TensorOverrideModel variant(*model, overrides);
  EXPECT_EQ(variant.tensor("blk.0.attn_q.weight").type, TensorType::Q8_0);
  EXPECT_EQ(variant.tensor("blk.0.attn_q.weight").data, bytes.data());
  EXPECT_EQ(variant.tensor("blk.1.attn_q.weight").bytes, bytes.size());
  EXPECT_EQ(variant.tensor("blk.0.attn_k.weight").data, model->tensor("blk.0.attn_k.weight").data);
  EXPECT_EQ(variant.tensors().size(), model->tensors().size());
  const TensorOverride unknown{"no.such.weight", TensorType::F16, {}};
  EXPECT_THROW(TensorOverrideModel(*model, {&unknown, 1}), Error);
}

TEST(CalibrationKld, ZeroForTheModelItselfAndPositiveForAQuantizedMix) {
  const std::unique_ptr<ModelFile> model = open_model(kTestdata + "/stories260K/stories260K.bin");
  const CalibrationKld kld(*model, calibration_tokens(*model), /*context=*/64, /*max_chunks=*/2);
  EXPECT_EQ(kld.positions(), 2 * (64 - 32 - 1));
  EXPECT_NEAR(kld.mean_kld(*model), 0.0, 1e-9);
  const std::vector<TensorCandidates> tensors = {{"blk.0.ffn_up.weight", {{TensorType::Q4_0, 0, 0}}},
                                                 {"blk.1.ffn_up.weight", {{TensorType::Q4_0, 0, 0}}}};
  QuantizedVariants variants(*model, tensors);
  const std::vector<size_t> chosen = {0, 0};
  const std::unique_ptr<TensorOverrideModel> mix = variants.mix(chosen);
  EXPECT_EQ(mix->tensor("blk.1.ffn_up.weight").type, TensorType::Q4_0);
  EXPECT_GT(kld.mean_kld(*mix), 1e-5);
  // The quantized bytes are kept: asking again gives the same buffers.
  EXPECT_EQ(variants.mix(chosen)->tensor("blk.0.ffn_up.weight").data, mix->tensor("blk.0.ffn_up.weight").data);
}

}  // namespace test_sensitivity
}  // namespace lowbit
