// Activation observers: watch the values a tensor takes over calibration batches and propose the range
// [min, max] a static activation quantizer should cover.
//
//   minmax          running min and max of everything seen.
//   moving-average  exponential moving average of each batch's min and max (PyTorch's
//                   MovingAverageMinMaxObserver): m <- m + momentum * (batch_min - m), the first batch
//                   taken as is.
//   percentile      the central `percentile`% of the values, cutting equal tails on both sides.
//   kl              [-T, T], T from TensorRT's entropy (KL-divergence) calibration for `bits`.
//   mse             [-T, T], T minimizing the squared error of `bits`-bit symmetric quantization.
// The last three keep an ActivationHistogram of `bins` bins whose range grows with the data.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/activation_histogram.h"

namespace lowbit {

struct Range {
  float min = 0;
  float max = 0;
};

inline constexpr int kMaxHistogramBins = 16384;

struct ObserverOptions {
  double momentum = 0.01;     // moving-average: weight of each new batch, as PyTorch's averaging_constant
  double percentile = 99.99;  // percentile: % of values inside the range
  int bits = 8;               // kl, mse: bit width of the symmetric quantizer
  // Histogram bins over the signed range. Zero sits on a bin edge, so a symmetric distribution fills
  // about half of them per sign: 4096 gives the 2048 bins of |x| TensorRT's calibrator works with.
  // At most kMaxHistogramBins: the kl and mse searches take time quadratic in the bins.
  int bins = 4096;
};

class Observer {
 public:
  explicit Observer(std::string tensor) : tensor_(std::move(tensor)) {}
  virtual ~Observer() = default;

  // Adds one batch of the tensor's values; throws lowbit::Error naming the tensor on NaN or Inf.
  void observe(std::span<const float> values);
  // Throws lowbit::Error naming the tensor when no value has been observed.
  Range range() const;
  virtual std::string name() const = 0;  // the factory's method name
  const std::string& tensor() const { return tensor_; }

 protected:
  virtual void add(std::span<const float> values) = 0;  // finite, non-empty
  virtual Range current_range() const = 0;              // called after at least one add()
  bool first_batch() const { return !observed_; }       // inside add(): nothing added before

 private:
  std::string tensor_;
  bool observed_ = false;
};

class MinMaxObserver : public Observer {
 public:
  using Observer::Observer;
  std::string name() const override { return "minmax"; }

 protected:
  void add(std::span<const float> values) override;
  Range current_range() const override { return range_; }

 private:
  Range range_;
};

class MovingAverageObserver : public Observer {
 public:
  MovingAverageObserver(std::string tensor, double momentum);  // 0 < momentum <= 1
  std::string name() const override { return "moving-average"; }

 protected:
  void add(std::span<const float> values) override;
  Range current_range() const override { return {static_cast<float>(min_), static_cast<float>(max_)}; }

 private:
  double momentum_;
  double min_ = 0;
  double max_ = 0;
};

enum class HistogramMethod { percentile, kl, mse };

class HistogramObserver : public Observer {
 public:
  // Uses options.bins, and options.percentile (0 < p <= 100) or options.bits (2..16) by method.
  HistogramObserver(std::string tensor, HistogramMethod method, const ObserverOptions& options);
  std::string name() const override;
  const ActivationHistogram& histogram() const { return histogram_; }

 protected:
  void add(std::span<const float> values) override { histogram_.add(values); }
  Range current_range() const override;

 private:
  HistogramMethod method_;
  double percentile_;
  int bits_;
  ActivationHistogram histogram_;
};

// method: one of observer_methods(). Throws lowbit::Error naming the tensor for an unknown method or
// an option out of range.
std::unique_ptr<Observer> make_observer(std::string_view method, std::string tensor,
                                        const ObserverOptions& options = {});
std::vector<std::string> observer_methods();

}  // namespace lowbit
