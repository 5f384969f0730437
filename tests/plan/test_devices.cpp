// The device table, user device files, fit and serving cost.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "plan/devices.h"

namespace lowbit {
namespace test_devices {

constexpr uint64_t kGiB = uint64_t{1} << 30;

TEST(Devices, BuiltInTableHasTheDocumentedDevices) {
  const std::vector<Device> devices = builtin_devices();
  for (const char* name : {"phone-4GB", "phone-12GB", "RaspberryPi5-8GB", "laptop-16GB", "RTX3090-24GB",
                           "RTX4090-24GB", "A10G-24GB", "A100-40GB", "A100-80GB", "H100-80GB"}) {
    const Device& device = find_device(devices, name);
    EXPECT_GT(device.memory_gib, 0) << name;
    EXPECT_GT(device.bandwidth_gb_s, 0) << name;
  }
  EXPECT_TRUE(find_device(devices, "a100-80gb").gpu);  // names are case-insensitive
  EXPECT_FALSE(find_device(devices, "RaspberryPi5-8GB").gpu);
  EXPECT_DOUBLE_EQ(find_device(devices, "RaspberryPi5-8GB").bandwidth_gb_s, 4267.0 * 32 / 8 / 1000);
  EXPECT_THROW(find_device(devices, "TPU-v9"), Error);
}

TEST(Devices, UserFileAddsAndReplaces) {
  std::vector<Device> devices = builtin_devices();
  const size_t builtin = devices.size();
  merge_devices(devices, parse_devices(R"([{"name": "my-box", "memory_gib": 32, "bandwidth_gb_s": 60},
                                          {"name": "h100-80gb", "memory_gib": 94, "bandwidth_gb_s": 3900, "gpu": true}])",
                                       "devices.json"));
  EXPECT_EQ(devices.size(), builtin + 1);
  EXPECT_EQ(find_device(devices, "my-box").memory_bytes(), 32 * kGiB);
  EXPECT_FALSE(find_device(devices, "my-box").gpu);
  EXPECT_DOUBLE_EQ(find_device(devices, "H100-80GB").memory_gib, 94);
}

void expect_device_error(const std::string& text, const std::string& problem) {
  try {
    parse_devices(text, "devices.json");
    ADD_FAILURE() << text;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("devices.json: " + problem), std::string::npos) << e.what();
  }
}

TEST(Devices, BadFilesNameTheFileAndTheEntry) {
  expect_device_error("{", "not valid JSON");
  expect_device_error(R"({"name": "x"})", "expected a JSON array");
  expect_device_error(R"([{"memory_gib": 1, "bandwidth_gb_s": 1}])", "device 0 has no name");
  expect_device_error(R"([{"name": "x", "bandwidth_gb_s": 1}])", "device x: memory_gib must be a positive number");
  expect_device_error(R"([{"name": "x", "memory_gib": 1, "bandwidth_gb_s": 0}])", "device x: bandwidth_gb_s must be");
  expect_device_error(R"([{"name": "x", "memory_gib": 1, "bandwidth_gb_s": 1, "gpu": "yes"}])", "device x: gpu must be");
}

TEST(DeviceFit, OneDeviceSeveralGpusOrNone) {
  const Device gpu{"gpu", 80, 2000, true};
  const Device phone{"phone", 8, 60, false};
  const DeviceFit fits = fit_on_device(50 * kGiB, gpu);
  EXPECT_EQ(fits.devices_needed, 1);
  EXPECT_DOUBLE_EQ(fits.margin_bytes, 30.0 * kGiB);
  const DeviceFit sharded = fit_on_device(170 * kGiB, gpu);  // 3 x 80 GiB hold 170 GiB with 70 to spare
  EXPECT_EQ(sharded.devices_needed, 3);
  EXPECT_DOUBLE_EQ(sharded.margin_bytes, 70.0 * kGiB);
  EXPECT_EQ(fit_on_device(80 * kGiB, gpu).devices_needed, 1);  // exactly full still fits
  const DeviceFit too_big = fit_on_device(10 * kGiB, phone);
  EXPECT_EQ(too_big.devices_needed, 0);
  EXPECT_DOUBLE_EQ(too_big.margin_bytes, -2.0 * kGiB);
}

TEST(ServingCost, GpusTimesPriceTimesHoursAtUtilization) {
  const ServingCost cost = serving_cost(2, 4.1, 0.8, 100.0);
  EXPECT_DOUBLE_EQ(cost.per_hour, 8.2);
  EXPECT_DOUBLE_EQ(cost.per_month, 8.2 * 730 * 0.8);
  EXPECT_DOUBLE_EQ(cost.tokens_per_month, 100.0 * 3600 * 730 * 0.8);
  // Utilization cancels: the price of a million tokens is the hourly price over tokens per hour.
  EXPECT_NEAR(cost.per_million_tokens(), 8.2 / (100.0 * 3600) * 1e6, 1e-9);
}

}  // namespace test_devices
}  // namespace lowbit
