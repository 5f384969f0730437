// Keys and values of every past position, per layer, in FP32: what attention reads at each step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lowbit {

class KvCache {
 public:
  KvCache(int64_t n_layers, int64_t context, int64_t kv_dim);

  int64_t context() const { return context_; }
  size_t bytes() const { return (keys_.size() + values_.size()) * sizeof(float); }

  // [context][kv_dim] of one layer; row p holds position p.
  float* keys(int64_t layer) { return keys_.data() + layer * layer_stride_; }
  float* values(int64_t layer) { return values_.data() + layer * layer_stride_; }

 private:
  int64_t context_;
  int64_t layer_stride_;      // context * kv_dim
  std::vector<float> keys_;   // [n_layers][context][kv_dim]
  std::vector<float> values_; // [n_layers][context][kv_dim]
};

}  // namespace lowbit
