#include "quant/observers.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "quant/clipping_search.h"

namespace lowbit {

void Observer::observe(std::span<const float> values) {
  const auto bad = std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
  if (bad != values.end()) {
    throw_error("{}: activation value {} at index {} of a batch of {}; calibration needs finite values", tensor_, *bad,
                bad - values.begin(), values.size());
  }
  if (values.empty()) return;
  add(values);
  observed_ = true;
}

Range Observer::range() const {
  if (!observed_) throw_error("{}: no activation values observed, so there is no {} range", tensor_, name());
  return current_range();
}

void MinMaxObserver::add(std::span<const float> values) {
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  range_.min = first_batch() ? *low : std::min(range_.min, *low);
  range_.max = first_batch() ? *high : std::max(range_.max, *high);
}

MovingAverageObserver::MovingAverageObserver(std::string tensor, double momentum)
    : Observer(std::move(tensor)), momentum_(momentum) {
  if (!(momentum > 0 && momentum <= 1)) {
    throw_error("{}: moving-average momentum must be in (0, 1], got {}", this->tensor(), momentum);
  }
}

void MovingAverageObserver::add(std::span<const float> values) {
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  if (first_batch()) {
    min_ = *low;
    max_ = *high;
  } else {
    min_ += momentum_ * (*low - min_);
    max_ += momentum_ * (*high - max_);
  }
}

HistogramObserver::HistogramObserver(std::string tensor, HistogramMethod method, const ObserverOptions& options)
    : Observer(std::move(tensor)),
      method_(method),
      percentile_(options.percentile),
      bits_(options.bits),
      histogram_(std::clamp(options.bins, 3, kMaxHistogramBins)) {  // clamped: the check below names the tensor
  if (options.bins < 3 || options.bins > kMaxHistogramBins) {
    throw_error("{}: {} observer needs 3 to {} histogram bins, got {}", this->tensor(), name(), kMaxHistogramBins,
                options.bins);
  }
  if (method == HistogramMethod::percentile && !(percentile_ > 0 && percentile_ <= 100)) {
    throw_error("{}: percentile must be in (0, 100], got {}", this->tensor(), percentile_);
  }
  if (method != HistogramMethod::percentile && (bits_ < 2 || bits_ > 16)) {
    throw_error("{}: {} observer bit width must be in [2, 16], got {}", this->tensor(), name(), bits_);
  }
}

std::string HistogramObserver::name() const {
  switch (method_) {
    case HistogramMethod::percentile:
      return "percentile";
    case HistogramMethod::kl:
      return "kl";
    case HistogramMethod::mse:
      return "mse";
  }
  return "histogram";
}

Range HistogramObserver::current_range() const {
  if (method_ == HistogramMethod::percentile) {
    const double tail = (1 - percentile_ / 100) / 2;
    return {histogram_.quantile(tail), histogram_.quantile(1 - tail)};
  }
  const MagnitudeHistogram magnitudes = histogram_.magnitudes();
  const auto threshold = static_cast<float>(method_ == HistogramMethod::kl ? kl_divergence_threshold(magnitudes, bits_)
                                                                           : mse_optimal_threshold(magnitudes, bits_));
  return {-threshold, threshold};
}

std::vector<std::string> observer_methods() { return {"minmax", "moving-average", "percentile", "kl", "mse"}; }

std::unique_ptr<Observer> make_observer(std::string_view method, std::string tensor, const ObserverOptions& options) {
  if (method == "minmax") return std::make_unique<MinMaxObserver>(std::move(tensor));
  if (method == "moving-average") return std::make_unique<MovingAverageObserver>(std::move(tensor), options.momentum);
  if (method == "percentile") {
    return std::make_unique<HistogramObserver>(std::move(tensor), HistogramMethod::percentile, options);
  }
  if (method == "kl") return std::make_unique<HistogramObserver>(std::move(tensor), HistogramMethod::kl, options);
  if (method == "mse") return std::make_unique<HistogramObserver>(std::move(tensor), HistogramMethod::mse, options);
  throw_error("{}: unknown activation observer '{}' (known: {})", tensor, method, fmt::join(observer_methods(), ", "));
}

}  // namespace lowbit
