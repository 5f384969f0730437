// lowbit run: generate text with a model on the CPU, streaming tokens as they come.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include "command.h"
#include "core/error.h"
#include "core/process_memory.h"
#include "io/model_file.h"
#include "model/generate.h"
#include "model/sampler.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

namespace lowbit::cli {
namespace {

// Without --ctx the KV cache covers the model's context, up to this many positions (a model trained on
// 128K tokens would otherwise reserve gigabytes for a short chat).
constexpr int64_t kDefaultContextCap = 4096;

struct RunOptions {
  std::string model;
  std::string tokenizer;
  std::string prompt;
  int64_t n_predict = 128;
  int64_t ctx = 0;
  SamplerConfig sampler;
  bool seed_given = false;
  bool verbose = false;
  bool use_map = false;  // --mmap
  std::string act_quant;  // empty: the model file decides
};

void print_config(const ModelFile& model, const Transformer& engine) {
  const ModelConfig& c = model.config();
  fmt::print(stderr, "model: {} ({}, architecture {})\n", model.path(), model.format(), c.architecture);
  fmt::print(stderr,
             "  dim {}, hidden {}, layers {}, heads {} (KV {}), head_dim {}, vocab {}, context {}\n"
             "  rope theta {} ({}), norm eps {}, tied embeddings {}, qkv bias {}\n",
             c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size, c.context_length,
             c.rope_theta, c.rope_style == RopeStyle::kInterleaved ? "interleaved pairs" : "rotate-half",
             c.norm_eps, c.tied_embeddings, c.qkv_bias);
  fmt::print(stderr, "resident memory after loading: {:.1f} MiB\n", static_cast<double>(resident_bytes()) / (1 << 20));
  fmt::print(stderr, "KV cache: {} positions, {:.1f} MiB (FP32)\n", engine.context(),
             static_cast<double>(engine.kv_cache_bytes()) / (1 << 20));
}

int run(const RunOptions& o) {
  std::unique_ptr<ModelFile> model = open_model(o.model, o.tokenizer);
  load_weights_unless_mapped(*model, o.use_map);
  std::unique_ptr<Tokenizer> tokenizer = Tokenizer::create(model->vocab());
  const int64_t ctx = o.ctx > 0 ? o.ctx : std::min(model->config().context_length, kDefaultContextCap);
  Transformer engine(*model, ctx);
  if (!o.act_quant.empty()) engine.set_act_quant(parse_act_quant(o.act_quant));

  SamplerConfig sampler_config = o.sampler;
  if (!o.seed_given) sampler_config.seed = std::random_device{}();
  if (o.verbose) {
    print_config(*model, engine);
    fmt::print(stderr, "sampling: temp {}, top-k {}, top-p {}, min-p {}, repeat penalty {} over {}, seed {}\n",
               sampler_config.temperature, sampler_config.top_k, sampler_config.top_p, sampler_config.min_p,
               sampler_config.repeat_penalty, sampler_config.repeat_last_n, sampler_config.seed);
  }

  // BOS comes first when the vocabulary asks for it; an empty prompt starts from BOS in any case.
  std::vector<int32_t> prompt = tokenizer->encode(o.prompt, /*add_special=*/true);
  if (prompt.empty()) {
    if (tokenizer->bos_id() < 0) throw_error("{}: the prompt is empty and the vocabulary has no BOS token", o.model);
    prompt.push_back(tokenizer->bos_id());
  }
  fmt::print("{}", o.prompt);
  std::fflush(stdout);

  Sampler sampler(sampler_config);
  int32_t previous = prompt.back();
  const GenerationStats stats =
      generate(engine, sampler, prompt, o.n_predict, tokenizer->eos_id(), [&](int32_t token) {
        fmt::print("{}", tokenizer->decode_token(previous, token));
        std::fflush(stdout);
        previous = token;
        return true;
      });
  fmt::print("\n");
  std::fflush(stdout);
  if (engine.position() >= engine.context() && stats.generated_tokens < o.n_predict) {
    fmt::print(stderr, "stopped: the context of {} tokens is full (see --ctx)\n", engine.context());
  }
  fmt::print(stderr, "prompt: {} tokens in {:.3f} s, {:.1f} tokens/s\n", stats.prompt_tokens, stats.prompt_seconds,
             static_cast<double>(stats.prompt_tokens) / std::max(stats.prompt_seconds, 1e-9));
  fmt::print(stderr, "generation: {} tokens in {:.3f} s, {:.1f} tokens/s\n", stats.generated_tokens,
             stats.generation_seconds,
             static_cast<double>(stats.generated_tokens) / std::max(stats.generation_seconds, 1e-9));
  return 0;
}

}  // namespace

CommandRunner add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text with a model on the CPU");
  cmd->add_option("-m,--model", o->model, "Model: GGUF file, llama2.c .bin, or Hugging Face folder")->required();
  cmd->add_option("-z,--tokenizer", o->tokenizer, "llama2.c tokenizer.bin (default: found beside the .bin)");
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text (empty: start from BOS)");
  cmd->add_option("-n,--n-predict", o->n_predict, "Tokens to generate")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--temp", o->sampler.temperature, "Temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", o->sampler.top_k, "Keep the k most likely tokens; 0 = off")->capture_default_str();
  cmd->add_option("--top-p", o->sampler.top_p, "Keep the smallest set with this probability mass; 1 = off")
      ->capture_default_str();
  cmd->add_option("--min-p", o->sampler.min_p, "Drop tokens below min-p times the best one's probability; 0 = off")
      ->capture_default_str();
  cmd->add_option("--repeat-penalty", o->sampler.repeat_penalty, "Penalty for recent tokens; 1 = off")
      ->capture_default_str();
  cmd->add_option("--repeat-last-n", o->sampler.repeat_last_n, "Recent tokens the penalty covers; -1 = all")
      ->capture_default_str();
  cmd->add_option_function<uint32_t>(
      "--seed",
      [o](uint32_t seed) {
        o->sampler.seed = seed;
        o->seed_given = true;
      },
      "Random seed (default: a random one)");
  cmd->add_option("--ctx", o->ctx,
                  fmt::format("KV cache positions (default: the model's context, at most {})", kDefaultContextCap))
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--act-quant", o->act_quant,
                  "Activations of lb_w8_row (W8A8) matrices: static (the file's act_scale tensors), dynamic (int8 per "
                  "token) or none (F32); default: static where the file has scales, else dynamic")
      ->check(CLI::IsMember({"static", "dynamic", "none"}));
  cmd->add_flag("--verbose", o->verbose, "Print the model config, resident memory and KV cache size");
  add_mmap_flag(*cmd, o->use_map);
  return [o] { return run(*o); };
}

}  // namespace lowbit::cli
