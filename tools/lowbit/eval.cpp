// lowbit eval perplexity: perplexity on a text file (llama.cpp's method), optionally saving the
// log-probabilities as a reference or comparing with a saved reference (KL divergence, top-1 agreement).
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "command.h"
#include "progress_line.h"
#include "core/error.h"
#include "core/text_file.h"
#include "eval/kld.h"
#include "eval/logits_file.h"
#include "eval/perplexity.h"
#include "io/model_file.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

namespace lowbit::cli {
namespace {

struct PerplexityOptions {
  std::string model;
  std::string tokenizer;
  std::string text;
  int64_t ctx = 128;
  int64_t chunks = 0;
  bool json = false;
  std::string save_logits;
  std::string kld_base;
  std::string act_quant;  // empty: the model file decides
  bool use_map = false;   // --mmap
};

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  return s >= 60 ? fmt::format("{}m{:02}s", s / 60, s % 60) : fmt::format("{}s", s);
}

// A bar of the chunks done, with the time elapsed and the time left.
std::string progress_bar(int64_t done, int64_t total, double seconds) {
  constexpr int kWidth = 30;
  const double fraction = static_cast<double>(done) / static_cast<double>(total);
  const int filled = static_cast<int>(fraction * kWidth);
  const double eta = done > 0 ? seconds / static_cast<double>(done) * static_cast<double>(total - done) : 0.0;
  return fmt::format("[{:=<{}}{: <{}}] {}/{} chunks, {} elapsed, ETA {}", "", filled, "", kWidth - filled, done, total,
                     format_duration(seconds), format_duration(eta));
}

nlohmann::json kld_json(const KldResult& k, const std::string& base) {
  return {{"base", base},           {"positions", k.positions},   {"mean", k.mean},
          {"median", k.median},     {"p99", k.p99},               {"max", k.max},
          {"top1_agreement", k.top1_agreement}, {"base_ppl", k.base_ppl}, {"base_ppl_error", k.base_ppl_error},
          {"ppl", k.ppl},           {"ppl_error", k.ppl_error},   {"delta_ppl", k.delta_ppl()}};
}

int run_perplexity(const PerplexityOptions& o) {
  std::unique_ptr<ModelFile> model = open_model(o.model, o.tokenizer);
  load_weights_unless_mapped(*model, o.use_map);
  std::unique_ptr<Tokenizer> tokenizer = Tokenizer::create(model->vocab());
  if (o.ctx > model->config().context_length) {
    throw_error("--ctx {} exceeds the context length {} of {}", o.ctx, model->config().context_length, o.model);
  }
  const std::vector<int32_t> tokens = tokenizer->encode(read_text_without_final_newline(o.text), /*add_special=*/true);
  const std::vector<int32_t> chunks = make_chunks(tokens, tokenizer->bos_id(), o.ctx, o.chunks);
  const int64_t vocab = model->config().vocab_size;
  Transformer engine(*model, o.ctx);
  if (!o.act_quant.empty()) engine.set_act_quant(parse_act_quant(o.act_quant));
  fmt::print(stderr, "{}: {} tokens, {} chunks of {} ({} scored each)\n", o.text, tokens.size(),
             chunks.size() / static_cast<size_t>(o.ctx), o.ctx, scored_per_chunk(o.ctx));

  std::optional<LogitsFileWriter> writer;
  if (!o.save_logits.empty()) writer.emplace(o.save_logits, vocab, o.ctx, chunks);
  std::optional<LogitsFileReader> base;
  std::optional<KldAccumulator> kld;
  if (!o.kld_base.empty()) {
    base.emplace(o.kld_base);
    base->check_matches(vocab, o.ctx, chunks);
    kld.emplace(vocab);
  }

  ProgressLine progress;
  const PerplexityResult r = evaluate_perplexity(
      engine, chunks, o.ctx,
      [&](const ScoredChunk& chunk) {
        if (writer) writer->append_chunk(chunk.log_probs);
        if (kld) kld->add(base->chunk(chunk.index), chunk.log_probs, chunk.targets);
      },
      [&](int64_t done, int64_t total, double seconds) {
        progress.update(done, total, [&] { return progress_bar(done, total, seconds); });
      });
  if (writer) writer->finish();

  if (o.json) {
    nlohmann::json out = {{"model", o.model},           {"text", o.text},       {"ctx", r.ctx},
                          {"chunks", r.chunks},         {"tokens_scored", r.tokens_scored},
                          {"mean_nll", r.mean_nll},     {"ppl", r.ppl},         {"ppl_error", r.ppl_error},
                          {"seconds", r.seconds}};
    if (writer) out["saved_logits"] = o.save_logits;
    if (kld) out["kld"] = kld_json(kld->result(), o.kld_base);
    fmt::print("{}\n", out.dump(1));
    return 0;
  }
  fmt::print("PPL = {:.4f} +/- {:.5f}  ({} chunks of {}, {} tokens scored, {:.1f} s)\n", r.ppl, r.ppl_error, r.chunks,
             r.ctx, r.tokens_scored, r.seconds);
  if (writer) fmt::print("log-probabilities saved to {}\n", o.save_logits);
  if (kld) {
    const KldResult k = kld->result();
    fmt::print("KL divergence vs {}: mean {:.6f}, median {:.6f}, p99 {:.6f}, max {:.6f}\n", o.kld_base, k.mean,
               k.median, k.p99, k.max);
    fmt::print("top-1 agreement: {:.4f}%\n", 100.0 * k.top1_agreement);
    fmt::print("PPL base {:.4f} +/- {:.5f}, this {:.4f} +/- {:.5f}, delta {:+.4f}\n", k.base_ppl, k.base_ppl_error,
               k.ppl, k.ppl_error, k.delta_ppl());
  }
  return 0;
}

}  // namespace

CommandRunner add_eval_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("eval", "Perplexity and KL divergence against a reference model");
  cmd->require_subcommand(1);
  auto o = std::make_shared<PerplexityOptions>();
  CLI::App* ppl = cmd->add_subcommand("perplexity", "Perplexity on a text file (llama.cpp's method), KL divergence");
  ppl->add_option("-m,--model", o->model, "Model: GGUF file, llama2.c .bin, or Hugging Face folder")->required();
  ppl->add_option("-z,--tokenizer", o->tokenizer, "llama2.c tokenizer.bin (default: found beside the .bin)");
  ppl->add_option("-f,--file", o->text, "Text file to score")->required()->check(CLI::ExistingFile);
  ppl->add_option("--ctx", o->ctx, "Tokens per chunk; the second half of each is scored")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{3}, int64_t{1} << 20));
  ppl->add_option("--chunks", o->chunks, "Score at most this many chunks (0: all)")->check(CLI::NonNegativeNumber);
  ppl->add_option("--act-quant", o->act_quant,
                  "Activations of lb_w8_row (W8A8) matrices: static (the file's act_scale tensors), dynamic (int8 per "
                  "token) or none (F32); default: static where the file has scales, else dynamic")
      ->check(CLI::IsMember({"static", "dynamic", "none"}));
  add_mmap_flag(*ppl, o->use_map);
  ppl->add_flag("--json", o->json, "Print the results as JSON");
  ppl->add_option("--save-logits", o->save_logits, "Write the scored log-probabilities here (a reference for --kld-base)");
  ppl->add_option("--kld-base", o->kld_base, "Compare with a reference saved by --save-logits: KL divergence, top-1")
      ->check(CLI::ExistingFile);
  return [o] { return run_perplexity(*o); };
}

}  // namespace lowbit::cli
