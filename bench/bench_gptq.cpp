// Issue 6's speed goal: GPTQ of a 4096 x 4096 layer with a Hessian from 64K tokens in under 20 s on
// two cores, Hessian accumulation included. Times its two parts: the Gram matrix X^T X of 64K tokens of
// 4096 channels (GFLOP/s counts the n * c^2 multiply-adds of the symmetric half, 2 flops each), and
// GPTQ of one 4096 x 4096 matrix to lb_i4_asym_g128 and q4_K. Wall-clock times: both use OpenMP threads.
// "process_cpu_s" is the CPU time of all threads per iteration: on a machine loaded by other work, half
// of it estimates the wall time on two idle cores.
#include <benchmark/benchmark.h>

#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "formats/type_traits.h"
#include "quant/gptq.h"
#include "quant/gram.h"

namespace {

constexpr int64_t kChannels = 4096;
constexpr int64_t kBatchTokens = 4096;  // one batch fed again and again: the cost does not depend on the values

// [tokens][channels] activations with correlated channels of varied magnitude.
std::vector<float> activations(int64_t tokens, int64_t channels, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(tokens * channels));
  for (int64_t t = 0; t < tokens; ++t) {
    const float shared = dist(rng);
    for (int64_t c = 0; c < channels; ++c) {
      x[t * channels + c] = (0.2f + static_cast<float>(c % 13)) * (dist(rng) + 0.5f * shared);
    }
  }
  return x;
}

// Process CPU time (every thread) per iteration, from std::clock() readings around the loop.
void report_process_cpu(benchmark::State& state, std::clock_t start) {
  const double seconds = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  state.counters["process_cpu_s"] = seconds / static_cast<double>(state.iterations());
}

void bench_gram(benchmark::State& state, int64_t tokens) {
  const std::vector<float> x = activations(kBatchTokens, kChannels, 1);
  const std::clock_t start = std::clock();
  for (auto _ : state) {
    lowbit::GramAccumulator gram(kChannels);
    for (int64_t done = 0; done < tokens; done += kBatchTokens) gram.add(x.data(), kBatchTokens);
    benchmark::DoNotOptimize(gram.mean().data());
  }
  report_process_cpu(state, start);
  const double flops = static_cast<double>(tokens) * kChannels * kChannels;  // 2 * n * c^2 / 2
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void bench_gptq(benchmark::State& state, const char* type_name) {
  static const std::vector<float> hessian = [] {
    lowbit::GramAccumulator gram(kChannels);
    const std::vector<float> x = activations(kBatchTokens, kChannels, 2);
    gram.add(x.data(), kBatchTokens);
    return gram.mean();
  }();
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(kChannels * kChannels));
  for (float& v : w) v = dist(rng);
  const lowbit::TypeTraits& traits = *lowbit::find_type_traits(type_name);
  std::vector<uint8_t> out(static_cast<size_t>(kChannels) * traits.row_bytes(kChannels));
  const std::clock_t start = std::clock();
  for (auto _ : state) {
    lowbit::gptq_quantize_matrix(w.data(), kChannels, kChannels, hessian.data(), traits, {}, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  report_process_cpu(state, start);
}

const int registered = [] {
  benchmark::RegisterBenchmark("gram/65536x4096", bench_gram, int64_t{65536})
      ->UseRealTime()
      ->Unit(benchmark::kSecond)
      ->Iterations(1);
  for (const char* type : {"lb_i4_asym_g128", "q4_K"}) {
    benchmark::RegisterBenchmark((std::string("gptq/") + type + "/4096x4096").c_str(), bench_gptq, type)
        ->UseRealTime()
        ->Unit(benchmark::kSecond)
        ->Iterations(1);
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
