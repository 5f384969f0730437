// lowbit inspect: what a model file holds — its format, hyper-parameters, vocabulary, and every tensor
// with its shape, type and size — as a table or as JSON.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "command.h"
#include "formats/type_traits.h"
#include "io/model_file.h"

namespace lowbit::cli {
namespace {

struct InspectOptions {
  std::string model;
  std::string tokenizer;
  bool json = false;
  // `--error SCHEME` (per-tensor quantization error of a scheme from quant/scheme.h) is added here.
};

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

void print_text(const ModelFile& model) {
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
  // A per-tensor quantization error column (--error SCHEME) joins this table.
  fmt::print("{:<{}}  {:<14}  {:<6}  {:>12}\n", "tensor", name_width, "shape", "type", "bytes");
  for (const TensorView& view : model.tensors()) {
    fmt::print("{:<{}}  {:<14}  {:<6}  {:>12}\n", view.name, name_width, fmt::format("[{}]", fmt::join(view.shape, ", ")),
               type_traits(view.type).name, view.bytes);
  }
  const Totals totals = totals_of(model);
  fmt::print("\n{} tensors, {} parameters, {} bytes ({:.2f} bits per parameter)\n", model.tensors().size(),
             totals.parameters, totals.bytes,
             totals.parameters > 0 ? 8.0 * static_cast<double>(totals.bytes) / static_cast<double>(totals.parameters) : 0.0);
}

void print_json(const ModelFile& model) {
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
  for (const TensorView& view : model.tensors()) {
    out["tensors"].push_back({{"name", view.name}, {"shape", view.shape}, {"type", type_traits(view.type).name},
                              {"bytes", view.bytes}});
  }
  const Totals totals = totals_of(model);
  out["totals"] = {{"tensors", model.tensors().size()}, {"parameters", totals.parameters}, {"bytes", totals.bytes}};
  fmt::print("{}\n", out.dump(2));
}

}  // namespace

CommandRunner add_inspect_command(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "List a model's configuration and tensors (GGUF, llama2.c .bin, Hugging Face folder)");
  cmd->add_option("model", options->model, "Model file or Hugging Face folder")->required();
  cmd->add_option("--tokenizer", options->tokenizer, "llama2.c tokenizer.bin (default: tokenizer.bin or tok*.bin beside the model)");
  cmd->add_flag("--json", options->json, "Print JSON instead of a table");
  return [options] {
    const std::unique_ptr<ModelFile> model = open_model(options->model, options->tokenizer);
    if (options->json) {
      print_json(*model);
    } else {
      print_text(*model);
    }
    return 0;
  };
}

}  // namespace lowbit::cli
