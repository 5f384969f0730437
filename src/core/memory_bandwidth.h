// This machine's memory read bandwidth, measured the way a decode step uses memory: a streaming read of
// a buffer much larger than the caches, split over the threads, with the widest loads the CPU has.
// Decode speed is bounded by it (every weight is read once per token), so benchmarks report their
// bytes per second against this figure measured in the same run.
#pragma once

#include <cstdint>
#include <vector>

#include "core/huge_page_buffer.h"

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

// A buffer far beyond the caches, written once (so that its pages are resident, and on NUMA machines
// local to the thread that reads them), then read end to end in timed passes: several passes at one
// time, or between other work (eval/bench.h pairs each decode run with passes as long as it).
class BandwidthMeter {
 public:
  // threads 0: OpenMP's current default. Throws lowbit::Error when the buffer cannot be allocated.
  BandwidthMeter(uint64_t buffer_bytes, int threads);

  // Bytes per second of one streaming read of the whole buffer.
  double read_pass();

  // Bytes per second of whole passes repeated for at least `seconds` (at least one pass): a figure over
  // as long a window as the work it is compared with.
  double read_for(double seconds);

 private:
  HugePageBuffer memory_;
  int64_t words_;
  int threads_;
};

// `options.passes` passes of a meter. Throws lowbit::Error when the buffer cannot be allocated.
BandwidthResult measure_read_bandwidth(const BandwidthOptions& options);

}  // namespace lowbit
