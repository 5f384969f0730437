#include "core/process_memory.h"

#include <sys/resource.h>

#include <fstream>
#include <string>

namespace lowbit {
namespace {

// A "Key:   1234 kB" line of /proc/self/status, in bytes; 0 when the key is absent.
uint64_t status_kilobytes(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(key.size())) * 1024;
  }
  return 0;
}

}  // namespace

uint64_t resident_bytes() { return status_kilobytes("VmRSS:"); }

uint64_t peak_resident_bytes() {
  if (const uint64_t peak = status_kilobytes("VmHWM:"); peak > 0) return peak;
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
}

bool reset_peak_resident() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

}  // namespace lowbit
