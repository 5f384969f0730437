// The stats file, version 1, little-endian, no padding (docs/design.md):
//
//   magic "LBCALIBS" (8 bytes), u32 version
//   source: str model, str text, i64 context, i64 tokens,
//           config: str architecture, i64 dim, hidden_dim, n_layers, n_heads, n_kv_heads, head_dim,
//                   vocab_size, context_length, f32 rope_theta, norm_eps, u8 rope_style, tied_embeddings, qkv_bias
//   u64 site count, then per site:
//           str name, u64 weight count, str weights..., i64 channels, i64 tokens,
//           f64 mean_square[channels], f32 abs_max[channels], u8 has_gram, f32 gram[channels][channels] if has_gram,
//           f32 min, max of each range: minmax, moving_average, percentile, kl, mse
//   (end of file)
// where str is a u64 byte count and the bytes.
#include "quant/calib_stats.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/atomic_file.h"
#include "io/byte_reader.h"

namespace lowbit {
namespace {

constexpr char kMagic[8] = {'L', 'B', 'C', 'A', 'L', 'I', 'B', 'S'};
constexpr uint32_t kVersion = 1;

// Small fields gather in a buffer; the large per-channel arrays go to the file directly, so saving never
// holds a second copy of a Gram matrix.
class StatsWriter {
 public:
  explicit StatsWriter(AtomicFile& out) : out_(out) {}

