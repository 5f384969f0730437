// The GGUF metadata that describes a model: hyper-parameters under "<arch>.*" and the whole tokenizer
// under "tokenizer.ggml.*". A GGUF source already has it (kept key for key, in file order); for a
// llama2.c or Hugging Face source it is built from the ModelConfig and the Vocab, with the keys
// llama.cpp's loader reads, so the written file loads in lowbit and in llama.cpp.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "io/gguf.h"
#include "io/model_file.h"

namespace lowbit {

using GgufMetadata = std::vector<std::pair<std::string, GgufValue>>;

// The architecture name a GGUF file gets for this config: llama.cpp stores Mistral as "llama".
std::string gguf_architecture(const ModelConfig& config);

// RoPE convention llama.cpp applies to a GGUF architecture: "llama" rotates adjacent pairs, "qwen2"
// rotate-half pairs. A source whose weights follow the other convention needs its attn_q/attn_k rows
// permuted when it is written under that architecture.
RopeStyle gguf_rope_style(const std::string& gguf_architecture);

// Metadata for a model: the source's own keys for a GGUF file, else built from config() and vocab().
GgufMetadata model_metadata(const ModelFile& model);

// Built from config and vocabulary (general.architecture, <arch>.* hyper-parameters, tokenizer.ggml.*).
GgufMetadata build_model_metadata(const ModelConfig& config, const Vocab& vocab);

}  // namespace lowbit
