// libFuzzer target: a tokenizer.json must give a Vocab or a lowbit::Error, never a crash; a Vocab that
// parses must build a tokenizer (or give an Error) that encodes and decodes a short text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "io/vocab_readers.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const lowbit::Vocab vocab = lowbit::parse_hf_tokenizer_json(text, "fuzz.json");
    const auto tokenizer = lowbit::Tokenizer::create(vocab);
    for (const bool parse_special : {false, true}) {
      const std::vector<int32_t> ids = tokenizer->encode("Once upon a time, <s> \xC3\xA4 \xF0\x9F\xA6\x99!\n", true, parse_special);
      tokenizer->decode(ids);
    }
  } catch (const lowbit::Error&) {
    // Rejecting the input with a message is the expected outcome for most inputs.
  }
  return 0;
}
