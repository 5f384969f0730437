#include "quant/quantize_model.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/error.h"
#include "formats/type_traits.h"
#include "io/gguf_metadata.h"
#include "io/gguf_writer.h"
#include "io/model_file.h"
#include "quant/mix_policy.h"
#include "quant/quantize_float_tensor.h"
#include "quant/rewrite_layers.h"
#include "quant/rope_row_order.h"

namespace lowbit {
namespace {

// llama.cpp's GGML_QNT_VERSION: the revision of the legacy block layouts the file uses.
constexpr uint32_t kQuantizationVersion = 2;
// Revision of the block layouts of lowbit's own types (formats/lowbit_*.h), written as
// lowbit.format_version into files that hold any; a reader of a later layout can refuse older files.
constexpr uint32_t kLowbitFormatVersion = 1;

// Marks a file holding lowbit-only types: lowbit.format_version and lowbit.types (their names).
void mark_lowbit_types(GgufWriter& writer, const std::vector<std::string>& type_names) {
  GgufArray names{GgufValueType::STRING, {}};
  for (const std::string& name : type_names) names.items.push_back(gguf_string(name));
  writer.set_metadata("lowbit.format_version", gguf_uint32(kLowbitFormatVersion));
  writer.set_metadata("lowbit.types", GgufValue{GgufValueType::ARRAY, std::move(names)});
}

namespace fs = std::filesystem;

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code error;
  return fs::equivalent(a, b, error);  // false (with error set) when either does not exist
}

// The output must not replace any file the model is read from: that would destroy the source.
void check_output_is_not_input(const std::string& input, const std::string& tokenizer, const std::string& output) {
  std::vector<fs::path> sources = {input};
  if (!tokenizer.empty()) sources.emplace_back(tokenizer);
  std::error_code error;
  if (fs::is_directory(input, error)) {
    for (const fs::directory_entry& entry : fs::directory_iterator(input, error)) sources.push_back(entry.path());
  }
  for (const fs::path& source : sources) {
    if (same_file(source, output)) throw_error("{}: the output would overwrite the input {}", output, source.string());
  }
  if (fs::is_directory(output, error)) throw_error("{}: the output is a folder", output);
}

// --output-type / --embedding-type: a type lowbit can write, by ggml's name (case-insensitive).
std::optional<TensorType> writable_type(const std::string& option, const std::string& name) {
  if (name.empty()) return std::nullopt;
  const TypeTraits* traits = find_type_traits(name);
  if (traits == nullptr || traits->from_float == nullptr) throw_error("{} {}: not a type lowbit can write", option, name);
  return traits->type;
}

MixOptions mix_options(const QuantizeOptions& options) {
  MixOptions mix;
  mix.mix = options.type;
  for (const std::string& argument : options.tensor_types) mix.tensor_overrides.push_back(parse_tensor_type_override(argument));
  mix.output_type = writable_type("--output-type", options.output_type);
  mix.embedding_type = writable_type("--embedding-type", options.embedding_type);
  mix.pure = options.pure;
  return mix;
}

// Rows of attn_q/attn_k to reorder when the source's RoPE convention is not the one llama.cpp applies
// to the architecture written.
std::vector<int64_t> rope_row_order(const ModelConfig& config, const std::string& architecture, const std::string& name) {
  if (config.rope_style == gguf_rope_style(architecture)) return {};
  const bool is_query = name.ends_with(".attn_q.weight"), is_key = name.ends_with(".attn_k.weight");
  if (!is_query && !is_key) return {};
  const int64_t heads = is_query ? config.n_heads : config.n_kv_heads;
  return interleaved_rope_row_order(heads * config.head_dim, config.head_dim);
}

MixPolicy choose_types(const ModelFile& model, const MixOptions& options) {
  std::vector<TensorTypeRequest> requests;
  for (const TensorView& view : model.tensors()) requests.push_back({view.name, view.shape});
  const ModelConfig& c = model.config();
  try {
    return MixPolicy(options, ModelShapeInfo{c.n_layers, c.n_heads, c.n_kv_heads}, requests);
  } catch (const Error& e) {
    throw_error("{}: {}", model.path(), e.what());
  }
}

// One job per tensor, in the order llama-quantize writes them.
std::vector<TensorJob> plan_jobs(const ModelFile& model, const std::string& architecture, const MixPolicy& policy) {
  std::vector<const TensorView*> views;
  for (const TensorView& view : model.tensors()) views.push_back(&view);
  std::stable_sort(views.begin(), views.end(), [](const TensorView* a, const TensorView* b) { return precedes_in_llama_order(a->name, b->name); });
  std::vector<TensorJob> jobs;
  for (const TensorView* view : views) {
    TensorJob job{view, &type_traits(policy.choose(view->name)), rope_row_order(model.config(), architecture, view->name)};
    try {
      check_job(job);
    } catch (const Error& e) {
      throw_error("{}: {}", model.path(), e.what());
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

GgufMetadata output_metadata(const ModelFile& model, const NamedMix& mix, const QuantizeOptions& options) {
  GgufMetadata metadata = model_metadata(model);
  // llama-quantize sets these two keys, which moves them to the end, quantization version first.
  std::erase_if(metadata, [](const auto& kv) { return kv.first == "general.quantization_version" || kv.first == "general.file_type"; });
  metadata.emplace_back("general.quantization_version", gguf_uint32(kQuantizationVersion));
  metadata.emplace_back("general.file_type", gguf_uint32(mix.file_type));
  if (options.provenance.value_or(model.format() != "gguf")) {
    std::erase_if(metadata, [](const auto& kv) { return kv.first.starts_with("lowbit."); });
    metadata.emplace_back("lowbit.version", gguf_string(options.lowbit_version));
    metadata.emplace_back("lowbit.source_format", gguf_string(model.format()));
    metadata.emplace_back("lowbit.quantize.type", gguf_string(mix.name));
  }
  return metadata;
}

// The statistics the method needs, or that --calib gives, checked against the model before anything
// is written.
std::optional<CalibStats> load_stats(const ModelFile& model, const QuantizeOptions& options, const MethodChoice& method) {
  if (options.calib_path.empty()) {
    if (method.needs_stats) {
      throw_error("--method {} needs calibration statistics: give --calib STATS (written by lowbit calibrate -m {} -f TEXT -o STATS)",
                  method.name, model.path());
    }
    return std::nullopt;
  }
  return CalibStats::load(options.calib_path, &model.config());
}

// A tensor whose rows depend on the method or on the stats is quantized whole from F32; every other
// one streams, which keeps plain round-to-nearest byte for byte what llama-quantize writes.
bool quantized_whole(const TensorJob& job, const MethodChoice& method, const SiteStats* site) {
  if (!job.target->is_quantized) return false;
  return method.quantize_from->quantize != nullptr || (site != nullptr && job.target->from_float_weighted != nullptr);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int64_t TensorReport::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

double TensorReport::bits_per_weight() const {
  return elements() > 0 ? 8.0 * static_cast<double>(bytes) / static_cast<double>(elements()) : 0.0;
}

int64_t QuantizeReport::elements() const {
  int64_t n = 0;
  for (const TensorReport& tensor : tensors) n += tensor.elements();
  return n;
}

ErrorSums QuantizeReport::error() const {
  ErrorSums sums;
  for (const TensorReport& tensor : tensors) sums.add(tensor.error);
  return sums;
}

double QuantizeReport::bits_per_weight() const {
  return elements() > 0 ? 8.0 * static_cast<double>(file_bytes) / static_cast<double>(elements()) : 0.0;
}

double QuantizeReport::compression_vs_f32() const {
  return file_bytes > 0 ? 4.0 * static_cast<double>(elements()) / static_cast<double>(file_bytes) : 0.0;
}

double QuantizeReport::compression_vs_f16() const { return compression_vs_f32() / 2.0; }

QuantizeReport quantize_model(const std::string& input, const std::string& output, const QuantizeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const NamedMix& mix = find_named_mix(options.type);
  const MixOptions choice = mix_options(options);
  const MethodChoice method = find_quant_method(options.method);
  check_output_is_not_input(input, options.tokenizer_path, output);

  const std::unique_ptr<ModelFile> model = open_model(input, options.tokenizer_path);
  const std::optional<CalibStats> stats = load_stats(*model, options, method);
  const std::string architecture = model->format() == "gguf" ? model->config().architecture : gguf_architecture(model->config());
  const MixPolicy policy = choose_types(*model, choice);
  const std::vector<TensorJob> jobs = plan_jobs(*model, architecture, policy);

  GgufWriter writer;
  for (auto& [key, value] : output_metadata(*model, mix, options)) writer.set_metadata(key, std::move(value));
  QuantizeReport report{input, output, model->format(), options.type, options.method, options.calib_path, {}, {}, 0, 0, {}};
  for (const TensorTypeChoice& choice : policy.choices()) {
    if (choice.fell_back()) report.fallbacks.push_back(describe_fallback(choice));
  }
  int64_t total_elements = 0;
  for (const TensorJob& job : jobs) total_elements += job.source->elements();
  int64_t elements_done = 0;
  auto report_progress = [&](size_t index, double fraction) {
    if (!options.progress) return;
    const double done = static_cast<double>(elements_done) + fraction * static_cast<double>(jobs[index].source->elements());
    options.progress(QuantizeProgress{jobs[index].source->name, index, jobs.size(), total_elements > 0 ? done / static_cast<double>(total_elements) : 1.0});
  };

  // A rewrite runs before the header is written: the header lists the tensors it adds.
  std::optional<RewrittenModel> rewritten;
  if (method.rewrite_from->rewrite != nullptr) {
    rewritten = rewrite_and_quantize(*model, jobs, method, stats ? *stats : CalibStats{}, options.method_options, [&](size_t index) {
      report_progress(index, 1.0);
      elements_done += jobs[index].source->elements();
    });
  }

  for (size_t i = 0; i < jobs.size(); ++i) {
    const TensorView& view = *jobs[i].source;
    writer.add_tensor(GgufTensorSpec{view.name, jobs[i].target->type, view.shape, output_bytes(jobs[i])});
    report.tensors.push_back(TensorReport{view.name, view.shape, view.type, jobs[i].target->type, output_bytes(jobs[i]), {}, 0});
    if (rewritten) {
      report.tensors.back().error = rewritten->outputs[i].error;
      report.tensors.back().seconds = rewritten->seconds[i];
    }
    if (static_cast<uint32_t>(jobs[i].target->type) >= kLowbitTypeBase &&
        std::find(report.lowbit_only_types.begin(), report.lowbit_only_types.end(), jobs[i].target->name) == report.lowbit_only_types.end()) {
      report.lowbit_only_types.emplace_back(jobs[i].target->name);
    }
  }
  if (rewritten) {
    for (const AddedTensor& added : rewritten->added) {
      const uint64_t bytes = added.values.size() * sizeof(float);
      writer.add_tensor(GgufTensorSpec{added.name, TensorType::F32, added.shape, bytes});
      report.tensors.push_back(TensorReport{added.name, added.shape, TensorType::F32, TensorType::F32, bytes, {}, 0});
    }
  }
  if (!report.lowbit_only_types.empty()) mark_lowbit_types(writer, report.lowbit_only_types);

  writer.write(output, [&](size_t index, AtomicFile& out) {
    if (rewritten) {
      if (index >= jobs.size()) {
        const std::vector<float>& values = rewritten->added[index - jobs.size()].values;
        out.write(values.data(), values.size() * sizeof(float));
      } else {
        out.write(rewritten->outputs[index].bytes.data(), rewritten->outputs[index].bytes.size());
        rewritten->outputs[index].bytes = {};  // written: its memory goes back
      }
      return;
    }
    const TensorJob& job = jobs[index];
    const auto tensor_start = std::chrono::steady_clock::now();
    const SiteStats* site = stats ? stats->find_for_weight(job.source->name) : nullptr;
    if (quantized_whole(job, method, site)) {
      const std::vector<float> values = tensor_to_float(job);
      const QuantizedBytes q = quantize_float_tensor(job.source->name, values, job.source->rows(), job.source->cols(), *job.target, site,
                                                     method.quantize_from->quantize, options.method_options);
      out.write(q.bytes.data(), q.bytes.size());
      report.tensors[index].error = q.error;
      report_progress(index, 1.0);
    } else {
      report.tensors[index].error = quantize_tensor(job, out, [&](double fraction) { report_progress(index, fraction); });
    }
    report.tensors[index].seconds = seconds_since(tensor_start);
    elements_done += job.source->elements();
  });
  report.file_bytes = fs::file_size(output);
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace lowbit
