// First, so that libstdc++'s std::function is first seen here: GCC 12 with -fsanitize=address
// reports -Wmaybe-uninitialized inside the regex compiler's copies of std::function (a false
// positive in the library's code, not in this file's).
#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cctype>
#include <numeric>
#include <optional>

#include "core/error.h"
#include "formats/type_traits.h"
#include "quant/mix_policy.h"

namespace lowbit {
namespace {

// The layer of "blk.N.…", or -1 (llama.cpp reads it with sscanf "blk.%d.").
int64_t layer_of(std::string_view name) {
  constexpr std::string_view prefix = "blk.";
  if (!name.starts_with(prefix)) return -1;
  int64_t layer = 0;
  size_t digits = 0;
  for (size_t i = prefix.size(); i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    if (++digits > 9) return -1;  // no model has a billion layers; keeps the sum from overflowing
    layer = layer * 10 + (name[i] - '0');
  }
  return digits == 0 ? -1 : layer;
}

// ggml's dimension count: up to the outermost dimension above 1, at least 1.
size_t ggml_dims(const std::vector<int64_t>& shape) {
  for (size_t i = 0; i + 1 < shape.size(); ++i) {
    if (shape[i] > 1) return shape.size() - i;
  }
  return 1;
}

bool llama_quantizes(const TensorTypeRequest& tensor) {
  const std::string_view name = tensor.name;
  return ggml_dims(tensor.shape) >= 2 && name.ends_with("weight") &&
         name.find("_norm.weight") == std::string_view::npos;
}

// llama.cpp's substitutes for types whose 256-element blocks do not fit a row.
std::optional<TensorType> fallback_type(TensorType type) {
  switch (type) {
    case TensorType::Q2_K:
    case TensorType::Q3_K:
      return TensorType::Q4_0;
    case TensorType::Q4_K:
      return TensorType::Q5_0;
    case TensorType::Q5_K:
      return TensorType::Q5_1;
    case TensorType::Q6_K:
      return TensorType::Q8_0;
    default:
      return std::nullopt;
  }
}

bool fits(TensorType type, int64_t row_length) { return row_length % type_traits(type).block_size == 0; }

struct CompiledOverride {
  std::regex pattern;
  TensorType type;
};

std::vector<CompiledOverride> compile_overrides(const std::vector<TensorTypeOverride>& overrides) {
  std::vector<CompiledOverride> compiled;
  for (const TensorTypeOverride& o : overrides) {
    const TypeTraits& traits = type_traits(o.type);  // throws for an unknown type id
    try {
      compiled.push_back({std::regex(o.pattern), o.type});
    } catch (const std::regex_error& e) {
      throw_error("--tensor-type {}={}: '{}' is not a regular expression ({})", o.pattern, traits.name, o.pattern,
                  e.what());
    }
  }
  return compiled;
}

// A --tensor-type value that keeps the tensor in F16: the role part of a block tensor's name (so one
// option covers every block), or the whole name anchored.
std::string override_pattern_for(std::string_view name) {
  if (layer_of(name) >= 0) {
    std::string_view role = name.substr(name.find('.', 4) + 1);
    if (role.ends_with(".weight")) role.remove_suffix(7);
    return std::string(role);
  }
  std::string anchored = "^";
  for (char c : name) anchored += c == '.' ? std::string("\\.") : std::string(1, c);
  return anchored + "$";
}

// Tensors whose rows no allowed type fits, gathered so that one error lists them all.
class MisfitReport {
 public:
  void add(std::string_view name, int64_t row_length, TensorType type) {
    const TypeTraits& traits = type_traits(type);
    list_ += fmt::format("{}{} ({} elements per row, {} blocks of {})", list_.empty() ? "" : ", ", name, row_length,
                         traits.name, traits.block_size);
    const std::string option = fmt::format("--tensor-type {}=f16", override_pattern_for(name));
    if (std::find(options_.begin(), options_.end(), option) == options_.end()) options_.push_back(option);
  }

  void throw_if_any(const NamedMix& mix, bool pure) const {
    if (list_.empty()) return;
    std::string options;
    for (const std::string& option : options_) options += (options.empty() ? "" : " ") + option;
    throw_error(
        "{}: {}: {}; keep them in F16 with {}", mix.name,
        pure ? "--pure allows no fallback type for these rows" : "llama.cpp defines no fallback type for these rows",
        list_, options);
  }

 private:
  std::string list_;
  std::vector<std::string> options_;
};

// Walks the tensors in llama.cpp's order, keeping its counts of attn_v and ffn_down tensors.
class TypeChooser {
 public:
  TypeChooser(const NamedMix& mix, const MixOptions& options, const ModelShapeInfo& model,
              std::span<const TensorTypeRequest> tensors)
      : mix_(mix), options_(options), overrides_(compile_overrides(options.tensor_overrides)) {
    rules_apply_ = type_traits(mix.base_type).is_quantized && !options.pure;
    for (const TensorTypeRequest& t : tensors) {
      has_output_ = has_output_ || t.name == "output.weight";
      if (tensor_role(t.name) == TensorRole::attn_v) ++attn_v_count_;
    }
    n_layers_ = model.n_layers;
    gqa_ratio_ = model.n_heads > 0 && model.n_kv_heads > 0 ? model.n_heads / model.n_kv_heads : 0;
    llama_70b_ = model.n_layers == 80 && model.n_heads != model.n_kv_heads;
  }

