// libFuzzer target for the safetensors reader: any input must parse or throw lowbit::Error — never
// crash, hang, read out of bounds or over-allocate. Each tensor's first and last data byte is read so a
// bounds bug surfaces under AddressSanitizer.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lowbit::SafetensorsFile file = lowbit::parse_safetensors({data, size}, "fuzz.safetensors");
    volatile uint8_t sink = 0;
    for (const lowbit::TensorView& view : file.tensors) {
      const auto* bytes = static_cast<const uint8_t*>(view.data);
      sink = sink ^ bytes[0] ^ bytes[view.bytes - 1];
    }
  } catch (const lowbit::Error&) {
    // Malformed input rejected with a message: the expected outcome.
  }
  return 0;
}
