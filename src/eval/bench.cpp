#include "eval/bench.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <optional>

#include "core/error.h"
#include "core/process_memory.h"
#include "formats/type_traits.h"
#include "io/model_file.h"
#include "kernels/matmul.h"
#include "model/transformer.h"

namespace lowbit {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Token ids spread over the vocabulary (the same every run), so that embedding rows come from all of it.
std::vector<int32_t> bench_tokens(int64_t count, int64_t vocab_size) {
  std::vector<int32_t> tokens(static_cast<size_t>(count));
  uint64_t state = 12345;
  for (int32_t& token : tokens) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    token = static_cast<int32_t>((state >> 33) % static_cast<uint64_t>(vocab_size));
  }
  return tokens;
}

void describe_weights(const ModelFile& file, BenchResult& result) {
  std::map<std::string, uint64_t> by_type;
  const bool embedding_is_output = file.find_tensor("output.weight") == nullptr;
  for (const TensorView& t : file.tensors()) {
    by_type[type_traits(t.type).name] += t.bytes;
    result.parameters += t.elements();
    result.model_bytes += t.bytes;
    if (t.name != "token_embd.weight" || embedding_is_output) result.weight_bytes_per_token += t.bytes;
  }
  result.type_bytes.assign(by_type.begin(), by_type.end());
  std::sort(result.type_bytes.begin(), result.type_bytes.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::error_code error;
  if (std::filesystem::is_regular_file(file.path(), error)) result.model_bytes = std::filesystem::file_size(file.path());
}

}  // namespace

double RateStats::median() const {
  if (samples.empty()) return 0.0;
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const size_t mid = sorted.size() / 2;
  return sorted.size() % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

double RateStats::min() const { return samples.empty() ? 0.0 : *std::min_element(samples.begin(), samples.end()); }

double RateStats::max() const { return samples.empty() ? 0.0 : *std::max_element(samples.begin(), samples.end()); }

double RateStats::stddev() const {
  if (samples.size() < 2) return 0.0;
  const double mean = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  double sum_sq = 0.0;
  for (double s : samples) sum_sq += (s - mean) * (s - mean);
  return std::sqrt(sum_sq / static_cast<double>(samples.size() - 1));
}

std::vector<double> BenchResult::decode_efficiencies() const {
  std::vector<double> efficiencies;
  for (size_t r = 0; r < bandwidth.bytes_per_second.size() && r < decode.samples.size(); ++r) {
    efficiencies.push_back(static_cast<double>(weight_bytes_per_token) * decode.samples[r] / bandwidth.bytes_per_second[r]);
  }
  return efficiencies;
}

double BenchResult::decode_efficiency() const { return RateStats{decode_efficiencies()}.median(); }

BenchResult run_bench(const std::string& model_path, const BenchOptions& options) {
  if (options.prompt_tokens < 1 || options.decode_tokens < 1 || options.repetitions < 1) {
    throw_error("{}: prompt tokens, decode tokens and repetitions must be at least 1 (got {}, {}, {})", model_path,
                options.prompt_tokens, options.decode_tokens, options.repetitions);
  }
  if (options.threads > 0) omp_set_num_threads(options.threads);
  BenchResult result;
  result.model = model_path;
  result.options = options;
  result.threads = omp_get_max_threads();
  reset_peak_resident();
  {
    const std::unique_ptr<ModelFile> file = open_model(model_path);
    result.weights_in_memory = !options.use_map && file->load_weights_into_memory();
    describe_weights(*file, result);  // by the file's types
    if (result.weights_in_memory) file->relayout_loaded_weights(kernel_layout);
    const int64_t context = std::max(options.prompt_tokens, options.decode_tokens);
    if (context > file->config().context_length) {
      throw_error("{}: the model's context of {} tokens is shorter than the {} tokens to run", model_path,
                  file->config().context_length, context);
    }
    Transformer engine(*file, context);
    const std::vector<int32_t> prompt = bench_tokens(options.prompt_tokens, file->config().vocab_size);
    const std::vector<int32_t> steps = bench_tokens(options.decode_tokens, file->config().vocab_size);

    // Warm-up, as llama-bench does: pages the mapped weights in and sizes the scratch for p tokens.
    engine.forward(prompt);
    engine.reset();
    engine.forward(std::span(steps).first(1));

    std::optional<BandwidthMeter> meter;
    for (int r = 0; r < options.repetitions; ++r) {
      engine.reset();
      const auto prefill_start = Clock::now();
      engine.forward(prompt);
      result.prefill.samples.push_back(static_cast<double>(options.prompt_tokens) / seconds_since(prefill_start));

      engine.reset();
      const auto decode_start = Clock::now();
      for (const int32_t& token : steps) engine.forward(std::span(&token, 1));
      const double decode_seconds = seconds_since(decode_start);
      result.decode.samples.push_back(static_cast<double>(options.decode_tokens) / decode_seconds);

      if (r == 0) {
        result.peak_resident_bytes = peak_resident_bytes();
        if (options.measure_bandwidth) meter.emplace(options.bandwidth_buffer_bytes, result.threads);
      }
      if (meter) result.bandwidth.bytes_per_second.push_back(meter->read_for(decode_seconds));
    }
  }
  return result;
}

}  // namespace lowbit
