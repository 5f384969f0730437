// Readers that turn a model file's tokenizer data into a Vocab (tokenizer/vocab.h).
#pragma once

#include <string>

#include "io/gguf.h"
#include "tokenizer/vocab.h"

namespace lowbit {

// tokenizer.ggml.* keys of a GGUF file (model "llama" or "gpt2").
Vocab read_gguf_vocab(const GgufFile& file);

// llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score, int32 length, bytes.
// `vocab_size` comes from the checkpoint header (the file does not store it).
Vocab read_llama2c_tokenizer(const std::string& path, int64_t vocab_size);

// A Hugging Face model folder: tokenizer.json (BPE) or, failing that, tokenizer.model (SentencePiece,
// run through libsentencepiece), with tokenizer_config.json / special_tokens_map.json for BOS/EOS.
Vocab read_hf_tokenizer(const std::string& folder);

// Parses the text of a tokenizer.json; `name` is used in error messages (the fuzz target's entry).
Vocab parse_hf_tokenizer_json(const std::string& text, const std::string& name);

}  // namespace lowbit
