#include "plan/mix_refine.h"

#include <algorithm>
#include <optional>

namespace lowbit {
namespace {

// Combinations measured per round before the moves' figures are refreshed.
constexpr int kTriesPerRound = 4;

struct Move {
  size_t tensor = 0;
  size_t candidate = 0;
  int64_t added_bytes = 0;  // negative for a downgrade
  double kld_change = 0;    // measured KL of the moved mix minus that of the mix it was measured from
  bool fresh = true;        // measured from the current mix
};

// Moves on distinct tensors, applied together.
struct Combination {
  std::vector<Move> moves;
  int64_t added_bytes = 0;
  double predicted_change = 0;  // sum of the moves' KL changes

  void add(const Move& move) {
    moves.push_back(move);
    added_bytes += move.added_bytes;
    predicted_change += move.kld_change;
  }
};

class Refiner {
 public:
  Refiner(std::span<const TensorCandidates> tensors, const MixChoice& start, uint64_t budget, const MixMeasure& measure,
          const RefineOptions& options)
      : tensors_(tensors), chosen_(start.chosen), bytes_(start.bytes), budget_(budget), measure_(measure),
        options_(options), moves_(tensors.size()) {}

  RefinedMix run() {
    RefinedMix result;
    kld_ = result.start_kld = evaluate(chosen_);
    for (size_t t = 0; t < tensors_.size(); ++t) measure_moves_of(t);
    while (!out_of_evaluations()) {
      if (try_combinations(result.moves)) continue;
      std::vector<size_t> stale;
      for (size_t t = 0; t < tensors_.size(); ++t) {
        if (std::any_of(moves_[t].begin(), moves_[t].end(), [](const Move& m) { return !m.fresh; })) stale.push_back(t);
      }
      if (stale.empty()) break;  // no combination helps, every figure measured from this mix
      for (size_t t : stale) measure_moves_of(t);
    }
    result.choice.chosen = chosen_;
    result.choice.bytes = bytes_;
    for (size_t t = 0; t < tensors_.size(); ++t) result.choice.sensitivity += candidate(t, chosen_[t]).sensitivity;
    result.kld = kld_;
    result.evaluations = evaluations_;
    return result;
  }

 private:
  const TensorCandidate& candidate(size_t tensor, size_t index) const { return tensors_[tensor].candidates[index]; }

  bool out_of_evaluations() const { return evaluations_ > options_.max_evaluations; }

  double evaluate(std::span<const size_t> chosen) {
    const double kld = measure_(chosen);
    ++evaluations_;
    if (options_.progress) options_.progress(evaluations_);
    return kld;
  }

  // The next larger candidate that was better alone (fewest bytes first).
  std::optional<size_t> step_up(size_t t) const {
    const TensorCandidate& current = candidate(t, chosen_[t]);
    std::optional<size_t> best;
    for (size_t i = 0; i < tensors_[t].candidates.size(); ++i) {
      const TensorCandidate& c = candidate(t, i);
      if (c.bytes <= current.bytes || c.sensitivity >= current.sensitivity) continue;
      if (!best || c.bytes < candidate(t, *best).bytes ||
          (c.bytes == candidate(t, *best).bytes && c.sensitivity < candidate(t, *best).sensitivity)) {
        best = i;
      }
    }
    return best;
  }

  // The next smaller candidate (most bytes first, then better alone).
  std::optional<size_t> step_down(size_t t) const {
    const TensorCandidate& current = candidate(t, chosen_[t]);
    std::optional<size_t> best;
    for (size_t i = 0; i < tensors_[t].candidates.size(); ++i) {
      const TensorCandidate& c = candidate(t, i);
      if (c.bytes >= current.bytes) continue;
      if (!best || c.bytes > candidate(t, *best).bytes ||
          (c.bytes == candidate(t, *best).bytes && c.sensitivity < candidate(t, *best).sensitivity)) {
        best = i;
      }
    }
    return best;
  }