  TensorTypeChoice choose(const TensorTypeRequest& tensor) {
    TensorTypeChoice choice{tensor.name, tensor.shape.empty() ? 1 : tensor.shape.back()};
    if (!llama_quantizes(tensor)) return choice;  // F32
    const TensorRole role = tensor_role(tensor.name);
    if (role == TensorRole::token_embedding && options_.embedding_type) {
      return explicit_choice(std::move(choice), *options_.embedding_type, "--embedding-type");
    }
    if (role == TensorRole::output && options_.output_type) {
      return explicit_choice(std::move(choice), *options_.output_type, "--output-type");
    }
    choice.wanted = wanted_type(tensor.name, role, choice.row_length);
    choice.type = fitted_type(choice);
    return choice;
  }

  const MisfitReport& misfits() const { return misfits_; }

 private:
  TensorTypeChoice explicit_choice(TensorTypeChoice choice, TensorType type, std::string_view option) {
    if (!fits(type, choice.row_length)) {
      const TypeTraits& traits = type_traits(type);
      throw_error("{} {}: {} has rows of {} elements, not a multiple of {}'s {}-element blocks", option, traits.name,
                  choice.name, choice.row_length, traits.name, traits.block_size);
    }
    choice.wanted = choice.type = type;
    return choice;
  }

  TensorType wanted_type(const std::string& name, TensorRole role, int64_t row_length) {
    for (const CompiledOverride& o : overrides_) {
      if (o.type != mix_.base_type && std::regex_search(name, o.pattern)) return o.type;
    }
    // Tied embeddings: the one matrix is also the output.
    if (role == TensorRole::token_embedding && !has_output_) role = TensorRole::output;
    if (role == TensorRole::output && options_.output_type) return *options_.output_type;
    if (!rules_apply_) return mix_.base_type;

    MixRuleInput input{.role = role, .row_length = row_length, .gqa_ratio = gqa_ratio_, .llama_70b = llama_70b_};
    if (role == TensorRole::attn_v) {
      input.index_in_role = attn_v_seen_++;
      input.count_in_role = attn_v_count_;
    } else if (role == TensorRole::ffn_down) {
      input.index_in_role = ffn_down_seen_++;
      input.count_in_role = n_layers_;
    }
    return mix_rule_type(mix_, input);
  }

  TensorType fitted_type(const TensorTypeChoice& choice) {
    if (fits(choice.wanted, choice.row_length)) return choice.wanted;
    const std::optional<TensorType> fallback = options_.pure ? std::nullopt : fallback_type(choice.wanted);
    if (!fallback) {
      misfits_.add(choice.name, choice.row_length, choice.wanted);
      return choice.wanted;
    }
    return fits(*fallback, choice.row_length) ? *fallback : TensorType::F16;
  }

  const NamedMix& mix_;
  const MixOptions& options_;
  std::vector<CompiledOverride> overrides_;
  bool rules_apply_ = false;
  bool has_output_ = false;
  int64_t attn_v_count_ = 0;
  int64_t n_layers_ = 0;
  int64_t gqa_ratio_ = 0;
  bool llama_70b_ = false;
  // llama.cpp advances these only when the mix rules run for the tensor (not for an override).
  int64_t attn_v_seen_ = 0;
  int64_t ffn_down_seen_ = 0;
  MisfitReport misfits_;
};

}  // namespace

TensorTypeOverride parse_tensor_type_override(std::string_view option) {
  const size_t equals = option.find('=');
  if (equals == std::string_view::npos) throw_error("--tensor-type '{}': expected PATTERN=TYPE", option);
  if (equals == 0) throw_error("--tensor-type '{}': the tensor name pattern is empty", option);
  const std::string_view type_name = option.substr(equals + 1);
  const TypeTraits* traits = find_type_traits(type_name);
  if (traits == nullptr) throw_error("--tensor-type '{}': unknown tensor type '{}'", option, type_name);
  std::string pattern(option.substr(0, equals));
  std::transform(pattern.begin(), pattern.end(), pattern.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return {std::move(pattern), traits->type};
}

std::string describe_fallback(const TensorTypeChoice& choice) {
  const TypeTraits& wanted = type_traits(choice.wanted);
  std::string text = fmt::format("{}: rows of {} elements do not fill {}'s {}-element blocks; using {}", choice.name,
                                 choice.row_length, wanted.name, wanted.block_size, type_traits(choice.type).name);
  const std::optional<TensorType> first_fallback = fallback_type(choice.wanted);
  if (first_fallback && *first_fallback != choice.type) {
    text += fmt::format(" ({} does not fit either)", type_traits(*first_fallback).name);
  }
  return text;
}

bool precedes_in_llama_order(std::string_view a, std::string_view b) {
  const int64_t layer_a = layer_of(a);
  const int64_t layer_b = layer_of(b);
  return layer_a != layer_b ? layer_a < layer_b : a < b;
}

MixPolicy::MixPolicy(const MixOptions& options, const ModelShapeInfo& model, std::span<const TensorTypeRequest> tensors)
    : mix_(&find_named_mix(options.mix)) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!index_by_name_.emplace(tensors[i].name, i).second) throw_error("tensor {} is listed twice", tensors[i].name);
  }
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return precedes_in_llama_order(tensors[a].name, tensors[b].name); });

  TypeChooser chooser(*mix_, options, model, tensors);
  choices_.resize(tensors.size());
  for (size_t i : order) choices_[i] = chooser.choose(tensors[i]);
  chooser.misfits().throw_if_any(*mix_, options.pure);
}

TensorType MixPolicy::choose(std::string_view name) const {
  const auto it = index_by_name_.find(std::string(name));
  if (it == index_by_name_.end()) throw_error("{}: no type was chosen for tensor {}", mix_->name, name);
  return choices_[it->second].type;
}

}  // namespace lowbit
