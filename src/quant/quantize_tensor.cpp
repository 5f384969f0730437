#include "quant/quantize_tensor.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace lowbit {
namespace {

// Rows are processed in chunks of about this many elements: the output buffer of a chunk is the only
// allocation that grows with the tensor (16 MiB when the target is F32).
constexpr int64_t kChunkElements = int64_t{1} << 22;
// Below this many elements per chunk one thread is faster than waking the others.
constexpr int64_t kParallelElements = int64_t{1} << 16;

bool is_copy(const TensorJob& job) { return job.source->type == job.target->type && job.row_order.empty(); }

int64_t source_row(const TensorJob& job, int64_t row) { return job.row_order.empty() ? row : job.row_order[row]; }

// The source is memory-mapped: once a tensor is done, its pages are handed back so that resident memory
// holds one tensor's source at a time, not everything read so far. MADV_PAGEOUT drops clean file pages
// and never loses data (a page read again is simply faulted back in), so it is safe on any address.
void release_source_pages(const TensorView& view) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(view.data) / page * page;
  const uintptr_t end = reinterpret_cast<uintptr_t>(view.data) + view.bytes;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_PAGEOUT);
}

// Converts, stores and measures one row. `scratch` holds 2 * cols floats.
ErrorSums quantize_row(const TensorJob& job, int64_t row, uint8_t* out, float* scratch) {
  const TensorView& src = *job.source;
  const int64_t cols = src.cols();
  const TypeTraits& source_traits = type_traits(src.type);
  const auto* source_bytes = static_cast<const uint8_t*>(src.data) + source_row(job, row) * source_traits.row_bytes(cols);

  ErrorSums sums;
  if (is_copy(job)) {
    std::memcpy(out, source_bytes, job.target->row_bytes(cols));
    if (source_traits.to_float == nullptr) return sums;  // exact copy of values lowbit cannot read
    source_traits.to_float(source_bytes, scratch, cols);
    for (int64_t i = 0; i < cols; ++i) sums.source_sq += static_cast<double>(scratch[i]) * scratch[i];
    sums.elements = static_cast<double>(cols);
    return sums;
  }

  float* values = scratch;             // [cols] the source row in F32
  float* reconstructed = scratch + cols;  // [cols] the stored row read back
  source_traits.to_float(source_bytes, values, cols);
  job.target->from_float(values, out, cols);
  if (job.target->to_float == nullptr) return sums;
  job.target->to_float(out, reconstructed, cols);
  for (int64_t i = 0; i < cols; ++i) {
    const double x = values[i];
    const double error = static_cast<double>(reconstructed[i]) - x;
    sums.source_sq += x * x;
    sums.error_sq += error * error;
    sums.max_abs = std::max(sums.max_abs, std::abs(error));
  }
  sums.elements = static_cast<double>(cols);
  return sums;
}

}  // namespace

void ErrorSums::add(const ErrorSums& other) {
  elements += other.elements;
  source_sq += other.source_sq;
  error_sq += other.error_sq;
  max_abs = std::max(max_abs, other.max_abs);
}

double ErrorSums::relative_rms() const {
  if (error_sq == 0) return 0;
  return source_sq > 0 ? std::sqrt(error_sq / source_sq) : std::numeric_limits<double>::infinity();
}

double ErrorSums::sqnr_db() const {
  if (error_sq == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(source_sq / error_sq);
}

uint64_t output_bytes(const TensorJob& job) {
  return static_cast<uint64_t>(job.source->rows()) * job.target->row_bytes(job.source->cols());
}

void check_job(const TensorJob& job) {
  const TensorView& src = *job.source;
  const TypeTraits& target = *job.target;
  if (src.cols() % target.block_size != 0) {
    throw_error("tensor {}: rows of {} elements cannot be stored as {} (blocks of {} elements)", src.name, src.cols(),
                target.name, target.block_size);
  }
  if (!job.row_order.empty() && static_cast<int64_t>(job.row_order.size()) != src.rows()) {
    throw_error("tensor {}: row order lists {} rows, the tensor has {}", src.name, job.row_order.size(), src.rows());
  }
  if (is_copy(job)) return;
  if (type_traits(src.type).to_float == nullptr) throw_error("tensor {}: lowbit cannot read {} values", src.name, type_traits(src.type).name);
  if (target.from_float == nullptr) throw_error("tensor {}: lowbit cannot write type {}", src.name, target.name);
}

ErrorSums quantize_tensor(const TensorJob& job, AtomicFile& out, const std::function<void(double)>& progress) {
  check_job(job);
  const int64_t rows = job.source->rows(), cols = job.source->cols();
  const size_t row_bytes = job.target->row_bytes(cols);
  const int64_t chunk_rows = std::clamp<int64_t>(kChunkElements / std::max<int64_t>(cols, 1), 1, rows);

  std::vector<uint8_t> chunk(static_cast<size_t>(chunk_rows) * row_bytes);  // [chunk_rows][row_bytes]
  std::vector<ErrorSums> row_sums(static_cast<size_t>(chunk_rows));          // [chunk_rows]
  ErrorSums total;
  for (int64_t first = 0; first < rows; first += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - first);
#pragma omp parallel if (n * cols >= kParallelElements)
    {
      std::vector<float> scratch(static_cast<size_t>(2 * cols));
#pragma omp for schedule(static)
      for (int64_t r = 0; r < n; ++r) {
        row_sums[r] = quantize_row(job, first + r, chunk.data() + r * row_bytes, scratch.data());
      }
    }
    // Summed in row order so the figures do not depend on the thread count.
    for (int64_t r = 0; r < n; ++r) total.add(row_sums[r]);
    out.write(chunk.data(), static_cast<size_t>(n) * row_bytes);
    if (progress) progress(static_cast<double>(first + n) / static_cast<double>(rows));
  }
  release_source_pages(*job.source);
  return total;
}

}  // namespace lowbit
