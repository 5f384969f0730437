// Refining a mix by measured whole-mix KL: finds what summed per-tensor figures miss, never gets worse,
// stays within the budget and the evaluation limit. The "measurements" here are synthetic functions.
#include <gtest/gtest.h>

#include <random>
#include <utility>
#include <vector>

#include "plan/mix_choice.h"
#include "plan/mix_refine.h"

namespace lowbit {
namespace test_mix_refine {

TensorCandidates tensor(const char* name, std::vector<std::pair<uint64_t, double>> bytes_and_sensitivity) {
  TensorCandidates t{name, {}};
  for (const auto& [bytes, sensitivity] : bytes_and_sensitivity) t.candidates.push_back({TensorType::F16, bytes, sensitivity});
  return t;
}

double summed(const std::vector<TensorCandidates>& tensors, std::span<const size_t> chosen) {
  double sum = 0;
  for (size_t i = 0; i < tensors.size(); ++i) sum += tensors[i].candidates[chosen[i]].sensitivity;
  return sum;
}

TEST(MixRefine, FindsTheInteractionThatSummedSensitivitiesMiss) {
  // Candidate 0: 4 bytes, candidate 1: 8 bytes. Alone, upgrading c helps most, so the summed choice at 16
  // bytes upgrades c; but a and b both small cost 2 more together, which only a whole-mix measurement sees.
  const std::vector<TensorCandidates> tensors = {tensor("a", {{4, 1.0}, {8, 0.0}}), tensor("b", {{4, 1.0}, {8, 0.0}}),
                                                 tensor("c", {{4, 1.2}, {8, 0.0}})};
  const MixChoice start = choose_mix(tensors, 16);
  ASSERT_EQ(start.chosen, (std::vector<size_t>{0, 0, 1}));
  int64_t calls = 0;
  const MixMeasure measure = [&](std::span<const size_t> chosen) {
    ++calls;
    return summed(tensors, chosen) + (chosen[0] == 0 && chosen[1] == 0 ? 2.0 : 0.0);
  };
  const RefinedMix refined = refine_mix(tensors, start, 16, measure, RefineOptions{});
  EXPECT_DOUBLE_EQ(refined.start_kld, 4.0);
  EXPECT_DOUBLE_EQ(refined.kld, 2.2);  // one of a, b upgraded; c small
  EXPECT_EQ(refined.choice.chosen[2], 0u);
  EXPECT_EQ(refined.choice.chosen[0] + refined.choice.chosen[1], 1u);
  EXPECT_EQ(refined.choice.bytes, 16u);
  EXPECT_DOUBLE_EQ(refined.choice.sensitivity, 2.2);
  EXPECT_GE(refined.moves, 1);
  EXPECT_EQ(refined.evaluations, calls);
}

TEST(MixRefine, KeepsTheStartWhenTheSumIsExact) {
  const std::vector<TensorCandidates> tensors = {tensor("a", {{4, 3.0}, {8, 0.0}}), tensor("b", {{4, 1.0}, {8, 0.0}})};
  const MixChoice start = choose_mix(tensors, 12);
  const RefinedMix refined = refine_mix(
      tensors, start, 12, [&](std::span<const size_t> chosen) { return summed(tensors, chosen); }, RefineOptions{});
  EXPECT_EQ(refined.choice.chosen, start.chosen);
  EXPECT_EQ(refined.moves, 0);
  EXPECT_DOUBLE_EQ(refined.kld, 1.0);
}

TEST(MixRefine, RandomInteractionsNeverWorseWithinBudgetAndLimit) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<TensorCandidates> tensors;
    for (int t = 0; t < 6; ++t) {
      TensorCandidates candidates{"t", {}};
      double sensitivity = 1.0 + unit(rng);
      for (uint64_t bytes = 4; bytes <= 16; bytes += 4) {
        candidates.candidates.push_back({TensorType::F16, bytes, sensitivity});
        sensitivity *= 0.3 + 0.6 * unit(rng);
      }
      tensors.push_back(std::move(candidates));
    }
    std::vector<double> pair_weight(36);
    for (double& w : pair_weight) w = unit(rng);
    // Errors compound: the product of two tensors' sensitivities, weighted per pair.
    const MixMeasure measure = [&](std::span<const size_t> chosen) {
      double kld = summed(tensors, chosen);
      for (size_t i = 0; i < 6; ++i) {
        for (size_t j = i + 1; j < 6; ++j) {
          kld += pair_weight[i * 6 + j] * tensors[i].candidates[chosen[i]].sensitivity * tensors[j].candidates[chosen[j]].sensitivity;
        }
      }
      return kld;
    };
    const uint64_t budget = 24 + static_cast<uint64_t>(unit(rng) * 60);
    const MixChoice start = choose_mix(tensors, budget);
    RefineOptions options;
    options.max_evaluations = 30;
    const RefinedMix refined = refine_mix(tensors, start, budget, measure, options);
    SCOPED_TRACE(trial);
    EXPECT_LE(refined.kld, refined.start_kld);
    EXPECT_DOUBLE_EQ(refined.kld, measure(refined.choice.chosen));
    EXPECT_DOUBLE_EQ(refined.start_kld, measure(start.chosen));
    EXPECT_LE(refined.choice.bytes, budget);
    uint64_t bytes = 0;
    for (size_t i = 0; i < tensors.size(); ++i) bytes += tensors[i].candidates[refined.choice.chosen[i]].bytes;
    EXPECT_EQ(bytes, refined.choice.bytes);
    EXPECT_LE(refined.evaluations, options.max_evaluations + 1);
  }
}

}  // namespace test_mix_refine
}  // namespace lowbit
