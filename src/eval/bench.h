// `lowbit bench` as a library call: how fast a model runs on this CPU and how close decode comes to the
// memory-bandwidth bound. Decode reads every weight once per token, so
//   decode efficiency = weight bytes per token * decode tokens/s / measured read bandwidth,
// with the bandwidth measured on the same threads (core/memory_bandwidth.h) by streaming reads right
// after each repetition's decode, for as long as that decode took, and the efficiency the median over the
// repetitions of each decode against its own reads: on a shared or virtual machine the bandwidth drifts
// within minutes, and a figure measured once, before or after all the runs, or over a much shorter
// window than the decode's, can meet a different load than the decode did.
// Prefill and decode are timed the way llama-bench times pp and tg: a prompt of p tokens in one forward
// call from an empty cache, and n single-token forward calls from an empty cache.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/memory_bandwidth.h"

namespace lowbit {

struct BenchOptions {
  int threads = 0;             // 0: OpenMP's current default
  int64_t prompt_tokens = 128;  // p: tokens of the prefill call
  int64_t decode_tokens = 32;   // n: single-token steps
  int repetitions = 5;          // r
  bool measure_bandwidth = true;
  bool use_map = false;         // run on the file's map (else ModelFile::load_weights_into_memory first)
  uint64_t bandwidth_buffer_bytes = uint64_t{1} << 30;  // the streaming read's buffer, allocated beside the model
};

// Tokens per second of each repetition and summaries over them.
struct RateStats {
  std::vector<double> samples;  // [repetitions]
  double median() const;
  double min() const;
  double max() const;
  double stddev() const;  // sample standard deviation; 0 for fewer than two samples
};

struct BenchResult {
  std::string model;
  uint64_t model_bytes = 0;             // the file (or the sum of tensors for a folder)
  uint64_t weight_bytes_per_token = 0;  // every tensor but token_embd (a row lookup), unless it is also the output
  int64_t parameters = 0;
  std::vector<std::pair<std::string, uint64_t>> type_bytes;  // bytes per tensor type, largest first
  int threads = 0;
  BenchOptions options;
  RateStats prefill;  // tokens/s
  RateStats decode;   // tokens/s
  // Of the model runs, taken after the first repetition (all their memory is allocated by then), before
  // the bandwidth buffer is.
  uint64_t peak_resident_bytes = 0;
  bool weights_in_memory = false;  // read into huge-page memory (else used from the file's map)
  BandwidthResult bandwidth;       // one figure after each repetition's decode; empty when not measured

  double decode_bytes_per_second() const { return static_cast<double>(weight_bytes_per_token) * decode.median(); }
  // Each repetition's weight bytes per second over its bandwidth figure: [repetitions], empty when the
  // bandwidth was not measured.
  std::vector<double> decode_efficiencies() const;
  // Their median; 0 when the bandwidth was not measured.
  double decode_efficiency() const;
};

// Throws lowbit::Error naming the file when it cannot be opened or its context is shorter than p or n,
// and for p, n or r below 1.
BenchResult run_bench(const std::string& model_path, const BenchOptions& options);

}  // namespace lowbit
