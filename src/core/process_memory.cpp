#include "core/process_memory.h"

#include <sys/resource.h>

#include <fstream>
#include <string>

namespace lowbit {
namespace {

// A "Key:   1234 kB" line of a /proc file, in bytes; 0 when the key is absent.
uint64_t proc_kilobytes(const char* path, const std::string& key) {
  std::ifstream status(path);
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key, 0) == 0) return std::stoull(line.substr(key.size())) * 1024;
  }
  return 0;
}

}  // namespace

uint64_t resident_bytes() { return proc_kilobytes("/proc/self/status", "VmRSS:"); }

uint64_t peak_resident_bytes() {
  if (const uint64_t peak = proc_kilobytes("/proc/self/status", "VmHWM:"); peak > 0) return peak;
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

uint64_t available_memory_bytes() { return proc_kilobytes("/proc/meminfo", "MemAvailable:"); }

}  // namespace lowbit
