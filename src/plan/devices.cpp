#include "plan/devices.h"

#include <nlohmann/json.hpp>
#include <strings.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace lowbit {
namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Peak bandwidth of a DRAM interface: transfers per second * bus width in bytes.
constexpr double dram_gb_s(double mega_transfers_per_s, int bus_bits) { return mega_transfers_per_s * bus_bits / 8.0 / 1000.0; }

}  // namespace

uint64_t Device::memory_bytes() const { return static_cast<uint64_t>(memory_gib * 1024.0 * 1024.0 * 1024.0); }

// Memory is the device's nominal size taken as GiB (an "8 GB" phone or "80 GB" GPU holds 8 or 80 GiB;
// the operating system's and driver's share is not subtracted). Bandwidth is the vendor's peak figure,
// or for LPDDR/DDR systems the interface's transfer rate times its bus width.
std::vector<Device> builtin_devices() {
  return {
      // Phones: LPDDR4X-4266 on a 64-bit bus (mid-range SoCs such as Snapdragon 6-series).
      {"phone-4GB", 4, dram_gb_s(4266, 64), false},
      {"phone-6GB", 6, dram_gb_s(4266, 64), false},
      // Flagships: LPDDR5X-8533 on a 64-bit bus (Snapdragon 8 Gen 3, Dimensity 9300 product briefs).
      {"phone-8GB", 8, dram_gb_s(8533, 64), false},
      {"phone-12GB", 12, dram_gb_s(8533, 64), false},
      // Raspberry Pi 5 8 GB: LPDDR4X-4267 on a 32-bit bus (Raspberry Pi 5 product brief).
      {"RaspberryPi5-8GB", 8, dram_gb_s(4267, 32), false},
      // Laptop: 16 GB dual-channel DDR5-5600 (two 64-bit channels).
      {"laptop-16GB", 16, dram_gb_s(5600, 128), false},
      // Apple M2 (24 GB, 100 GB/s) and M3 Max (64 GB, 400 GB/s): Apple's specifications.
      {"AppleM2-24GB", 24, 100, false},
      {"AppleM3Max-64GB", 64, 400, false},
      // NVIDIA datasheets: RTX 3090 24 GB GDDR6X 936 GB/s; RTX 4090 24 GB GDDR6X 1008 GB/s; A10G (AWS
      // g5) 24 GB GDDR6 600 GB/s; L4 24 GB GDDR6 300 GB/s; A100 40 GB HBM2 1555 GB/s; A100 80 GB
      // HBM2e SXM 2039 GB/s; H100 80 GB HBM3 SXM 3350 GB/s; H200 141 GB HBM3e 4800 GB/s.
      {"RTX3090-24GB", 24, 936, true},
      {"RTX4090-24GB", 24, 1008, true},
      {"A10G-24GB", 24, 600, true},
      {"L4-24GB", 24, 300, true},
      {"A100-40GB", 40, 1555, true},
      {"A100-80GB", 80, 2039, true},
      {"H100-80GB", 80, 3350, true},
      {"H200-141GB", 141, 4800, true},
  };
}

std::vector<Device> parse_devices(const std::string& json_text, const std::string& name) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw_error("{}: not valid JSON: {}", name, e.what());
  }
  if (!root.is_array()) throw_error("{}: expected a JSON array of devices", name);
  std::vector<Device> devices;
  for (size_t i = 0; i < root.size(); ++i) {
    const nlohmann::json& entry = root[i];
    if (!entry.is_object()) throw_error("{}: device {} is not an object", name, i);
    const auto it = entry.find("name");
    if (it == entry.end() || !it->is_string() || it->get<std::string>().empty()) {
      throw_error("{}: device {} has no name", name, i);
    }
    Device device{it->get<std::string>()};
    const auto positive = [&](const char* key) {
      const auto value = entry.find(key);
      if (value == entry.end() || !value->is_number() || !(value->get<double>() > 0) || !std::isfinite(value->get<double>())) {
        throw_error("{}: device {}: {} must be a positive number", name, device.name, key);
      }
      return value->get<double>();
    };
    device.memory_gib = positive("memory_gib");
    device.bandwidth_gb_s = positive("bandwidth_gb_s");
    if (const auto gpu = entry.find("gpu"); gpu != entry.end()) {
      if (!gpu->is_boolean()) throw_error("{}: device {}: gpu must be true or false", name, device.name);
      device.gpu = gpu->get<bool>();
    }
    devices.push_back(std::move(device));
  }
  return devices;
}

std::vector<Device> read_devices(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_error("{}: cannot open", path);
  std::ostringstream text;
  text << in.rdbuf();
  return parse_devices(text.str(), path);
}

void merge_devices(std::vector<Device>& devices, const std::vector<Device>& extra) {
  for (const Device& device : extra) {
    auto same = std::find_if(devices.begin(), devices.end(), [&](const Device& d) { return same_name(d.name, device.name); });
    if (same != devices.end()) {
      *same = device;
    } else {
      devices.push_back(device);
    }
  }
}

const Device& find_device(const std::vector<Device>& devices, std::string_view name) {
  for (const Device& device : devices) {
    if (same_name(device.name, name)) return device;
  }
  std::string names;
  for (const Device& device : devices) names += " " + device.name;
  throw_error("unknown device {} (known:{})", name, names);
}

DeviceFit fit_on_device(uint64_t bytes_needed, const Device& device) {
  const uint64_t memory = device.memory_bytes();
  DeviceFit fit;
  if (bytes_needed <= memory) {
    fit.devices_needed = 1;
  } else if (device.gpu) {
    fit.devices_needed = static_cast<int64_t>((bytes_needed + memory - 1) / memory);
  }
  const double available = static_cast<double>(memory) * static_cast<double>(std::max<int64_t>(fit.devices_needed, 1));
  fit.margin_bytes = available - static_cast<double>(bytes_needed);
  return fit;
}

ServingCost serving_cost(int64_t devices, double price_per_hour, double utilization, double tokens_per_s) {
  ServingCost cost;
  cost.per_hour = static_cast<double>(devices) * price_per_hour;
  cost.per_month = cost.per_hour * kHoursPerMonth * utilization;
  cost.tokens_per_month = tokens_per_s * 3600.0 * kHoursPerMonth * utilization;
  return cost;
}

}  // namespace lowbit
