#include "quant/calibrate.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.h"
#include "core/text_file.h"
#include "eval/perplexity.h"
#include "quant/gram.h"
#include "quant/observers.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {
namespace {

constexpr int64_t kSitesPerLayer = 4;  // attn_in, attn_out_in, ffn_in, ffn_down_in

// The order the observers' ranges are kept in, matching SiteRanges' fields.
constexpr const char* kObserverMethods[] = {"minmax", "moving-average", "percentile", "kl", "mse"};

struct SiteLayout {
  std::string name;
  std::vector<std::string> weights;
  int64_t channels;
};

SiteLayout layer_site(const ModelConfig& c, int64_t layer, LinearSite site) {
  const std::string blk = "blk." + std::to_string(layer) + ".";
  switch (site) {
    case LinearSite::kAttnIn:
      return {blk + "attn_in", {blk + "attn_q.weight", blk + "attn_k.weight", blk + "attn_v.weight"}, c.dim};
    case LinearSite::kAttnOutIn:
      return {blk + "attn_out_in", {blk + "attn_output.weight"}, c.n_heads * c.head_dim};
    case LinearSite::kFfnIn:
      return {blk + "ffn_in", {blk + "ffn_gate.weight", blk + "ffn_up.weight"}, c.dim};
    case LinearSite::kFfnDownIn:
      return {blk + "ffn_down_in", {blk + "ffn_down.weight"}, c.hidden_dim};
    case LinearSite::kOutputIn:
      break;
  }
  throw_error("calibration: site {} is not inside a layer", static_cast<int>(site));
}

// The output site is read by output.weight, or by token_embd.weight when the embeddings are tied.
SiteLayout output_site(const ModelFile& model) {
  const bool has_output = model.find_tensor("output.weight") != nullptr;
  return {"output_in", {has_output ? "output.weight" : "token_embd.weight"}, model.config().dim};
}

}  // namespace

struct CalibrationRecorder::Site {
  SiteStats stats;                 // name, weights, channels, tokens and abs_max kept current
  std::vector<double> sum_square;  // [channels]
  std::optional<GramAccumulator> gram;
  std::vector<std::unique_ptr<Observer>> observers;  // in kObserverMethods order

  Site(SiteLayout layout, bool with_gram, const ObserverOptions& observer_options) {
    stats.name = std::move(layout.name);
    stats.weights = std::move(layout.weights);
    stats.channels = layout.channels;
    stats.abs_max.assign(static_cast<size_t>(layout.channels), 0.0f);
    sum_square.assign(static_cast<size_t>(layout.channels), 0.0);
    if (with_gram) gram.emplace(layout.channels);
    for (const char* method : kObserverMethods) observers.push_back(make_observer(method, stats.name, observer_options));
  }
};

CalibrationRecorder::CalibrationRecorder(const ModelFile& model, bool with_gram, const ObserverOptions& observer_options)
    : n_layers_(model.config().n_layers) {
  const ModelConfig& c = model.config();
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    for (LinearSite site : {LinearSite::kAttnIn, LinearSite::kAttnOutIn, LinearSite::kFfnIn, LinearSite::kFfnDownIn}) {
      sites_.push_back(std::make_unique<Site>(layer_site(c, layer, site), with_gram, observer_options));
    }
  }
  sites_.push_back(std::make_unique<Site>(output_site(model), with_gram, observer_options));
}

CalibrationRecorder::~CalibrationRecorder() = default;

