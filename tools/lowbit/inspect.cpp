// lowbit inspect: what a model file holds — its format, hyper-parameters, vocabulary, and every tensor
// with its shape, type and size — as a table or as JSON.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "core/error.h"
#include "formats/type_traits.h"
#include "io/model_file.h"
#include "quant/scheme.h"

namespace lowbit::cli {
namespace {

struct InspectOptions {
  std::string model;
  std::string tokenizer;
  bool json = false;
  std::string error_scheme;  // --error: measure this scheme on every matrix
};

// The error of one tensor under the --error scheme: a measurement, or why the scheme cannot hold it
// (e.g. a group size that does not divide the row), or nothing for vectors, which stay in full precision.
struct TensorErrorRow {
  std::optional<QuantError> error;
  std::string problem;
};

struct ErrorTable {
  std::string scheme;
  std::vector<TensorErrorRow> rows;  // one per tensor, in file order
  // Over the measured tensors, weighted by element count.
  int64_t measured_elements = 0;
  double bits_per_weight = 0;
  double mse = 0;
  double signal_power = 0;
  double max_abs_error = 0;
  double clip_mse = 0;
  double rounding_mse = 0;
  double sqnr_db() const { return 10.0 * std::log10(signal_power / mse); }
};

ErrorTable measure_errors(const ModelFile& model, const QuantScheme& scheme) {
  ErrorTable table;
  table.scheme = to_string(scheme);
  std::vector<float> values;
  for (const TensorView& view : model.tensors()) {
    TensorErrorRow row;
    const TypeTraits& traits = type_traits(view.type);
    if (view.shape.size() < 2) {
      row.problem = "vector, kept in full precision";
    } else if (traits.to_float == nullptr) {
      row.problem = fmt::format("cannot read {} values", traits.name);
    } else {
      values.resize(static_cast<size_t>(view.elements()));
      traits.to_float(view.data, values.data(), view.elements());
      try {
        const QuantError error = evaluate_scheme(scheme, view.name, values, view.rows(), view.cols());
        const double n = static_cast<double>(view.elements());
        table.measured_elements += view.elements();
        table.bits_per_weight += error.bits_per_weight * n;
        table.mse += error.mse * n;
        table.clip_mse += error.clip_mse * n;
        table.rounding_mse += error.rounding_mse * n;
        table.signal_power += error.mse * std::pow(10.0, error.sqnr_db / 10.0) * n;
        if (error.mse == 0) {
          for (float v : values) table.signal_power += static_cast<double>(v) * v;
        }
        table.max_abs_error = std::max(table.max_abs_error, error.max_abs_error);
        row.error = error;
      } catch (const Error& e) {
        row.problem = e.what();
      }
    }
    table.rows.push_back(std::move(row));
  }
  if (table.measured_elements > 0) {
    const double n = static_cast<double>(table.measured_elements);
    table.bits_per_weight /= n;
    table.mse /= n;
    table.clip_mse /= n;
    table.rounding_mse /= n;
    table.signal_power /= n;
  }
  return table;
}

std::string format_sqnr(double sqnr_db) { return std::isinf(sqnr_db) ? "exact" : fmt::format("{:.2f}", sqnr_db); }

struct Totals {
  int64_t parameters = 0;
  size_t bytes = 0;
};

Totals totals_of(const ModelFile& model) {
  Totals totals;
  for (const TensorView& view : model.tensors()) {
    totals.parameters += view.elements();
    totals.bytes += view.bytes;
  }
  return totals;
}

// A float as JSON shows it with its shortest exact decimal (1e-05, not 9.999999747378752e-06).
double shortest(float value) { return std::stod(fmt::format("{}", value)); }

const char* rope_style_name(RopeStyle style) { return style == RopeStyle::kInterleaved ? "interleaved" : "rotate-half"; }

void print_text(const ModelFile& model, const std::optional<ErrorTable>& errors) {
  const ModelConfig& c = model.config();
  fmt::print("{}: format {}, architecture {}\n", model.path(), model.format(), c.architecture);
  fmt::print("  dim {}, hidden {}, layers {}, heads {} (KV {}), head_dim {}, vocab {}, context {}\n", c.dim,
             c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size, c.context_length);
  fmt::print("  rope {} theta {}, norm eps {}, tied embeddings {}, qkv bias {}\n", rope_style_name(c.rope_style),
             c.rope_theta, c.norm_eps, c.tied_embeddings ? "yes" : "no", c.qkv_bias ? "yes" : "no");
  const Vocab& vocab = model.vocab();
  if (vocab.tokens.empty()) {
    fmt::print("  vocabulary: none found\n\n");
  } else {
    fmt::print("  vocabulary: {} ({} tokens, bos {}, eos {})\n\n", vocab.model, vocab.tokens.size(), vocab.bos_id, vocab.eos_id);
  }

  size_t name_width = 6;
  for (const TensorView& view : model.tensors()) name_width = std::max(name_width, view.name.size());
  if (errors) fmt::print("quantization error of {} (original values vs quantized-dequantized):\n", errors->scheme);
  fmt::print("{:<{}}  {:<14}  {:<6}  {:>12}", "tensor", name_width, "shape", "type", "bytes");
  if (errors) fmt::print("  {:>6}  {:>10}  {:>10}  {:>10}  {:>10}  {:>8}", "bpw", "max err", "MSE", "clip MSE", "round MSE", "SQNR dB");
  fmt::print("\n");
  for (size_t i = 0; i < model.tensors().size(); ++i) {
    const TensorView& view = model.tensors()[i];
    fmt::print("{:<{}}  {:<14}  {:<6}  {:>12}", view.name, name_width, fmt::format("[{}]", fmt::join(view.shape, ", ")),
               type_traits(view.type).name, view.bytes);
    if (errors) {
      const TensorErrorRow& row = errors->rows[i];
      if (row.error) {
        const QuantError& e = *row.error;
        fmt::print("  {:>6.3f}  {:>10.3e}  {:>10.3e}  {:>10.3e}  {:>10.3e}  {:>8}", e.bits_per_weight, e.max_abs_error,
                   e.mse, e.clip_mse, e.rounding_mse, format_sqnr(e.sqnr_db));
      } else {
        fmt::print("  ({})", row.problem);
      }
    }
    fmt::print("\n");
  }
  const Totals totals = totals_of(model);
  fmt::print("\n{} tensors, {} parameters, {} bytes ({:.2f} bits per parameter)\n", model.tensors().size(),
             totals.parameters, totals.bytes,
             totals.parameters > 0 ? 8.0 * static_cast<double>(totals.bytes) / static_cast<double>(totals.parameters) : 0.0);
  if (errors && errors->measured_elements > 0) {
    fmt::print("{} over {} quantized weights: {:.3f} bits per weight, max error {:.3e}, MSE {:.3e} (clipping {:.3e}, "
               "rounding {:.3e}), SQNR {} dB\n",
               errors->scheme, errors->measured_elements, errors->bits_per_weight, errors->max_abs_error, errors->mse,
               errors->clip_mse, errors->rounding_mse, format_sqnr(errors->sqnr_db()));
  }
}

nlohmann::ordered_json error_json(const QuantError& e) {
  return {{"bits_per_weight", e.bits_per_weight}, {"max_abs_error", e.max_abs_error}, {"mse", e.mse},
          {"clip_mse", e.clip_mse}, {"rounding_mse", e.rounding_mse},
          {"sqnr_db", std::isinf(e.sqnr_db) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(e.sqnr_db)}};
}

void print_json(const ModelFile& model, const std::optional<ErrorTable>& errors) {
  const ModelConfig& c = model.config();
  nlohmann::ordered_json out;
  out["path"] = model.path();
  out["format"] = model.format();
  out["config"] = {{"architecture", c.architecture}, {"dim", c.dim}, {"hidden_dim", c.hidden_dim},
                   {"n_layers", c.n_layers}, {"n_heads", c.n_heads}, {"n_kv_heads", c.n_kv_heads},
                   {"head_dim", c.head_dim}, {"vocab_size", c.vocab_size}, {"context_length", c.context_length},
                   {"rope_theta", shortest(c.rope_theta)}, {"rope_style", rope_style_name(c.rope_style)},
                   {"norm_eps", shortest(c.norm_eps)}, {"tied_embeddings", c.tied_embeddings}, {"qkv_bias", c.qkv_bias}};
  const Vocab& vocab = model.vocab();
  out["vocab"] = {{"model", vocab.model}, {"tokens", vocab.tokens.size()}, {"bos_id", vocab.bos_id}, {"eos_id", vocab.eos_id}};
  out["tensors"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < model.tensors().size(); ++i) {
    const TensorView& view = model.tensors()[i];
    nlohmann::ordered_json tensor = {{"name", view.name}, {"shape", view.shape}, {"type", type_traits(view.type).name},
                                     {"bytes", view.bytes}};
    if (errors) {
      const TensorErrorRow& row = errors->rows[i];
      tensor["error"] = row.error ? error_json(*row.error) : nlohmann::ordered_json({{"skipped", row.problem}});
    }
    out["tensors"].push_back(std::move(tensor));
  }
  const Totals totals = totals_of(model);
  out["totals"] = {{"tensors", model.tensors().size()}, {"parameters", totals.parameters}, {"bytes", totals.bytes}};
  if (errors) {
    QuantError overall{errors->bits_per_weight, errors->max_abs_error, errors->mse,
                       errors->measured_elements > 0 ? errors->sqnr_db() : 0.0, errors->clip_mse, errors->rounding_mse};
    out["error"] = {{"scheme", errors->scheme}, {"quantized_weights", errors->measured_elements}};
    out["error"].update(error_json(overall));
  }
  fmt::print("{}\n", out.dump(2));
}

}  // namespace

CommandRunner add_inspect_command(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "List a model's configuration and tensors (GGUF, llama2.c .bin, Hugging Face folder)");
  cmd->add_option("model", options->model, "Model file or Hugging Face folder")->required();
  cmd->add_option("--tokenizer", options->tokenizer, "llama2.c tokenizer.bin (default: tokenizer.bin or tok*.bin beside the model)");
  cmd->add_flag("--json", options->json, "Print JSON instead of a table");
  cmd->add_option("--error", options->error_scheme,
                  fmt::format("Quantize every matrix with SCHEME and print its error (bits per weight, max error, MSE split "
                              "into clipping and rounding, SQNR). Schemes:\n{}", kQuantSchemeSyntax))
      ->type_name("SCHEME")
      ->check([](const std::string& text) {
        try {
          parse_quant_scheme(text);
          return std::string();
        } catch (const Error& e) {
          return std::string(e.what());
        }
      });
  return [options] {
    const std::unique_ptr<ModelFile> model = open_model(options->model, options->tokenizer);
    std::optional<ErrorTable> errors;
    if (!options->error_scheme.empty()) errors = measure_errors(*model, parse_quant_scheme(options->error_scheme));
    if (options->json) {
      print_json(*model, errors);
    } else {
      print_text(*model, errors);
    }
    return 0;
  };
}

}  // namespace lowbit::cli
