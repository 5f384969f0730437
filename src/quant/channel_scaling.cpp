#include "quant/channel_scaling.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/error.h"

namespace lowbit {
namespace {

struct SiteLayout {
  SiteKind kind;
  const char* suffix;                 // of the site name
  std::vector<const char*> readers;   // matrices, without prefix and ".weight"
  const char* producer;               // without prefix and ".weight"
  bool producer_is_matrix;            // rows of a matrix (else a norm weight vector)
};

const std::vector<SiteLayout>& site_layouts() {
  static const std::vector<SiteLayout> layouts = {
      {SiteKind::kAttnIn, "attn_in", {"attn_q", "attn_k", "attn_v"}, "attn_norm", false},
      {SiteKind::kAttnOutIn, "attn_out_in", {"attn_output"}, "attn_v", true},
      {SiteKind::kFfnIn, "ffn_in", {"ffn_gate", "ffn_up"}, "ffn_norm", false},
      {SiteKind::kFfnDownIn, "ffn_down_in", {"ffn_down"}, "ffn_up", true},
      {SiteKind::kOutputIn, "output_in", {"output"}, "output_norm", false},
  };
  return layouts;
}

const SiteLayout& layout_of(SiteKind kind) {
  for (const SiteLayout& layout : site_layouts()) {
    if (layout.kind == kind) return layout;
  }
  throw_error("internal: no layout for site kind {}", static_cast<int>(kind));
}

std::string tensor_name(const SiteName& site, const char* base, const char* suffix) {
  return site.layer < 0 ? fmt::format("{}.{}", base, suffix) : fmt::format("blk.{}.{}.{}", site.layer, base, suffix);
}

std::string site_label(const SiteName& site) {
  const char* suffix = layout_of(site.kind).suffix;
  return site.layer < 0 ? std::string(suffix) : fmt::format("blk.{}.{}", site.layer, suffix);
}

FloatTensor& find_layer_tensor(LayerTensors& tensors, const std::string& name, const SiteName& site) {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw_error("{}: channel scaling needs tensor {}, which the layer lacks", site_label(site), name);
  return it->second;
}

// Checks that scales of channel d are equal over the heads of each KV group (attn_out_in only).
void check_kv_groups_tied(const ModelConfig& config, const SiteName& site, std::span<const float> scales) {
  const int64_t group = config.n_heads / config.n_kv_heads, head_dim = config.head_dim;
  for (int64_t h = 0; h < config.n_heads; ++h) {
    const int64_t first = (h / group) * group;  // first head of h's group
    for (int64_t d = 0; d < head_dim; ++d) {
      if (scales[static_cast<size_t>(h * head_dim + d)] != scales[static_cast<size_t>(first * head_dim + d)]) {
        throw_error("{}: scales of head {} and head {} channel {} differ, but they share KV head {}", site_label(site),
                    h, first, d, h / group);
      }
    }
  }
}

}  // namespace

SiteName parse_site_name(std::string_view name) {
  SiteName site;
  std::string_view suffix = name;
  if (name.starts_with("blk.")) {
    const std::string_view rest = name.substr(4);
    const size_t dot = rest.find('.');
    const auto [end, error] = std::from_chars(rest.data(), rest.data() + (dot == std::string_view::npos ? 0 : dot), site.layer);
    if (dot == std::string_view::npos || dot == 0 || error != std::errc() || end != rest.data() + dot || site.layer < 0) {
      throw_error("calibration site '{}': expected blk.N.<site>", name);
    }
    suffix = rest.substr(dot + 1);
  }
  for (const SiteLayout& layout : site_layouts()) {
    if (suffix == layout.suffix && (site.layer < 0) == (layout.kind == SiteKind::kOutputIn)) {
      site.kind = layout.kind;
      return site;
    }
  }
  throw_error("calibration site '{}' is unknown (known: blk.N.attn_in, blk.N.attn_out_in, blk.N.ffn_in, "
              "blk.N.ffn_down_in, output_in)", name);
}

std::vector<std::string> site_readers(const ModelConfig& config, const SiteName& site) {
  if (site.kind == SiteKind::kOutputIn && config.tied_embeddings) return {"token_embd.weight"};
  std::vector<std::string> names;
  for (const char* reader : layout_of(site.kind).readers) names.push_back(tensor_name(site, reader, "weight"));
  return names;
}

bool site_is_foldable(const ModelConfig& config, const SiteName& site) {
  return !(site.kind == SiteKind::kOutputIn && config.tied_embeddings);
}

std::vector<SiteReader> find_site_readers(const LayerRewriteContext& context, const SiteStats& site, LayerTensors& tensors) {
  std::vector<SiteReader> readers;
  for (const std::string& name : site_readers(context.model.config(), parse_site_name(site.name))) {
    const auto type = context.target_types.find(name);
    const auto tensor = tensors.find(name);
    if (type == context.target_types.end() || tensor == tensors.end()) {
      throw_error("{}: reader {} is not among the tensors of layer {}", site.name, name, context.layer);
    }
    const std::vector<int64_t>& shape = tensor->second.shape;
    if (shape.size() != 2 || shape[1] != site.channels) {
      throw_error("{}: reader {} is not a matrix of {} columns", site.name, name, site.channels);
    }
    readers.push_back(SiteReader{name, &tensor->second, type->second});
  }
  return readers;
}

std::vector<const SiteStats*> sites_of_layer(const CalibStats& stats, int64_t layer) {
  std::vector<const SiteStats*> sites;
  for (const SiteStats& s : stats.sites) {
    if (parse_site_name(s.name).layer == layer) sites.push_back(&s);
  }
  auto producer_rank = [](const SiteStats* s) { return layout_of(parse_site_name(s->name).kind).producer_is_matrix ? 0 : 1; };
  std::stable_sort(sites.begin(), sites.end(), [&](auto* a, auto* b) { return producer_rank(a) < producer_rank(b); });
  return sites;
}

void tie_kv_group_scales(const ModelConfig& config, const SiteName& site, std::span<float> scales) {
  if (site.kind != SiteKind::kAttnOutIn || config.n_kv_heads == config.n_heads) return;
  const int64_t group = config.n_heads / config.n_kv_heads, head_dim = config.head_dim;
  for (int64_t kv = 0; kv < config.n_kv_heads; ++kv) {
    for (int64_t d = 0; d < head_dim; ++d) {
      double log_sum = 0;
      for (int64_t h = kv * group; h < (kv + 1) * group; ++h) log_sum += std::log(scales[static_cast<size_t>(h * head_dim + d)]);
      const float mean = static_cast<float>(std::exp(log_sum / static_cast<double>(group)));
      for (int64_t h = kv * group; h < (kv + 1) * group; ++h) scales[static_cast<size_t>(h * head_dim + d)] = mean;
    }
  }
}

SiteStats rescaled_site_stats(const SiteStats& site, std::span<const float> scales) {
  const auto n = static_cast<size_t>(site.channels);
  if (scales.size() != n || site.mean_square.size() != n || site.abs_max.size() != n ||
      (!site.gram.empty() && site.gram.size() != n * n)) {
    throw_error("{}: {} scales for stats of {} channels", site.name, scales.size(), site.channels);
  }
  SiteStats scaled = site;
  for (size_t i = 0; i < n; ++i) {
    scaled.mean_square[i] /= static_cast<double>(scales[i]) * scales[i];
    scaled.abs_max[i] /= scales[i];
    if (scaled.gram.empty()) continue;
    for (size_t j = 0; j < n; ++j) scaled.gram[i * n + j] /= scales[i] * scales[j];
  }
  return scaled;
}

void fold_channel_scales(const ModelConfig& config, const SiteName& site, std::span<const float> scales,
                         LayerTensors& tensors) {
  if (!site_is_foldable(config, site)) {
    throw_error("{}: cannot fold channel scales: the output matrix is tied to the token embeddings", site_label(site));
  }
  const SiteLayout& layout = layout_of(site.kind);
  const auto channels = static_cast<int64_t>(scales.size());
  for (size_t c = 0; c < scales.size(); ++c) {
    if (!(scales[c] > 0.0f) || !std::isfinite(scales[c])) {
      throw_error("{}: channel scale {} is {}, expected positive and finite", site_label(site), c, scales[c]);
    }
  }
  if (site.kind == SiteKind::kAttnOutIn) {
    if (channels != config.n_heads * config.head_dim) {
      throw_error("{}: {} scales for {} attention channels", site_label(site), channels, config.n_heads * config.head_dim);
    }
    check_kv_groups_tied(config, site, scales);
  }

  for (const std::string& name : site_readers(config, site)) {
    FloatTensor& w = find_layer_tensor(tensors, name, site);
    if (w.shape.size() != 2 || w.shape[1] != channels) {
      throw_error("{}: tensor {} does not have {} columns", site_label(site), name, channels);
    }
    for (int64_t r = 0; r < w.shape[0]; ++r) {
      float* row = w.values.data() + r * channels;
      for (int64_t c = 0; c < channels; ++c) row[c] *= scales[static_cast<size_t>(c)];
    }
  }

  // The producer's output channel o carries the site's channel(s) that read it: one each, except
  // attn_v under GQA, whose row o = kv*head_dim + d feeds channel h*head_dim + d of every head h of
  // group kv (equal scales, checked above: the group's first head stands for all).
  const int64_t group = site.kind == SiteKind::kAttnOutIn ? config.n_heads / config.n_kv_heads : 1;
  auto site_channel_of = [&](int64_t o) {
    if (group == 1) return o;
    const int64_t kv = o / config.head_dim, d = o % config.head_dim;
    return kv * group * config.head_dim + d;
  };
  const int64_t producer_channels = channels / group;
  FloatTensor& producer = find_layer_tensor(tensors, tensor_name(site, layout.producer, "weight"), site);
  const int64_t producer_cols = layout.producer_is_matrix ? producer.shape.back() : 1;
  if (producer.shape.empty() || producer.shape[0] != producer_channels ||
      producer.shape.size() != (layout.producer_is_matrix ? 2u : 1u)) {
    throw_error("{}: producer {} does not have {} output channels", site_label(site), tensor_name(site, layout.producer, "weight"),
                producer_channels);
  }
  for (int64_t o = 0; o < producer_channels; ++o) {
    const float s = scales[static_cast<size_t>(site_channel_of(o))];
    float* row = producer.values.data() + o * producer_cols;
    for (int64_t c = 0; c < producer_cols; ++c) row[c] /= s;
  }
  // A bias is added after the producer's matrix, so it is part of the producer's output: scaled with it.
  if (layout.producer_is_matrix) {
    auto bias = tensors.find(tensor_name(site, layout.producer, "bias"));
    if (bias != tensors.end()) {
      if (static_cast<int64_t>(bias->second.values.size()) != producer_channels) {
        throw_error("{}: bias {} does not have {} elements", site_label(site), bias->first, producer_channels);
      }
      for (int64_t o = 0; o < producer_channels; ++o) bias->second.values[static_cast<size_t>(o)] /= scales[static_cast<size_t>(site_channel_of(o))];
    }
  }
}

}  // namespace lowbit
