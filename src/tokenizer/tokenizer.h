// Text <-> token ids for every vocabulary kind lowbit reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace lowbit {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Builds the tokenizer the vocabulary asks for ("llama" SentencePiece-BPE, "gpt2" byte-level BPE,
  // or a SentencePiece model file). Throws lowbit::Error for an unknown or inconsistent vocabulary.
  static std::unique_ptr<Tokenizer> create(const Vocab& vocab);

  // add_special: prepend BOS (and append EOS) when the vocabulary says so (llama.cpp's add_special).
  // parse_special: text like "<s>" or "<|start_story|>" becomes the control token instead of characters.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special = false) const = 0;

  // Text of one token as it should be printed after `previous` (-1 at the start), for streaming: byte
  // tokens give raw bytes, the leading-space rule after BOS is applied, control tokens print nothing.
  virtual std::string decode_token(int32_t previous, int32_t id) const = 0;
  // Whole sequence; decode(encode(text, false)) == text. By default the decode_token pieces joined.
  virtual std::string decode(const std::vector<int32_t>& ids) const;

  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
};

}  // namespace lowbit
