#include "quant/scheme.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "quant/quantized_tensor.h"

namespace lowbit {

const char* const kQuantSchemeSyntax =
    "int{2..8}-{sym|asym}[-u]-{tensor|channel|g<N>}[-f16|-f32][-minmax|-pct<P>|-mse], "
    "{nf4|fp4}[-tensor|-channel|-g<N>][-f16|-f32|-dq], log2-{2..8}[-tensor|-channel|-g<N>][-f16|-f32], "
    "fp8-{e4m3|e5m2}";

namespace {

// The scheme's '-'-separated words, consumed front to back.
class Words {
 public:
  explicit Words(std::string_view text) : text_(text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t begin = 0;
    while (true) {
      const size_t end = lower.find('-', begin);
      words_.push_back(lower.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
      if (end == std::string::npos) break;
      begin = end + 1;
    }
  }

  bool empty() const { return next_ == words_.size(); }
  const std::string& peek() const { return words_[next_]; }
  std::string take() { return words_[next_++]; }
  // Consumes the next word when it is one of the given ones.
  std::optional<std::string> take_if_one_of(std::initializer_list<std::string_view> options) {
    if (empty() || std::find(options.begin(), options.end(), peek()) == options.end()) return std::nullopt;
    return take();
  }

  [[noreturn]] void fail(std::string_view problem) const {
    throw_error("quantization scheme '{}': {}; valid schemes: {}", text_, problem, kQuantSchemeSyntax);
  }
  void expect_end() const {
    if (!empty()) fail(fmt::format("unexpected '{}'", peek()));
  }

 private:
  std::string text_;
  std::vector<std::string> words_;
  size_t next_ = 0;
};

template <typename Number>
std::optional<Number> parse_number(std::string_view digits) {
  Number value{};
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

int parse_bits(Words& words, std::string_view digits) {
  const auto bits = parse_number<int>(digits);
  if (!bits || *bits < 2 || *bits > 8) words.fail(fmt::format("'{}' is not a bit width 2..8", digits));
  return *bits;
}

std::optional<Grouping> take_grouping(Words& words) {
  if (words.take_if_one_of({"tensor"})) return Grouping{Grouping::Kind::Tensor, 0};
  if (words.take_if_one_of({"channel"})) return Grouping{Grouping::Kind::Channel, 0};
  if (words.empty() || words.peek().size() < 2 || words.peek()[0] != 'g') return std::nullopt;
  const std::string word = words.take();
  const auto size = parse_number<int64_t>(std::string_view(word).substr(1));
  if (!size || *size <= 0) words.fail(fmt::format("'{}' is not a group size g<N> with N > 0", word));
  return Grouping{Grouping::Kind::Group, *size};
}

std::optional<ScalePrecision> take_scale_precision(Words& words) {
  const auto word = words.take_if_one_of({"f16", "f32"});
  if (!word) return std::nullopt;
  return *word == "f16" ? ScalePrecision::F16 : ScalePrecision::F32;
}

LinearSpec parse_linear(Words& words, std::string_view bits) {
  LinearSpec spec;
  spec.bits = parse_bits(words, bits);
  const auto symmetry = words.take_if_one_of({"sym", "asym"});
  if (!symmetry) words.fail("integer schemes need sym or asym after the bit width");
  spec.symmetric = *symmetry == "sym";
  spec.is_unsigned = words.take_if_one_of({"u"}).has_value();
  const auto grouping = take_grouping(words);
  if (!grouping) words.fail("integer schemes need a granularity: tensor, channel or g<N>");
  spec.grouping = *grouping;
  spec.scale_precision = take_scale_precision(words).value_or(ScalePrecision::F16);
  if (words.take_if_one_of({"minmax"})) {
    spec.range_method = RangeMethod::MinMax;
  } else if (words.take_if_one_of({"mse"})) {
    spec.range_method = RangeMethod::Mse;
  } else if (!words.empty() && words.peek().starts_with("pct")) {
    const std::string word = words.take();
    const auto percentile = parse_number<double>(std::string_view(word).substr(3));
    if (!percentile || !(*percentile > 50.0 && *percentile <= 100.0)) {
      words.fail(fmt::format("'{}' is not a percentile pct<P> with 50 < P <= 100", word));
    }
    spec.range_method = RangeMethod::Percentile;
    spec.percentile = *percentile;
  }
  return spec;
}

CodebookSpec parse_codebook(Words& words, CodebookSpec::Kind kind) {
  CodebookSpec spec;
  spec.kind = kind;
  if (kind == CodebookSpec::Kind::Log2) {
    if (words.empty()) words.fail("log2 needs a bit width, e.g. log2-4");
    spec.bits = parse_bits(words, words.take());
    spec.scale_precision = ScalePrecision::F16;
  }
  spec.grouping = take_grouping(words).value_or(Grouping{Grouping::Kind::Group, 64});
  if (kind != CodebookSpec::Kind::Log2 && words.take_if_one_of({"dq"})) {
    spec.double_quant = true;
  } else {
    spec.scale_precision = take_scale_precision(words).value_or(spec.scale_precision);
  }
  return spec;
}

std::string grouping_name(const Grouping& grouping) {
  switch (grouping.kind) {
    case Grouping::Kind::Tensor: return "tensor";
    case Grouping::Kind::Channel: return "channel";
    case Grouping::Kind::Group: break;
  }
  return fmt::format("g{}", grouping.group_size);
}

const char* precision_name(ScalePrecision precision) { return precision == ScalePrecision::F16 ? "f16" : "f32"; }

std::string name_of(const LinearSpec& spec) {
  std::string range = spec.range_method == RangeMethod::MinMax ? "minmax"
                      : spec.range_method == RangeMethod::Mse  ? "mse"
                                                               : fmt::format("pct{}", spec.percentile);
  return fmt::format("int{}-{}{}-{}-{}-{}", spec.bits, spec.symmetric ? "sym" : "asym", spec.is_unsigned ? "-u" : "",
                     grouping_name(spec.grouping), precision_name(spec.scale_precision), range);
}

std::string name_of(const CodebookSpec& spec) {
  const std::string book = spec.kind == CodebookSpec::Kind::NF4   ? "nf4"
                           : spec.kind == CodebookSpec::Kind::FP4 ? "fp4"
                                                                  : fmt::format("log2-{}", spec.bits);
  return fmt::format("{}-{}-{}", book, grouping_name(spec.grouping),
                     spec.double_quant ? "dq" : precision_name(spec.scale_precision));
}

std::string name_of(const Fp8Spec& spec) { return spec.format == Fp8Spec::Format::E4M3 ? "fp8-e4m3" : "fp8-e5m2"; }

}  // namespace

QuantScheme parse_quant_scheme(std::string_view text) {
  Words words(text);
  const std::string head = words.take();
  QuantScheme scheme;
  if (head.starts_with("int")) {
    scheme.spec = parse_linear(words, std::string_view(head).substr(3));
  } else if (head == "nf4") {
    scheme.spec = parse_codebook(words, CodebookSpec::Kind::NF4);
  } else if (head == "fp4") {
    scheme.spec = parse_codebook(words, CodebookSpec::Kind::FP4);
  } else if (head == "log2") {
    scheme.spec = parse_codebook(words, CodebookSpec::Kind::Log2);
  } else if (head == "fp8") {
    const auto format = words.take_if_one_of({"e4m3", "e5m2"});
    if (!format) words.fail("fp8 needs a format: e4m3 or e5m2");
    scheme.spec = Fp8Spec{*format == "e4m3" ? Fp8Spec::Format::E4M3 : Fp8Spec::Format::E5M2};
  } else {
    words.fail(fmt::format("unknown kind '{}'", head));
  }
  words.expect_end();
  return scheme;
}

std::string to_string(const QuantScheme& scheme) {
  return std::visit([](const auto& spec) { return name_of(spec); }, scheme.spec);
}

std::vector<std::string> example_schemes() {
  return {"int8-sym-channel", "int4-asym-g32",    "int4-sym-g128-pct99.9", "int3-asym-g64-mse",
          "int2-asym-g32-mse", "nf4-g64",         "nf4-g64-dq",            "fp4-g64",
          "log2-4-g32",        "fp8-e4m3",        "fp8-e5m2"};
}

QuantError evaluate_scheme(const QuantScheme& scheme, std::string_view tensor_name, std::span<const float> values,
                           int64_t rows, int64_t cols) {
  return measure_quant_error(quantize_with_scheme(scheme, tensor_name, values, rows, cols), values);
}

}  // namespace lowbit
