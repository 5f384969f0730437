#include "quant/gram.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "kernels/single_threaded_blas.h"

namespace lowbit {
namespace {

// Tokens per rank-k update: enough for sgemm to run near its peak, small enough to buffer.
constexpr int64_t kChunkTokens = 1024;
// Tokens summed in float before the fold into double: a sum of at most 32 chunk products loses
// no more than about 32 float roundings per entry.
constexpr int64_t kFoldTokens = 32 * kChunkTokens;
// Output tiles of the update: big enough for efficient sgemm, small enough to share two cores evenly.
constexpr int64_t kTile = 512;
// As kernels/matmul.h: below ~4M multiply-adds a second thread costs more than it saves.
constexpr int64_t kMinParallelWork = int64_t{1} << 22;

// lower(g) += x^T x, x [n_tokens][channels], g [channels][channels] row-major; only the lower triangle
// (and the diagonal tiles' upper parts, which mean() ignores) is written.
void add_lower_gram(const float* x, int64_t n_tokens, int64_t channels, float* g) {
  use_single_threaded_blas();
  const int64_t tiles = (channels + kTile - 1) / kTile;
  const int64_t tasks = tiles * (tiles + 1) / 2;  // tiles (i, j), j <= i
  const auto c = static_cast<blasint>(channels), k = static_cast<blasint>(n_tokens);
#pragma omp parallel for schedule(dynamic) if (channels * channels * n_tokens / 2 >= kMinParallelWork)
  for (int64_t task = 0; task < tasks; ++task) {
    int64_t i = 0;
    while ((i + 1) * (i + 2) / 2 <= task) ++i;
    const int64_t j = task - i * (i + 1) / 2;
    const int64_t row = i * kTile, col = j * kTile;
    const auto rows = static_cast<blasint>(std::min(kTile, channels - row));
    const auto cols = static_cast<blasint>(std::min(kTile, channels - col));
    float* out = g + row * channels + col;
    if (i == j) {
      cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, rows, k, 1.0f, x + row, c, 1.0f, out, c);
    } else {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, cols, k, 1.0f, x + row, c, x + col, c, 1.0f, out,
                  c);
    }
  }
}

}  // namespace

GramAccumulator::GramAccumulator(int64_t channels) : channels_(channels) {
  // The square must also be indexable: channels^2 fits int64 for any channel count blasint allows.
  if (channels <= 0 || channels > std::numeric_limits<blasint>::max()) {
    throw_error("Gram matrix: channel count {} is out of range", channels);
  }
  pending_.resize(static_cast<size_t>(kChunkTokens * channels));
  chunk_sum_.resize(static_cast<size_t>(channels * channels));
  total_.resize(static_cast<size_t>(channels * channels));
}

void GramAccumulator::add(const float* x, int64_t n_tokens) {
  while (n_tokens > 0) {
    const int64_t take = std::min(n_tokens, kChunkTokens - pending_tokens_);
    std::memcpy(pending_.data() + pending_tokens_ * channels_, x, static_cast<size_t>(take * channels_) * sizeof(float));
    pending_tokens_ += take;
    tokens_ += take;
    x += take * channels_;
    n_tokens -= take;
    if (pending_tokens_ == kChunkTokens) flush_pending();
  }
}

void GramAccumulator::flush_pending() {
  add_lower_gram(pending_.data(), pending_tokens_, channels_, chunk_sum_.data());
  chunk_sum_tokens_ += pending_tokens_;
  pending_tokens_ = 0;
  if (chunk_sum_tokens_ >= kFoldTokens) fold_chunk_sum();
}

void GramAccumulator::fold_chunk_sum() {
  for (int64_t i = 0; i < channels_; ++i) {
    for (int64_t j = 0; j <= i; ++j) total_[i * channels_ + j] += chunk_sum_[i * channels_ + j];
  }
  std::fill(chunk_sum_.begin(), chunk_sum_.end(), 0.0f);
  chunk_sum_tokens_ = 0;
}

std::vector<float> GramAccumulator::mean() const {
  std::vector<float> result = chunk_sum_;  // [channels][channels]
  if (pending_tokens_ > 0) add_lower_gram(pending_.data(), pending_tokens_, channels_, result.data());
  const double scale = tokens_ > 0 ? 1.0 / static_cast<double>(tokens_) : 0.0;
  for (int64_t i = 0; i < channels_; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      const double sum = total_[i * channels_ + j] + result[i * channels_ + j];
      result[i * channels_ + j] = result[j * channels_ + i] = static_cast<float>(sum * scale);
    }
  }
  return result;
}

}  // namespace lowbit
