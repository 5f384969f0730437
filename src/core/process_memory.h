// This process's resident memory, as Linux reports it in /proc/self/status.
#pragma once

#include <cstdint>

namespace lowbit {

// Resident set size now (VmRSS), in bytes; 0 where unavailable.
uint64_t resident_bytes();

// Highest resident set size since the process started or since the last reset_peak_resident() (VmHWM),
// in bytes; getrusage's ru_maxrss where /proc is unavailable.
uint64_t peak_resident_bytes();

// Sets the peak back to the current resident size (writes "5" to /proc/self/clear_refs), so that one
// process can measure the peak of several jobs one after another. Returns false where the kernel does
// not allow it; the peak then keeps counting from the start of the process.
bool reset_peak_resident();

}  // namespace lowbit