void CalibrationRecorder::observe(int64_t layer, LinearSite site, const float* x, int64_t n_tokens, int64_t cols) {
  const bool is_output = site == LinearSite::kOutputIn;
  if (is_output != (layer < 0) || layer >= n_layers_) throw_error("calibration: no site {} in layer {}", static_cast<int>(site), layer);
  Site& s = *sites_[static_cast<size_t>(is_output ? n_layers_ * kSitesPerLayer : layer * kSitesPerLayer + static_cast<int64_t>(site))];
  if (cols != s.stats.channels) throw_error("calibration: site {} has {} channels, got activations of {}", s.stats.name, s.stats.channels, cols);
  if (n_tokens <= 0) return;

  const std::span<const float> values(x, static_cast<size_t>(n_tokens * cols));
  for (const auto& observer : s.observers) observer->observe(values);  // throws on NaN/Inf, naming the site
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* row = x + t * cols;
    for (int64_t c = 0; c < cols; ++c) {
      s.sum_square[c] += static_cast<double>(row[c]) * row[c];
      s.stats.abs_max[c] = std::max(s.stats.abs_max[c], std::abs(row[c]));
    }
  }
  if (s.gram) s.gram->add(x, n_tokens);
  s.stats.tokens += n_tokens;
}

std::vector<SiteStats> CalibrationRecorder::finish() const {
  std::vector<SiteStats> result;
  for (const auto& site : sites_) {
    const Site& s = *site;
    if (s.stats.tokens == 0) throw_error("calibration: site {} saw no activations", s.stats.name);
    SiteStats stats = s.stats;
    stats.mean_square.resize(s.sum_square.size());
    for (size_t c = 0; c < s.sum_square.size(); ++c) stats.mean_square[c] = s.sum_square[c] / static_cast<double>(s.stats.tokens);
    if (s.gram) stats.gram = s.gram->mean();
    Range* ranges[] = {&stats.ranges.minmax, &stats.ranges.moving_average, &stats.ranges.percentile, &stats.ranges.kl, &stats.ranges.mse};
    for (size_t i = 0; i < s.observers.size(); ++i) *ranges[i] = s.observers[i]->range();
    result.push_back(std::move(stats));
  }
  return result;
}

CalibStats calibrate(const std::string& model_path, const std::string& text_path, const CalibrateOptions& options) {
  const std::unique_ptr<ModelFile> model = open_model(model_path, options.tokenizer_path);
  const int64_t ctx = options.context;
  if (ctx < 3 || ctx > model->config().context_length) {
    throw_error("{}: a calibration context of {} tokens is outside 3..{} (the model's context length)", model_path, ctx,
                model->config().context_length);
  }
  if (options.max_tokens != 0 && options.max_tokens < ctx) {
    throw_error("--tokens {} is less than one context of {} tokens", options.max_tokens, ctx);
  }
  const std::unique_ptr<Tokenizer> tokenizer = Tokenizer::create(model->vocab());
  const std::vector<int32_t> tokens = tokenizer->encode(read_text_without_final_newline(text_path), /*add_special=*/true);
  if (static_cast<int64_t>(tokens.size()) < ctx) {
    throw_error("{}: the calibration text has {} tokens, fewer than one context of {}", text_path, tokens.size(), ctx);
  }
  const std::vector<int32_t> chunks = make_chunks(tokens, tokenizer->bos_id(), ctx, options.max_tokens / ctx);
  const int64_t n_chunks = static_cast<int64_t>(chunks.size()) / ctx;

  Transformer engine(*model, ctx);
  CalibrationRecorder recorder(*model, options.with_gram, options.observer_options);
  engine.set_linear_input_hook([&recorder](int64_t layer, LinearSite site, const float* x, int64_t n, int64_t cols) {
    recorder.observe(layer, site, x, n, cols);
  });
  for (int64_t c = 0; c < n_chunks; ++c) {
    engine.reset();
    engine.forward(std::span(chunks).subspan(static_cast<size_t>(c * ctx), static_cast<size_t>(ctx)), LogitsFor::kAllTokens);
    if (options.progress) options.progress(c + 1, n_chunks);
  }

  CalibStats stats;
  stats.source = CalibSource{model_path, model->config(), text_path, ctx, n_chunks * ctx};
  stats.sites = recorder.finish();
  return stats;
}

}  // namespace lowbit
