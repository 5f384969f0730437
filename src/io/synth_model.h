// Llama models with random weights of a named shape (`lowbit synth`), so that speed and memory can be
// measured on realistic shapes with nothing to download. The file is an ordinary GGUF with a "llama"
// vocabulary, so lowbit and llama.cpp both load it.
//
// Weights: w[r][c] = 0.02 * row_scale[r] * column_scale[c] * N(0,1), row_scale = exp(0.3 * N(0,1)) (the
// spread of row norms trained matrices show), column_scale = 1 except a few outlier input columns per
// matrix (x4 .. x10), which is what makes low-bit formats lose accuracy on real models. Norm weights are
// |1 + 0.05 * N(0,1)|. Every row has its own generator seeded from (seed, tensor, row), so the file
// depends on the seed only, not on the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "io/model_file.h"
#include "tokenizer/vocab.h"

namespace lowbit {

struct SynthShape {
  const char* name;         // "tinyllama-1.1b"
  const char* description;  // one line for --help
  ModelConfig config;
};

// The named shapes, smallest first.
std::span<const SynthShape> synth_shapes();
// Throws lowbit::Error listing the known names for an unknown one.
const SynthShape& find_synth_shape(std::string_view name);

// A SentencePiece-style "llama" vocabulary of `size` tokens (at least 286): <unk>, <s>, </s>, the 256
// byte pieces <0x00>..<0xFF>, then every string over "▁a..z" by length (▁, a, .., z, ▁▁, ▁a, ..), so that
// lower-case text merges into real pieces and anything else falls back to bytes.
Vocab synth_vocab(int64_t size);

struct SynthTensor {
  std::string name;            // llama.cpp's GGUF name
  std::vector<int64_t> shape;  // outermost-first
};

// The tensors of a model of this config, in the order they are written.
std::vector<SynthTensor> synth_tensors(const ModelConfig& config);

struct SynthOptions {
  uint64_t seed = 0;
  std::vector<TensorType> types;  // one per synth_tensors(config), in that order; empty: all F32
  std::optional<uint32_t> file_type;  // general.file_type (llama.cpp's LLAMA_FTYPE_* of the mix), if known
  std::function<void(size_t tensor_index, size_t tensor_count)> progress;  // after each tensor
};

// Writes the model to `path` atomically, one chunk of rows at a time (memory does not grow with the
// model). Throws lowbit::Error naming the tensor when a type cannot hold its rows or lowbit cannot
// write that type, before anything is written.
void write_synth_model(const SynthShape& shape, const std::string& path, const SynthOptions& options);

}  // namespace lowbit