  template <typename T>
  void put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
    buffer_.insert(buffer_.end(), bytes, bytes + sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    buffer_.insert(buffer_.end(), s.begin(), s.end());
  }
  template <typename T>
  void put_array(const std::vector<T>& values) {
    flush();
    out_.write(values.data(), values.size() * sizeof(T));
  }
  void flush() {
    out_.write(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

 private:
  AtomicFile& out_;
  std::vector<uint8_t> buffer_;
};

void put_range(StatsWriter& w, const Range& r) {
  w.put<float>(r.min);
  w.put<float>(r.max);
}

void put_config(StatsWriter& w, const ModelConfig& c) {
  w.put_string(c.architecture);
  for (int64_t v : {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size, c.context_length}) {
    w.put<int64_t>(v);
  }
  w.put<float>(c.rope_theta);
  w.put<float>(c.norm_eps);
  w.put<uint8_t>(c.rope_style == RopeStyle::kRotateHalf ? 1 : 0);
  w.put<uint8_t>(c.tied_embeddings ? 1 : 0);
  w.put<uint8_t>(c.qkv_bias ? 1 : 0);
}

// Reads fields of the stats file, checking every count against the bytes left before allocating.
class StatsReader {
 public:
  StatsReader(std::span<const uint8_t> bytes, const std::string& name) : reader_(bytes, name), name_(name) {}

  template <typename T>
  T get(const char* what) {
    return reader_.read<T>(what);
  }
  std::string get_string(const char* what) {
    const auto size = reader_.read<uint64_t>(what);
    return std::string(reader_.read_bytes(size, what));
  }
  bool get_flag(const char* what) {
    const auto value = reader_.read<uint8_t>(what);
    if (value > 1) throw_error("{}: {} is {}, expected 0 or 1", name_, what, value);
    return value == 1;
  }
  // `count` elements of T, every one finite.
  template <typename T>
  std::vector<T> get_array(uint64_t count, const char* what) {
    if (count > reader_.remaining() / sizeof(T)) {
      throw_error("{}: {} claims {} values, the file has {} bytes left", name_, what, count, reader_.remaining());
    }
    const std::string_view bytes = reader_.read_bytes(count * sizeof(T), what);
    std::vector<T> values(static_cast<size_t>(count));
    std::memcpy(values.data(), bytes.data(), bytes.size());
    for (const T v : values) {
      if (!std::isfinite(v)) throw_error("{}: {} holds a non-finite value", name_, what);
    }
    return values;
  }
  Range get_range(const std::string& site, const char* what) {
    const std::vector<float> v = get_array<float>(2, what);
    if (v[0] > v[1]) throw_error("{}: site {}: {} range [{}, {}] is reversed", name_, site, what, v[0], v[1]);
    return {v[0], v[1]};
  }
  size_t remaining() const { return reader_.remaining(); }

 private:
  ByteReader reader_;
  const std::string& name_;
};

ModelConfig get_config(StatsReader& r) {
  ModelConfig c;
  c.architecture = r.get_string("architecture");
  for (int64_t* field : {&c.dim, &c.hidden_dim, &c.n_layers, &c.n_heads, &c.n_kv_heads, &c.head_dim, &c.vocab_size, &c.context_length}) {
    *field = r.get<int64_t>("model dimension");
  }
  c.rope_theta = r.get<float>("rope theta");
  c.norm_eps = r.get<float>("norm epsilon");
  c.rope_style = r.get_flag("rope style") ? RopeStyle::kRotateHalf : RopeStyle::kInterleaved;
  c.tied_embeddings = r.get_flag("tied embeddings flag");
  c.qkv_bias = r.get_flag("qkv bias flag");
  return c;
}

SiteStats get_site(StatsReader& r, const std::string& file) {
  SiteStats site;
  site.name = r.get_string("site name");
  const auto n_weights = r.get<uint64_t>("weight count");
  // Each name takes at least its 8-byte length, so the count is bounded by the file before the loop.
  if (n_weights > r.remaining() / sizeof(uint64_t)) throw_error("{}: site {} claims {} weights", file, site.name, n_weights);
  for (uint64_t i = 0; i < n_weights; ++i) site.weights.push_back(r.get_string("weight name"));
  site.channels = r.get<int64_t>("channel count");
  site.tokens = r.get<int64_t>("token count");
  if (site.channels <= 0) throw_error("{}: site {} has {} channels", file, site.name, site.channels);
  if (site.tokens < 0) throw_error("{}: site {} has {} tokens", file, site.name, site.tokens);
  const auto channels = static_cast<uint64_t>(site.channels);
  site.mean_square = r.get_array<double>(channels, "mean squares");
  site.abs_max = r.get_array<float>(channels, "absolute maxima");
  for (size_t c = 0; c < channels; ++c) {
    if (site.mean_square[c] < 0 || site.abs_max[c] < 0) throw_error("{}: site {} has a negative statistic for channel {}", file, site.name, c);
  }
  if (r.get_flag("Gram matrix flag")) {
    // channels^2 could overflow: compare against the bytes left one factor at a time.
    if (channels > r.remaining() / sizeof(float) / channels) {
      throw_error("{}: site {}: a Gram matrix of {} channels does not fit in the {} bytes left", file, site.name, channels, r.remaining());
    }
    site.gram = r.get_array<float>(channels * channels, "Gram matrix");
  }
  site.ranges.minmax = r.get_range(site.name, "minmax");
  site.ranges.moving_average = r.get_range(site.name, "moving-average");
  site.ranges.percentile = r.get_range(site.name, "percentile");
  site.ranges.kl = r.get_range(site.name, "kl");
  site.ranges.mse = r.get_range(site.name, "mse");
  return site;
}

// The channel count a site of a model with config `c` has; -1 for a name no Llama site has.
int64_t site_channels(std::string_view name, const ModelConfig& c) {
  if (name == "output_in") return c.dim;
  if (!name.starts_with("blk.")) return -1;
  name.remove_prefix(4);
  int64_t layer = -1;
  const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), layer);
  if (error != std::errc() || layer < 0 || layer >= c.n_layers || end == name.data() + name.size() || *end != '.') return -1;
  const std::string_view kind(end + 1, name.data() + name.size() - (end + 1));
  if (kind == "attn_in" || kind == "ffn_in") return c.dim;
  if (kind == "attn_out_in") return c.n_heads * c.head_dim;
  if (kind == "ffn_down_in") return c.hidden_dim;
  return -1;
}

void check_model(const CalibStats& stats, const ModelConfig& expected, const std::string& file) {
  const ModelConfig& got = stats.source.config;
  if (got.n_layers != expected.n_layers || got.dim != expected.dim || got.hidden_dim != expected.hidden_dim ||
      got.n_heads != expected.n_heads || got.n_kv_heads != expected.n_kv_heads || got.head_dim != expected.head_dim ||
      got.vocab_size != expected.vocab_size) {
    throw_error("{}: the statistics were recorded from another model ({}: {} layers, dim {}, hidden {}, {}/{} heads, vocab {}); "
                "this one has {} layers, dim {}, hidden {}, {}/{} heads, vocab {}",
                file, stats.source.model, got.n_layers, got.dim, got.hidden_dim, got.n_heads, got.n_kv_heads, got.vocab_size,
                expected.n_layers, expected.dim, expected.hidden_dim, expected.n_heads, expected.n_kv_heads, expected.vocab_size);
  }
  // The consumers index weights' columns by channel: a site must match the matrices it names.
  for (const SiteStats& site : stats.sites) {
    const int64_t channels = site_channels(site.name, expected);
    if (channels < 0) throw_error("{}: unknown site {} for this model", file, site.name);
    if (channels != site.channels) throw_error("{}: site {} has {} channels, the model's has {}", file, site.name, site.channels, channels);
  }
}

}  // namespace

const SiteStats* CalibStats::find_for_weight(const std::string& weight) const {
  for (const SiteStats& site : sites) {
    for (const std::string& name : site.weights) {
      if (name == weight) return &site;
    }
  }
  return nullptr;
}

void CalibStats::save(const std::string& path) const {
  AtomicFile out(path);
  StatsWriter w(out);
  for (char c : kMagic) w.put<char>(c);
  w.put<uint32_t>(kVersion);
  w.put_string(source.model);
  w.put_string(source.text);
  w.put<int64_t>(source.context);
  w.put<int64_t>(source.tokens);
  put_config(w, source.config);
  w.put<uint64_t>(sites.size());
  for (const SiteStats& site : sites) {
    if (site.mean_square.size() != static_cast<size_t>(site.channels) || site.abs_max.size() != static_cast<size_t>(site.channels) ||
        (!site.gram.empty() && site.gram.size() != static_cast<size_t>(site.channels * site.channels))) {
      throw_error("{}: site {} has arrays that do not match its {} channels", path, site.name, site.channels);
    }
    w.put_string(site.name);
    w.put<uint64_t>(site.weights.size());
    for (const std::string& weight : site.weights) w.put_string(weight);
    w.put<int64_t>(site.channels);
    w.put<int64_t>(site.tokens);
    w.put_array(site.mean_square);
    w.put_array(site.abs_max);
    w.put<uint8_t>(site.gram.empty() ? 0 : 1);
    w.put_array(site.gram);
    for (const Range* r : {&site.ranges.minmax, &site.ranges.moving_average, &site.ranges.percentile, &site.ranges.kl, &site.ranges.mse}) {
      put_range(w, *r);
    }
  }
  w.flush();
  out.commit();
}

CalibStats CalibStats::parse(std::span<const uint8_t> bytes, const std::string& name, const ModelConfig* expected) {
  StatsReader r(bytes, name);
  char magic[sizeof(kMagic)];
  for (char& c : magic) c = r.get<char>("magic");
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) throw_error("{}: not a lowbit calibration stats file (bad magic)", name);
  const auto version = r.get<uint32_t>("version");
  if (version != kVersion) throw_error("{}: stats file version {} is not supported (this lowbit reads version {})", name, version, kVersion);

  CalibStats stats;
  stats.source.model = r.get_string("model path");
  stats.source.text = r.get_string("text path");
  stats.source.context = r.get<int64_t>("context");
  stats.source.tokens = r.get<int64_t>("token count");
  stats.source.config = get_config(r);
  const auto n_sites = r.get<uint64_t>("site count");
  for (uint64_t i = 0; i < n_sites; ++i) {
    if (r.remaining() == 0) throw_error("{}: the file ends after {} of {} sites", name, i, n_sites);
    stats.sites.push_back(get_site(r, name));
  }
  if (r.remaining() != 0) throw_error("{}: {} unexpected bytes after the last site", name, r.remaining());
  if (expected != nullptr) check_model(stats, *expected, name);
  return stats;
}

CalibStats CalibStats::load(const std::string& path, const ModelConfig* expected) {
  const MappedFile file(path);
  return parse(file.bytes(), path, expected);
}

}  // namespace lowbit
