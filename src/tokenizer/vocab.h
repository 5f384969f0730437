// A vocabulary as the model files store it, before a tokenizer is built from it. Every reader fills
// one: GGUF (tokenizer.ggml.*), llama2.c tokenizer.bin, Hugging Face tokenizer.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {

// GGUF tokenizer.ggml.token_type values.
enum class TokenType : int32_t { kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct Vocab {
  // "llama": SentencePiece-style BPE driven by scores, with byte fallback <0xXX> and the ▁ space marker
  //          (driven by merge ranks instead when `merges` is not empty: Hugging Face BPE over ▁ text).
  // "gpt2": byte-level BPE driven by merge ranks.
  // "sentencepiece": a tokenizer.model run through libsentencepiece (sentencepiece_model_path).
  std::string model;
  std::string pre;                       // GGUF tokenizer.ggml.pre (pre-tokenizer name), may be empty
  std::vector<std::string> tokens;       // piece text per id, as stored (▁ / Ġ markers kept)
  std::vector<float> scores;             // per id; empty for gpt2
  std::vector<TokenType> token_types;    // per id; empty means all normal
  std::vector<std::string> merges;       // gpt2 (and llama from tokenizer.json): "left right" per rank
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t unk_id = -1;
  int32_t pad_id = -1;
  bool add_bos = true;
  bool add_eos = false;
  bool add_space_prefix = true;          // SentencePiece dummy prefix
  // Where the vocabulary came from: a sentencepiece tokenizer.model is kept whole and run through
  // libsentencepiece rather than converted.
  std::string sentencepiece_model_path;
};

}  // namespace lowbit
