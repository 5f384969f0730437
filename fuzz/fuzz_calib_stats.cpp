// libFuzzer target for the calibration stats reader: any input must parse or throw lowbit::Error —
// never crash, hang, read out of bounds or over-allocate. A parsed file's arrays are read end to end, and
// it is checked against a model config too, so a size the reader failed to check surfaces under ASan.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "quant/calib_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const lowbit::CalibStats stats = lowbit::CalibStats::parse({data, size}, "fuzz.stats");
    volatile double sink = 0;
    for (const lowbit::SiteStats& site : stats.sites) {
      for (double v : site.mean_square) sink = sink + v;
      for (float v : site.abs_max) sink = sink + v;
      for (float v : site.gram) sink = sink + v;
      sink = sink + (stats.find_for_weight(site.weights.empty() ? site.name : site.weights.back()) != nullptr);
    }
    const lowbit::ModelConfig expected = stats.source.config;
    lowbit::CalibStats::parse({data, size}, "fuzz.stats", &expected);
  } catch (const lowbit::Error&) {
    // Malformed input rejected with a message: the expected outcome.
  }
  return 0;
}
