#include "core/memory_bandwidth.h"

#include <omp.h>

#include <algorithm>
#include <chrono>

namespace lowbit {
namespace {

int64_t whole_groups_of_words(uint64_t bytes) { return static_cast<int64_t>(bytes / sizeof(uint64_t)) / 8 * 8; }

// Keeps the sums, and so the reads, from being optimized away.
volatile uint64_t g_read_sink;

// Sums n 64-bit words. Eight independent accumulators and integer adds let the compiler vectorize the
// loop without reassociation flags; the clones give AVX-512 or AVX2 loads where the CPU has them. The
// sum is returned so that the reads cannot be optimized away.
__attribute__((target_clones("avx512f", "avx2", "default")))
uint64_t sum_words(const uint64_t* words, int64_t n) {
  uint64_t acc[8] = {};
  for (int64_t i = 0; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) acc[k] += words[i + k];
  }
  uint64_t total = 0;
  for (uint64_t a : acc) total += a;
  return total;
}

}  // namespace

double BandwidthResult::best() const {
  return bytes_per_second.empty() ? 0.0 : *std::max_element(bytes_per_second.begin(), bytes_per_second.end());
}

double BandwidthResult::median() const {
  if (bytes_per_second.empty()) return 0.0;
  std::vector<double> sorted = bytes_per_second;
  std::sort(sorted.begin(), sorted.end());
  const size_t mid = sorted.size() / 2;
  return sorted.size() % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

// Huge pages, as the weights are read from (io/model_file.h): a 4 KiB-page buffer measures the page
// walks as well as the memory.
BandwidthMeter::BandwidthMeter(uint64_t buffer_bytes, int threads)
    : memory_(static_cast<size_t>(whole_groups_of_words(buffer_bytes)) * sizeof(uint64_t)),
      words_(whole_groups_of_words(buffer_bytes)),
      threads_(threads > 0 ? threads : omp_get_max_threads()) {
  uint64_t* const words = reinterpret_cast<uint64_t*>(memory_.data());
  // Each thread writes the part it later reads.
#pragma omp parallel for num_threads(threads_) schedule(static)
  for (int64_t i = 0; i < words_; ++i) words[i] = static_cast<uint64_t>(i);
}

double BandwidthMeter::read_pass() {
  const uint64_t* const words = reinterpret_cast<const uint64_t*>(memory_.data());
  uint64_t checksum = 0;
  const auto start = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads_) reduction(+ : checksum)
  {
    // Contiguous slices, multiples of 8 words, one per thread.
    const int64_t per_thread = (words_ / omp_get_num_threads() + 7) / 8 * 8;
    const int64_t begin = std::min(words_, per_thread * omp_get_thread_num());
    const int64_t end = std::min(words_, begin + per_thread);
    checksum += sum_words(words + begin, end - begin);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  g_read_sink = checksum;
  return static_cast<double>(words_) * sizeof(uint64_t) / seconds;
}

double BandwidthMeter::read_for(double seconds) {
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0.0;
  int64_t passes = 0;
  do {
    read_pass();
    ++passes;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(passes * words_) * sizeof(uint64_t) / elapsed;
}

BandwidthResult measure_read_bandwidth(const BandwidthOptions& options) {
  BandwidthMeter meter(options.buffer_bytes, options.threads);
  BandwidthResult result;
  for (int pass = 0; pass < options.passes; ++pass) result.bytes_per_second.push_back(meter.read_pass());
  return result;
}

}  // namespace lowbit
