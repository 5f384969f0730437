// This process's resident memory, as Linux reports it in /proc/self/status, and the machine's free memory.
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

// Memory Linux estimates it can give a new allocation without swapping (MemAvailable of /proc/meminfo:
// free memory plus what it can reclaim, such as file pages), in bytes; 0 where unavailable.
uint64_t available_memory_bytes();

}  // namespace lowbit
