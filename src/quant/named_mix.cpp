#include "quant/named_mix.h"

#include <strings.h>

#include <array>
#include <deque>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/type_traits.h"

namespace lowbit {
namespace {

using T = TensorType;

constexpr std::array kMixes = {
    NamedMix{MixId::F32, "F32", T::F32, 0, "32-bit floats, no quantization"},
    NamedMix{MixId::F16, "F16", T::F16, 1, "IEEE half precision"},
    NamedMix{MixId::BF16, "BF16", T::BF16, 32, "bfloat16"},
    NamedMix{MixId::Q8_0, "Q8_0", T::Q8_0, 7, "q8_0 everywhere (8.5 bits/weight)"},
    NamedMix{MixId::Q4_0, "Q4_0", T::Q4_0, 2, "q4_0, output q6_K"},
    NamedMix{MixId::Q4_1, "Q4_1", T::Q4_1, 3, "q4_1, output q6_K"},
    NamedMix{MixId::Q5_0, "Q5_0", T::Q5_0, 8, "q5_0, output q6_K"},
    NamedMix{MixId::Q5_1, "Q5_1", T::Q5_1, 9, "q5_1, output q6_K"},
    NamedMix{MixId::Q2_K, "Q2_K", T::Q2_K, 10, "q2_K; attn_v, attn_output, ffn_down q3_K; output q6_K"},
    NamedMix{MixId::Q3_K_S, "Q3_K_S", T::Q3_K, 11, "q3_K, output q6_K"},
    NamedMix{MixId::Q3_K_M, "Q3_K_M", T::Q3_K, 12, "q3_K; attn_v q5_K/q4_K, attn_output, ffn_down q4_K; output q6_K"},
    NamedMix{MixId::Q3_K_L, "Q3_K_L", T::Q3_K, 13, "q3_K; attn_v, attn_output, ffn_down q5_K; output q6_K"},
    NamedMix{MixId::Q4_K_S, "Q4_K_S", T::Q4_K, 14,
             "q4_K; attn_v of the first 4 layers, ffn_down of the first eighth q5_K; output q6_K"},
    NamedMix{MixId::Q4_K_M, "Q4_K_M", T::Q4_K, 15, "q4_K; attn_v, ffn_down of about half the layers q6_K; output q6_K"},
    NamedMix{MixId::Q5_K_S, "Q5_K_S", T::Q5_K, 16, "q5_K, output q6_K"},
    NamedMix{MixId::Q5_K_M, "Q5_K_M", T::Q5_K, 17, "q5_K; attn_v, ffn_down of about half the layers q6_K; output q6_K"},
    NamedMix{MixId::Q6_K, "Q6_K", T::Q6_K, 18, "q6_K everywhere (6.56 bits/weight)"},
};

// llama-quantize takes the bare K-quant names for its medium mixes.
struct MixAlias {
  const char* alias;
  MixId mix;
};
constexpr std::array kAliases = {
    MixAlias{"Q3_K", MixId::Q3_K_M},
    MixAlias{"Q4_K", MixId::Q4_K_M},
    MixAlias{"Q5_K", MixId::Q5_K_M},
};

bool equals_ignoring_case(std::string_view a, const char* b) {
  return a.size() == std::char_traits<char>::length(b) && ::strncasecmp(a.data(), b, a.size()) == 0;
}

// The table is in MixId order, so an id indexes it.
constexpr bool table_in_id_order() {
  for (size_t i = 0; i < kMixes.size(); ++i) {
    if (static_cast<size_t>(kMixes[i].id) != i) return false;
  }
  return true;
}
static_assert(table_in_id_order());

const NamedMix& mix_by_id(MixId id) { return kMixes[static_cast<size_t>(id)]; }

// The first and last eighth of the layers, and every third layer in between.
bool more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

TensorType output_rule(const NamedMix& mix, const MixRuleInput& in) {
  // A row the base type cannot hold would lose q6_K's 256-element blocks too; q8_0's 32 are likelier
  // to fit. A q8_0 mix is already finer than q6_K.
  if (in.row_length % type_traits(mix.base_type).block_size != 0 || mix.base_type == T::Q8_0) return T::Q8_0;
  return T::Q6_K;
}

TensorType attn_v_rule(const NamedMix& mix, const MixRuleInput& in) {
  const int64_t i = in.index_in_role;
  TensorType type = mix.base_type;
  switch (mix.id) {
    case MixId::Q2_K:
      type = in.gqa_ratio >= 4 ? T::Q4_K : T::Q3_K;
      break;
    case MixId::Q3_K_M:
      type = i < 2 ? T::Q5_K : T::Q4_K;
      break;
    case MixId::Q3_K_L:
      type = T::Q5_K;
      break;
    case MixId::Q4_K_M:
    case MixId::Q5_K_M:
      if (more_bits(i, in.count_in_role)) type = T::Q6_K;
      break;
    case MixId::Q4_K_S:
      if (i < 4) type = T::Q5_K;
      break;
    default:
      break;
  }
  // In LLaMA-70B eight query heads share each attn_v head, so attn_v is an eighth of attn_q's size
  // and more bits there cost almost nothing.
  if (in.llama_70b && (type == T::Q3_K || type == T::Q4_K)) type = T::Q5_K;
  return type;
}

TensorType ffn_down_rule(const NamedMix& mix, const MixRuleInput& in) {
  const int64_t i = in.index_in_role;
  const int64_t n = in.count_in_role;
  switch (mix.id) {
    case MixId::Q2_K:
      return T::Q3_K;
    case MixId::Q3_K_M:
      return i < n / 16 ? T::Q5_K : T::Q4_K;
    case MixId::Q3_K_L:
      return T::Q5_K;
    case MixId::Q4_K_M:
    case MixId::Q5_K_M:
      return more_bits(i, n) ? T::Q6_K : mix.base_type;
    case MixId::Q4_K_S:
      return i < n / 8 ? T::Q5_K : mix.base_type;
    default:
      return mix.base_type;
  }
}

TensorType attn_output_rule(const NamedMix& mix) {
  switch (mix.id) {
    case MixId::Q2_K:
      return T::Q3_K;
    case MixId::Q3_K_M:
      return T::Q4_K;
    case MixId::Q3_K_L:
      return T::Q5_K;
    default:
      return mix.base_type;
  }
}

// The type table's lowbit rows, in id order. Their ids lie below kLowbitTypeBase + kLowbitTypeSpan.
std::vector<const TypeTraits*> lowbit_types() {
  constexpr uint32_t kLowbitTypeSpan = 1024;
  std::vector<const TypeTraits*> types;
  for (uint32_t id = kLowbitTypeBase; id < kLowbitTypeBase + kLowbitTypeSpan; ++id) {
    if (const TypeTraits* traits = find_type_traits(id)) types.push_back(traits);
  }
  return types;
}

// One mix per lowbit type of the type table, built once.
const std::deque<NamedMix>& lowbit_type_mixes() {
  static const std::deque<std::string> descriptions = [] {
    std::deque<std::string> texts;
    for (const TypeTraits* traits : lowbit_types()) {
      texts.push_back(fmt::format("lowbit's {} for every matrix ({:.4g} bits/weight); llama.cpp cannot load it", traits->name,
                                  traits->bits_per_weight()));
    }
    return texts;
  }();
  static const std::deque<NamedMix> mixes = [] {
    std::deque<NamedMix> list;
    for (const TypeTraits* traits : lowbit_types()) {
      list.push_back(NamedMix{MixId::LowbitType, traits->name, traits->type, static_cast<uint32_t>(traits->type),
                              descriptions[list.size()].c_str()});
    }
    return list;
  }();
  return mixes;
}

}  // namespace

std::span<const NamedMix> named_mixes() { return kMixes; }

const NamedMix& find_named_mix(std::string_view name) {
  for (const NamedMix& mix : kMixes) {
    if (equals_ignoring_case(name, mix.name)) return mix;
  }
  for (const MixAlias& alias : kAliases) {
    if (equals_ignoring_case(name, alias.alias)) return mix_by_id(alias.mix);
  }
  for (const NamedMix& mix : lowbit_type_mixes()) {
    if (equals_ignoring_case(name, mix.name)) return mix;
  }
  std::string known;
  for (const NamedMix& mix : kMixes) known += fmt::format("{}{}", known.empty() ? "" : ", ", mix.name);
  throw_error("unknown quantization mix '{}' (known: {}, or a lowbit type such as lb_i4_asym_g32; see README)", name, known);
}

TensorRole tensor_role(std::string_view name) {
  // Substring tests, like llama.cpp's, so that any tensor of the family counts.
  if (name == "output.weight") return TensorRole::output;
  if (name == "token_embd.weight") return TensorRole::token_embedding;
  if (name.find("attn_v.weight") != std::string_view::npos) return TensorRole::attn_v;
  if (name.find("attn_output.weight") != std::string_view::npos) return TensorRole::attn_output;
  if (name.find("ffn_down") != std::string_view::npos) return TensorRole::ffn_down;
  return TensorRole::other;
}

TensorType mix_rule_type(const NamedMix& mix, const MixRuleInput& input) {
  if (!type_traits(mix.base_type).is_quantized || mix.id == MixId::LowbitType) return mix.base_type;
  switch (input.role) {
    case TensorRole::output:
      return output_rule(mix, input);
    case TensorRole::attn_v:
      return attn_v_rule(mix, input);
    case TensorRole::ffn_down:
      return ffn_down_rule(mix, input);
    case TensorRole::attn_output:
      return attn_output_rule(mix);
    case TensorRole::token_embedding:
    case TensorRole::other:
      return mix.base_type;
  }
  return mix.base_type;
}

}  // namespace lowbit
