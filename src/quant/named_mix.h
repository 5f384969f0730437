// The named quantization mixes of llama.cpp's llama-quantize (Q4_K_M, Q5_0, ...): each has a base
// type and rules that give some tensors more bits (the output matrix, attn_v, ffn_down in chosen
// layers, ...). This file holds the table of mixes and the rules; quant/mix_policy.h applies them to a
// whole model together with the user's overrides and the row-length fallbacks.
//
// The rules are llama.cpp's (commit 34af94cd, August 2026) for the LLaMA architecture, restated:
//   output.weight (or token_embd.weight when the model has no output.weight): q8_0 when its rows are
//     not a multiple of the base type's block or the base type is q8_0, otherwise q6_K.
//   attn_v, counted in processing order (i = 0, 1, ...; n = number of attn_v tensors):
//     Q2_K q4_K if n_heads / n_kv_heads >= 4, else q3_K; Q3_K_M q5_K for i < 2, else q4_K;
//     Q3_K_L q5_K; Q4_K_M and Q5_K_M q6_K where more_bits(i, n); Q4_K_S q5_K for i < 4;
//     LLaMA-70B shapes (80 layers, grouped-query attention) then lift q3_K/q4_K to q5_K.
//   ffn_down, counted the same way (n = the model's layer count):
//     Q2_K q3_K; Q3_K_M q5_K for i < n/16, else q4_K; Q3_K_L q5_K; Q4_K_M and Q5_K_M q6_K where
//     more_bits(i, n); Q4_K_S q5_K for i < n/8.
//   attn_output: Q2_K q3_K; Q3_K_M q4_K; Q3_K_L q5_K.
//   more_bits(i, n): the first and last eighth of the layers, and every third layer in between
//     (i < n/8, or i >= 7n/8, or (i - n/8) % 3 == 2; integer division).
// Everything else takes the base type.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/tensor.h"

namespace lowbit {

enum class MixId {
  F32,
  F16,
  BF16,
  Q8_0,
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q2_K,
  Q3_K_S,
  Q3_K_M,
  Q3_K_L,
  Q4_K_S,
  Q4_K_M,
  Q5_K_S,
  Q5_K_M,
  Q6_K,
  LowbitType,  // one of lowbit's own types (formats/lowbit_*.h) for every matrix; see find_named_mix
};

struct NamedMix {
  MixId id;
  const char* name;      // as llama-quantize spells it: "Q4_K_M"
  TensorType base_type;  // what every quantized tensor gets unless a rule says otherwise
  uint32_t file_type;    // general.file_type llama.cpp writes (its LLAMA_FTYPE_* number)
  const char* description;
};

// All mixes: the float ones, the 32-element ones, then the K mixes.
std::span<const NamedMix> named_mixes();

// Case-insensitive; also takes llama-quantize's aliases Q3_K, Q4_K and Q5_K (for the _M mixes), and
// the name of any of lowbit's own types ("lb_i4_asym_g32", "lb_nf4_g64"): a mix with that base type
// and no rules (llama.cpp's rules pick ggml types tuned for its own mixes), whose general.file_type
// is the type's id. Throws lowbit::Error listing the known names.
const NamedMix& find_named_mix(std::string_view name);

// The tensor roles the rules tell apart, recognised by llama.cpp's GGUF tensor names.
enum class TensorRole { output, token_embedding, attn_v, attn_output, ffn_down, other };
TensorRole tensor_role(std::string_view name);

// What a rule needs to know about the model and about where the tensor stands.
struct MixRuleInput {
  TensorRole role = TensorRole::other;  // token_embedding of a model without output.weight: pass output
  int64_t row_length = 0;               // elements per row (GGUF ne0)
  int64_t index_in_role = 0;            // i: how many tensors of this role the rules saw before
  int64_t count_in_role = 0;            // n: attn_v tensors in the model, or its layer count for ffn_down
  int64_t gqa_ratio = 0;                // n_heads / n_kv_heads (integer division; 0 when unknown)
  bool llama_70b = false;               // 80 layers and n_kv_heads != n_heads, as llama.cpp's LLM_TYPE_70B
};

// The type the mix's rules choose (before any row-length fallback). For a mix with a float base type
// this is the base type: llama.cpp applies no rules there.
TensorType mix_rule_type(const NamedMix& mix, const MixRuleInput& input);

}  // namespace lowbit
