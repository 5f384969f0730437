// Devices a model may be deployed on: a built-in table (devices.cpp documents where each figure comes
// from) that a JSON file can extend, and the fit of a memory need on a device, and the cost of serving.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit {

struct Device {
  std::string name;            // "A100-80GB"
  double memory_gib = 0;       // memory the model may use: a GPU's memory, a phone's or board's RAM
  double bandwidth_gb_s = 0;   // peak memory bandwidth, 1e9 bytes per second
  bool gpu = false;            // several may share one model (tensor-parallel); others run it alone

  uint64_t memory_bytes() const;
};

std::vector<Device> builtin_devices();

// A JSON array of {"name": "...", "memory_gib": 16, "bandwidth_gb_s": 100, "gpu": false} ("gpu" may be
// left out: false). Throws lowbit::Error naming the file and the entry for a missing or non-positive field.
std::vector<Device> parse_devices(const std::string& json_text, const std::string& name);
std::vector<Device> read_devices(const std::string& path);

// Adds `extra` to `devices`; an entry with the name of an existing device (case-insensitive) replaces it.
void merge_devices(std::vector<Device>& devices, const std::vector<Device>& extra);

// Case-insensitive; throws lowbit::Error listing the known names.
const Device& find_device(const std::vector<Device>& devices, std::string_view name);

struct DeviceFit {
  int64_t devices_needed = 0;  // 0: does not fit (a non-GPU device that is too small)
  double margin_bytes = 0;     // memory of the devices needed minus the need (negative: short by)
  bool fits_on_one() const { return devices_needed == 1; }
};

// A GPU holds a share of the need: ceil(need / memory) GPUs (the weights and KV cache split evenly,
// as tensor parallelism splits them). Other devices hold the whole need or nothing.
DeviceFit fit_on_device(uint64_t bytes_needed, const Device& device);

struct ServingCost {
  double per_hour = 0;          // devices * price
  double per_month = 0;         // per_hour * kHoursPerMonth * utilization
  double tokens_per_month = 0;  // tokens_per_s * 3600 * kHoursPerMonth * utilization
  double per_million_tokens() const { return tokens_per_month > 0 ? per_month / tokens_per_month * 1e6 : 0.0; }
};

inline constexpr double kHoursPerMonth = 730.0;  // 365 * 24 / 12

// `utilization`: the fraction of the month the devices are rented and serving, in (0, 1].
ServingCost serving_cost(int64_t devices, double price_per_hour, double utilization, double tokens_per_s);

}  // namespace lowbit
