// One tensor from its source type to a target type, streamed: rows are converted to F32 a chunk at a
// time (never the whole tensor), quantized in parallel (OpenMP over rows), measured against the source
// values, and appended to the output. A tensor whose type does not change is copied byte for byte.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/tensor.h"
#include "formats/type_traits.h"
#include "io/atomic_file.h"

namespace lowbit {

// Sums over all elements of a tensor, enough to give any error figure and to add tensors up.
struct ErrorSums {
  double elements = 0;
  double source_sq = 0;  // sum of x^2 over the source values
  double error_sq = 0;   // sum of (dequantized - x)^2
  double max_abs = 0;

  void add(const ErrorSums& other);
  double relative_rms() const;  // sqrt(error_sq / source_sq); 0 for an exact copy
  double sqnr_db() const;       // 10 log10(source_sq / error_sq); +infinity for an exact copy
};

struct TensorJob {
  const TensorView* source = nullptr;
  const TypeTraits* target = nullptr;
  // Output row r holds source row row_order[r]; empty: the rows keep their order.
  std::vector<int64_t> row_order;
};

// Bytes the job writes: rows() * target->row_bytes(cols()).
uint64_t output_bytes(const TensorJob& job);

// Throws lowbit::Error naming the tensor when the target cannot hold it (row length not a multiple of
// its block size) or lowbit cannot convert between the two types.
void check_job(const TensorJob& job);

// Appends the tensor's output bytes to `out`; `progress(fraction)` is called after every chunk. The
// error sums are empty (no elements) when the target type has no dequantizer to measure with.
ErrorSums quantize_tensor(const TensorJob& job, AtomicFile& out, const std::function<void(double)>& progress);

}  // namespace lowbit
