#include "model/kv_cache.h"

namespace lowbit {

KvCache::KvCache(int64_t n_layers, int64_t context, int64_t kv_dim)
    : context_(context),
      layer_stride_(context * kv_dim),
      keys_(static_cast<size_t>(n_layers * context * kv_dim)),
      values_(keys_.size()) {}

}  // namespace lowbit
