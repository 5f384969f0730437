// The matrix product (kernels/matmul.h) on one weight matrix of each type with a fast path, at the
// 7B attention (4096 x 4096) and feed-forward (4096 rows x 14336 columns) shapes, and at 1024 x 2048
// (held in cache). n = 1 is decode:
// bound by memory, so bytes processed are the weight bytes (GB/s). n = 8 and n = 512 are prefill: bound
// by compute, reported as GFLOP/s (2 * rows * cols * n per product). LOWBIT_CPU=scalar|avx2|avx512 forces a
// kernel level; times are wall-clock because the kernels use OpenMP threads.
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/cpu_features.h"
#include "core/tensor.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "formats/lowbit_w8_row.h"
#include "formats/type_traits.h"
#include "kernels/matmul.h"
#include "kernels/w8a8_matmul.h"

namespace {

using lowbit::TensorType;

// Random weights with realistic magnitudes, stored in `type`; made once per (type, shape).
const std::vector<uint8_t>& packed_weights(TensorType type, int64_t rows, int64_t cols) {
  static std::map<std::tuple<TensorType, int64_t, int64_t>, std::vector<uint8_t>> cache;
  auto& bytes = cache[{type, rows, cols}];
  if (bytes.empty()) {
    std::mt19937 rng(42);
    std::normal_distribution<float> dist(0.0f, 0.02f);
    std::vector<float> values(static_cast<size_t>(rows * cols));
    for (float& v : values) v = dist(rng);
    const lowbit::TypeTraits& traits = lowbit::type_traits(type);
    bytes.resize(static_cast<size_t>(rows) * traits.row_bytes(cols));
    traits.from_float(values.data(), bytes.data(), rows * cols);
  }
  return bytes;
}

// lb_w8_row weights (the "none" mode is matmul() itself) with activations quantized to int8 (W8A8).
void bench_matmul(benchmark::State& state, TensorType type, int64_t rows, int64_t cols, int64_t n_tokens,
                  lowbit::ActQuant act_quant) {
  const std::vector<uint8_t>& bytes = packed_weights(type, rows, cols);
  const lowbit::TensorView weight{"bench.weight", type, {rows, cols}, bytes.data(), bytes.size()};
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n_tokens * cols)), y(static_cast<size_t>(n_tokens * rows));
  for (float& v : x) v = dist(rng);
  for (auto _ : state) {
    if (act_quant == lowbit::ActQuant::kNone) {
      lowbit::matmul(weight, x.data(), n_tokens, y.data());
    } else {
      lowbit::matmul_w8_row(weight, x.data(), n_tokens, y.data(), act_quant, 3.0f / 127.0f);
    }
    benchmark::DoNotOptimize(y.data());
  }
  const double flops = 2.0 * static_cast<double>(rows) * static_cast<double>(cols) * static_cast<double>(n_tokens);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9 * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(lowbit::active_kernel_set());
}

const int registered = [] {
  const TensorType types[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q8_0,
                              TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0,
                              TensorType::Q5_1, TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K,
                              TensorType::Q5_K, TensorType::Q6_K, lowbit::kW8RowType,
                              lowbit::find_type_traits("lb_i4_asym_g32")->type,
                              lowbit::find_type_traits("lb_i4_sym_g128")->type,
                              lowbit::find_type_traits("lb_i8_sym_g32")->type,
                              // Q4_0, Q4_K and Q8_0 in the layouts the engine converts them to at load.
                              lowbit::kQ4_0x16Type, lowbit::kQ4_Kx2Type, lowbit::kQ8_0x16Type};
  // 1024 x 2048 (at most 8 MB, as F32) stays in cache between iterations: its n = 1 figure is the
  // kernel's compute rate, which bounds what it can stream from DRAM.
  const std::pair<int64_t, int64_t> shapes[] = {{4096, 4096}, {4096, 14336}, {1024, 2048}};
  for (TensorType type : types) {
    for (auto [rows, cols] : shapes) {
      // n = 8: a short prompt or a speculative batch: the batched decode kernels for the interleaved
      // layouts, the GEMM for the other formats with kMinGemmTokensCheapUnpack (kernels/gemm_kernels.h),
      // the dot products' token groups for the rest.
      for (int64_t n : {int64_t{1}, int64_t{8}, int64_t{512}}) {
        const std::string name = std::string("matmul/") + lowbit::type_traits(type).name + "/" +
                                 std::to_string(rows) + "x" + std::to_string(cols) + "/n=" + std::to_string(n);
        auto* b =
            benchmark::RegisterBenchmark(name.c_str(), bench_matmul, type, rows, cols, n, lowbit::ActQuant::kNone);
        b->UseRealTime()->Unit(benchmark::kMicrosecond);
        // A 512-token product takes a good fraction of a second: a few repetitions are plenty.
        if (n >= 512) b->Iterations(3);
      }
    }
  }
  for (lowbit::ActQuant mode : {lowbit::ActQuant::kDynamic, lowbit::ActQuant::kStatic}) {
    for (auto [rows, cols] : shapes) {
      for (int64_t n : {int64_t{1}, int64_t{512}}) {
        const std::string name = std::string("matmul_w8a8/") + lowbit::act_quant_name(mode) + "/" +
                                 std::to_string(rows) + "x" + std::to_string(cols) + "/n=" + std::to_string(n);
        auto* b = benchmark::RegisterBenchmark(name.c_str(), bench_matmul, lowbit::kW8RowType, rows, cols, n, mode);
        b->UseRealTime()->Unit(benchmark::kMicrosecond);
        if (n > 1) b->Iterations(3);
      }
    }
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
