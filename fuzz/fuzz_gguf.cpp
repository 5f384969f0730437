// libFuzzer target for the GGUF reader: any input must parse or throw lowbit::Error — never crash,
// hang, read out of bounds or over-allocate. Every metadata value goes through every typed getter and
// every tensor's first and last data byte is read, so a bounds bug surfaces under AddressSanitizer.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "io/gguf.h"

namespace {

template <typename Getter>
void try_getter(Getter getter) {
  try {
    getter();
  } catch (const lowbit::Error&) {
    // A type mismatch is an expected outcome.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lowbit::GgufFile file = lowbit::GgufFile::parse({data, size}, "fuzz.gguf");
    for (const auto& entry : file.metadata()) {
      const std::string& key = entry.first;
      try_getter([&] { file.get_uint(key); });
      try_getter([&] { file.get_int(key); });
      try_getter([&] { file.get_float(key); });
      try_getter([&] { file.get_bool(key); });
      try_getter([&] { file.get_string(key); });
      try_getter([&] { file.get_string_array(key); });
      try_getter([&] { file.get_float_array(key); });
      try_getter([&] { file.get_int_array(key); });
    }
    volatile uint8_t sink = 0;
    for (const lowbit::GgufTensorInfo& info : file.tensors()) {
      const auto* bytes = static_cast<const uint8_t*>(info.view.data);
      sink = sink ^ bytes[0] ^ bytes[info.view.bytes - 1];
    }
  } catch (const lowbit::Error&) {
    // Malformed input rejected with a message: the expected outcome.
  }
  return 0;
}
