// Quantize and dequantize throughput of each example scheme on a 4096 x 4096 FP32 matrix (the size of
// a 7B model's attention projection). Bytes processed are the FP32 bytes read (quantize) or written
// (dequantize), so the GB/s column compares schemes on the same footing; times are wall-clock because
// the quantizers use OpenMP threads. Each benchmark runs a fixed two iterations to keep the default run
// short; MSE range search is the slowest by far.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "quant/quantized_tensor.h"
#include "quant/scheme.h"

namespace {

constexpr int64_t kRows = 4096;
constexpr int64_t kCols = 4096;
constexpr int kIterations = 2;

const std::vector<float>& weights() {
  static const std::vector<float> values = [] {
    std::mt19937 rng(42);
    std::normal_distribution<float> dist(0.0f, 0.02f);
    std::vector<float> v(static_cast<size_t>(kRows * kCols));
    for (auto& x : v) x = dist(rng);
    return v;
  }();
  return values;
}

int64_t fp32_bytes() { return kRows * kCols * static_cast<int64_t>(sizeof(float)); }

void bench_quantize(benchmark::State& state, const lowbit::QuantScheme& scheme) {
  double bits_per_weight = 0;
  for (auto _ : state) {
    const lowbit::QuantizedTensor q = lowbit::quantize_with_scheme(scheme, "bench", weights(), kRows, kCols);
    bits_per_weight = lowbit::bits_per_weight(q);
  }
  state.SetBytesProcessed(state.iterations() * fp32_bytes());
  state.counters["bits/weight"] = bits_per_weight;
}

void bench_dequantize(benchmark::State& state, const lowbit::QuantScheme& scheme) {
  const lowbit::QuantizedTensor q = lowbit::quantize_with_scheme(scheme, "bench", weights(), kRows, kCols);
  std::vector<float> out(weights().size());
  for (auto _ : state) {
    lowbit::dequantize_tensor(q, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * fp32_bytes());
}

}  // namespace

int main(int argc, char** argv) {
  weights();  // generate the matrix before any timing starts
  for (const std::string& name : lowbit::example_schemes()) {
    const lowbit::QuantScheme scheme = lowbit::parse_quant_scheme(name);
    benchmark::RegisterBenchmark(("quantize/" + name).c_str(), bench_quantize, scheme)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(kIterations);
    benchmark::RegisterBenchmark(("dequantize/" + name).c_str(), bench_dequantize, scheme)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(kIterations);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