  void measure_moves_of(size_t t) {
    moves_[t].clear();
    for (const std::optional<size_t> step : {step_up(t), step_down(t)}) {
      if (!step || out_of_evaluations()) continue;
      std::vector<size_t> moved = chosen_;
      moved[t] = *step;
      const int64_t added = static_cast<int64_t>(candidate(t, *step).bytes) - static_cast<int64_t>(candidate(t, chosen_[t]).bytes);
      moves_[t].push_back({t, *step, added, evaluate(moved) - kld_, true});
    }
  }

  // Downgrades that help by themselves, and each helping upgrade paid for by the downgrades of other
  // tensors that lose least per freed byte; the most promising first.
  std::vector<Combination> combinations() const {
    std::vector<Move> ups, downs;
    for (const std::vector<Move>& moves : moves_) {
      for (const Move& m : moves) {
        if (m.added_bytes < 0) downs.push_back(m);
        if (m.added_bytes > 0 && m.kld_change < 0) ups.push_back(m);
      }
    }
    std::sort(ups.begin(), ups.end(), [](const Move& a, const Move& b) {
      return -a.kld_change / static_cast<double>(a.added_bytes) > -b.kld_change / static_cast<double>(b.added_bytes);
    });
    std::sort(downs.begin(), downs.end(), [](const Move& a, const Move& b) {
      return a.kld_change / static_cast<double>(-a.added_bytes) < b.kld_change / static_cast<double>(-b.added_bytes);
    });
    std::vector<Combination> result;
    for (const Move& down : downs) {
      if (down.kld_change >= 0) break;
      result.emplace_back().add(down);
    }
    const auto slack = static_cast<int64_t>(budget_ - bytes_);
    for (const Move& up : ups) {
      Combination combination;
      combination.add(up);
      for (const Move& down : downs) {
        if (combination.added_bytes <= slack) break;
        if (down.tensor != up.tensor) combination.add(down);
      }
      if (combination.added_bytes <= slack && combination.predicted_change < 0) result.push_back(std::move(combination));
    }
    std::stable_sort(result.begin(), result.end(), [](const Combination& a, const Combination& b) {
      return a.predicted_change < b.predicted_change;
    });
    return result;
  }

  // Measures the most promising combinations; keeps the first that lowers the KL. Returns whether one did.
  bool try_combinations(int64_t& kept) {
    const std::vector<Combination> all = combinations();
    for (size_t i = 0; i < all.size() && static_cast<int>(i) < kTriesPerRound && !out_of_evaluations(); ++i) {
      std::vector<size_t> moved = chosen_;
      for (const Move& m : all[i].moves) moved[m.tensor] = m.candidate;
      const double kld = evaluate(moved);
      if (kld >= kld_) continue;
      chosen_ = std::move(moved);
      bytes_ = static_cast<uint64_t>(static_cast<int64_t>(bytes_) + all[i].added_bytes);
      kld_ = kld;
      ++kept;
      for (std::vector<Move>& moves : moves_) {
        for (Move& m : moves) m.fresh = false;
      }
      for (const Move& m : all[i].moves) measure_moves_of(m.tensor);
      return true;
    }
    return false;
  }

  std::span<const TensorCandidates> tensors_;
  std::vector<size_t> chosen_;
  uint64_t bytes_;
  uint64_t budget_;
  const MixMeasure& measure_;
  const RefineOptions& options_;
  std::vector<std::vector<Move>> moves_;  // [tensors]: its step up and step down, where they exist
  double kld_ = 0;                        // measured KL of chosen_
  int64_t evaluations_ = 0;
};

}  // namespace

RefinedMix refine_mix(std::span<const TensorCandidates> tensors, const MixChoice& start, uint64_t budget_bytes,
                      const MixMeasure& measure, const RefineOptions& options) {
  return Refiner(tensors, start, budget_bytes, measure, options).run();
}

}  // namespace lowbit
