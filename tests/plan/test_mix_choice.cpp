// The per-tensor type choice under a size budget, against hand-solved cases and exhaustive search.
#include <gtest/gtest.h>

#include <random>
#include <utility>
#include <vector>

#include "core/error.h"
#include "plan/mix_choice.h"

namespace lowbit {
namespace test_mix_choice {

TensorCandidates tensor(const char* name, std::vector<std::pair<uint64_t, double>> bytes_and_sensitivity) {
  TensorCandidates t{name, {}};
  for (const auto& [bytes, sensitivity] : bytes_and_sensitivity) t.candidates.push_back({TensorType::F16, bytes, sensitivity});
  return t;
}

TEST(MixChoice, SpendsBytesWhereTheyRemoveMostSensitivity) {
  // Each tensor: 4 bytes or 8 bytes. Upgrading "a" removes 10, upgrading "b" removes 1.
  const std::vector<TensorCandidates> tensors = {tensor("a", {{4, 10.0}, {8, 0.0}}), tensor("b", {{4, 1.0}, {8, 0.0}})};
  const MixChoice twelve = choose_mix(tensors, 12);
  EXPECT_EQ(twelve.chosen, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(twelve.bytes, 12u);
  EXPECT_DOUBLE_EQ(twelve.sensitivity, 1.0);
  EXPECT_EQ(choose_mix(tensors, 8).chosen, (std::vector<size_t>{0, 0}));
  EXPECT_EQ(choose_mix(tensors, 100).chosen, (std::vector<size_t>{1, 1}));
}

TEST(MixChoice, BudgetBelowTheSmallestChoiceIsAnError) {
  const std::vector<TensorCandidates> tensors = {tensor("a", {{4, 1.0}, {8, 0.0}})};
  EXPECT_THROW(choose_mix(tensors, 3), Error);
  const std::vector<TensorCandidates> empty = {TensorCandidates{"a", {}}};
  EXPECT_THROW(choose_mix(empty, 100), Error);
}

// Exhaustive search over every combination.
double best_sensitivity(const std::vector<TensorCandidates>& tensors, uint64_t budget) {
  double best = 1e300;
  std::vector<size_t> index(tensors.size(), 0);
  for (;;) {
    uint64_t bytes = 0;
    double sensitivity = 0;
    for (size_t t = 0; t < tensors.size(); ++t) {
      bytes += tensors[t].candidates[index[t]].bytes;
      sensitivity += tensors[t].candidates[index[t]].sensitivity;
    }
    if (bytes <= budget) best = std::min(best, sensitivity);
    size_t t = 0;
    while (t < tensors.size() && ++index[t] == tensors[t].candidates.size()) index[t++] = 0;
    if (t == tensors.size()) return best;
  }
}

TEST(MixChoice, RandomCasesFitAreLocallyOptimalAndNearTheExhaustiveBest) {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> size(1, 64);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int optimal = 0;
  constexpr int kCases = 200;
  for (int trial = 0; trial < kCases; ++trial) {
    // 5 tensors, 4 candidate types each: more bytes, less sensitivity (as real formats behave).
    std::vector<TensorCandidates> tensors;
    uint64_t smallest = 0, largest = 0;
    for (int t = 0; t < 5; ++t) {
      TensorCandidates candidates{"t", {}};
      const int rows = size(random);
      double sensitivity = 1.0 + 10.0 * unit(random);
      for (int bits : {2, 3, 4, 8}) {
        candidates.candidates.push_back({TensorType::F16, static_cast<uint64_t>(rows * bits), sensitivity});
        sensitivity *= 0.2 + 0.5 * unit(random);
      }
      smallest += candidates.candidates.front().bytes;
      largest += candidates.candidates.back().bytes;
      tensors.push_back(std::move(candidates));
    }
    const uint64_t budget = smallest + static_cast<uint64_t>(unit(random) * static_cast<double>(largest - smallest));
    const MixChoice choice = choose_mix(tensors, budget);
    ASSERT_LE(choice.bytes, budget);
    double sensitivity = 0;
    for (size_t t = 0; t < tensors.size(); ++t) {
      sensitivity += tensors[t].candidates[choice.chosen[t]].sensitivity;
      // No single change of one tensor both fits and lowers the sum.
      for (const TensorCandidate& other : tensors[t].candidates) {
        const TensorCandidate& mine = tensors[t].candidates[choice.chosen[t]];
        if (choice.bytes - mine.bytes + other.bytes <= budget) {
          EXPECT_GE(other.sensitivity, mine.sensitivity);
        }
      }
    }
    EXPECT_NEAR(choice.sensitivity, sensitivity, 1e-9);
    const double best = best_sensitivity(tensors, budget);
    EXPECT_LE(choice.sensitivity, best * 1.25 + 1e-12);
    optimal += choice.sensitivity <= best + 1e-12;
  }
  EXPECT_GE(optimal, kCases * 3 / 4);  // the exhaustive optimum in most cases
}

}  // namespace test_mix_choice
}  // namespace lowbit
