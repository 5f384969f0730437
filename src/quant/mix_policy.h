// The type of every tensor of a model under a named mix (quant/named_mix.h) and the user's overrides,
// chosen the way llama.cpp's llama-quantize chooses it, so that the same command gives the same types.
//
// Per tensor, the first step that applies decides (llama.cpp's order):
//   1. Tensors llama.cpp never quantizes keep F32: fewer than two dimensions (ignoring outer sizes of
//      1), names not ending in "weight", norms ("_norm.weight").
//   2. --embedding-type for token_embd.weight, --output-type for output.weight: taken as given.
//   3. --tensor-type PATTERN=TYPE: the first pattern (ECMAScript regular expression, searched in the
//      name) that matches and names a type other than the mix's base type. As in llama.cpp, a pattern
//      naming the base type itself does not pin the tensor: the search goes on to the next pattern.
//   4. For a model without output.weight, token_embd.weight is also the output: --output-type.
//   5. The mix's rules (named_mix.h), unless --pure or a float mix (F32, F16, BF16): the base type.
// Then the row length (GGUF ne0) must be a multiple of the type's block. If it is not:
//   - a type from step 2, and any type under --pure, is used as given: an Error;
//   - otherwise llama.cpp's fallbacks: q2_K, q3_K -> q4_0; q4_K -> q5_0; q5_K -> q5_1; q6_K -> q8_0;
//     f16 when the fallback's block does not divide the row either;
//   - the 32-element types (q4_0, q4_1, q5_0, q5_1, q8_0) have none: where llama.cpp aborts, lowbit
//     throws an Error naming the tensors and the --tensor-type override that keeps them in F16.
//
// Two choices are lowbit's where llama.cpp silently ignores the user: --tensor-type also applies with
// --pure and in float mixes, and --output-type applies to a tied embedding there too.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "quant/named_mix.h"

namespace lowbit {

struct TensorTypeRequest {
  std::string name;            // llama.cpp's GGUF name: "blk.3.ffn_down.weight"
  std::vector<int64_t> shape;  // outermost-first: {rows, cols}
};

// One --tensor-type option.
struct TensorTypeOverride {
  std::string pattern;
  TensorType type = TensorType::F16;
};

// Parses "PATTERN=TYPE" as llama-quantize does: the pattern is lower-cased, the type name (ggml's:
// f16, q8_0, q4_K, ...) is case-insensitive. Throws lowbit::Error for a malformed option.
TensorTypeOverride parse_tensor_type_override(std::string_view option);

struct MixOptions {
  std::string mix;                                   // a named_mixes() name or alias
  std::vector<TensorTypeOverride> tensor_overrides;  // in command-line order; the first match wins
  std::optional<TensorType> output_type;
  std::optional<TensorType> embedding_type;
  bool pure = false;  // every matrix in the base type: no rules and no fallbacks
};

struct ModelShapeInfo {
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
};

struct TensorTypeChoice {
  std::string name;
  int64_t row_length = 0;
  TensorType wanted = TensorType::F32;  // the type the steps above chose
  TensorType type = TensorType::F32;    // the type to write: wanted, or its row-length fallback

  bool fell_back() const { return type != wanted; }
};

// For the CLI's report: "blk.0.attn_k.weight: rows of 64 elements do not fill q3_K's 256-element
// blocks; using q4_0", and "(q5_0 does not fit either)" where the chain ended in f16.
std::string describe_fallback(const TensorTypeChoice& choice);

// Chooses every tensor's type at construction, so that a mix that cannot be applied fails before
// anything is written. Throws lowbit::Error for an unknown mix, a bad pattern, a duplicated tensor
// name, or tensors whose rows no allowed type fits.
class MixPolicy {
 public:
  MixPolicy(const MixOptions& options, const ModelShapeInfo& model, std::span<const TensorTypeRequest> tensors);

  const NamedMix& mix() const { return *mix_; }
  // Throws lowbit::Error for a name that was not among the tensors.
  TensorType choose(std::string_view name) const;
  // One per tensor, in the order given.
  const std::vector<TensorTypeChoice>& choices() const { return choices_; }

 private:
  const NamedMix* mix_;
  std::vector<TensorTypeChoice> choices_;
  std::unordered_map<std::string, size_t> index_by_name_;
};

// llama-quantize's tensor order: tensors outside the blocks first, then block by block (blk.2 before
// blk.10), by name within each. The mix rules count attn_v and ffn_down tensors in this order.
bool precedes_in_llama_order(std::string_view a, std::string_view b);

}  // namespace lowbit
