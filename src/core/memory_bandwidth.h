// This machine's memory read bandwidth, measured the way a decode step uses memory: a streaming read of
// a buffer much larger than the caches, split over the threads, with the widest loads the CPU has.
// Decode speed is bounded by it (every weight is read once per token), so benchmarks report their
// bytes per second against this figure measured in the same run.
#pragma once

#include <cstdint>
#include <vector>

namespace lowbit {

struct BandwidthOptions {
  uint64_t buffer_bytes = uint64_t{1} << 30;  // 1 GiB: far beyond any last-level cache
  int passes = 5;
  int threads = 0;  // 0: OpenMP's current default
};

struct BandwidthResult {
  std::vector<double> bytes_per_second;  // [passes], in pass order
  double best() const;
  double median() const;
};

// Throws std::bad_alloc when the buffer cannot be allocated.
BandwidthResult measure_read_bandwidth(const BandwidthOptions& options);

}  // namespace lowbit
