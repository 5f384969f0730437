// ggml block formats against llama.cpp's own output (testdata/ggml/manifest.json, see
// testdata/ggml/README-upstream.md, "How a test should use manifest.json"):
//   - every tensor of every shipped GGUF dequantizes to exactly llama.cpp's float32 values;
//   - F16, BF16 and the legacy types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) quantize the F32 source to
//     exactly llama.cpp's bytes, for shipped and not-shipped files alike;
//   - the K types quantize the F32 source with an RMS error no larger than llama.cpp's, per tensor.
// Tensor bytes are read at the manifest's offsets, independently of the GGUF reader.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "formats/type_traits.h"

namespace lowbit {
namespace test_ggml_manifest {

static_assert(std::endian::native == std::endian::little, "the manifest hashes little-endian float32");

const std::string kGgmlDir = LOWBIT_SOURCE_DIR "/testdata/ggml/";

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The bytes of a file the manifest names, wherever testdata keeps it.
std::vector<uint8_t> load_manifest_file(const std::string& name) {
  if (name == "../../models/stories260K/stories260K.gguf") {
    return read_bytes(LOWBIT_SOURCE_DIR "/testdata/stories260K/stories260K.gguf");
  }
  if (name == "synth-f32.gguf") {  // split in two parts to keep every tracked file under 8 MiB
    std::vector<uint8_t> bytes = read_bytes(kGgmlDir + "synth-f32.gguf.part00");
    const std::vector<uint8_t> tail = read_bytes(kGgmlDir + "synth-f32.gguf.part01");
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    return bytes;
  }
  return read_bytes(kGgmlDir + name);
}

const nlohmann::json& manifest() {
  static const nlohmann::json json = nlohmann::json::parse(read_bytes(kGgmlDir + "manifest.json"));
  return json;
}

int64_t element_count(const nlohmann::json& tensor) {
  int64_t n = 1;
  for (const auto& dim : tensor["ne"]) n *= dim.get<int64_t>();
  return n;
}

std::vector<uint8_t> tensor_bytes(const std::vector<uint8_t>& file, const nlohmann::json& tensor) {
  const auto offset = tensor["offset"].get<size_t>();
  const auto size = tensor["n_bytes"].get<size_t>();
  if (offset > file.size() || size > file.size() - offset) throw std::runtime_error("tensor outside its file");
  return {file.begin() + static_cast<std::ptrdiff_t>(offset), file.begin() + static_cast<std::ptrdiff_t>(offset + size)};
}

const TypeTraits& traits_of(const nlohmann::json& tensor) {
  const TypeTraits* traits = find_type_traits(tensor["type_id"].get<uint32_t>());
  if (traits == nullptr) throw std::runtime_error("unknown type " + tensor["type"].get<std::string>());
  return *traits;
}

std::vector<float> dequantize(const TypeTraits& traits, const std::vector<uint8_t>& bytes, int64_t n) {
  std::vector<float> values(static_cast<size_t>(n));
  traits.to_float(bytes.data(), values.data(), n);
  return values;
}

std::string hash_of(const std::vector<float>& values) { return sha256_hex(values.data(), values.size() * sizeof(float)); }

// The F32 source tensors of a manifest file entry, by name.
class ReferenceTensors {
 public:
  explicit ReferenceTensors(const nlohmann::json& entry) {
    const std::string reference = entry["reference_f32"];
    for (const auto& file : manifest()["files"]) {
      if (file["file"] != reference) continue;
      const std::vector<uint8_t> bytes = load_manifest_file(reference);
      for (const auto& tensor : file["tensors"]) {
        const std::vector<uint8_t> raw = tensor_bytes(bytes, tensor);
        std::vector<float>& values = by_name_[tensor["name"]];
        values.resize(raw.size() / sizeof(float));
        std::memcpy(values.data(), raw.data(), raw.size());
      }
    }
  }
  const std::vector<float>& operator[](const std::string& name) const { return by_name_.at(name); }

 private:
  std::map<std::string, std::vector<float>> by_name_;
};

TEST(GgmlManifest, EveryShippedTensorDequantizesExactlyLikeLlamaCpp) {
  int checked = 0;
  std::set<std::string> types_seen;
  for (const auto& entry : manifest()["files"]) {
    if (!entry["shipped"].get<bool>()) continue;
    const std::string file_name = entry["file"];
    const std::vector<uint8_t> file = load_manifest_file(file_name);
    for (const auto& tensor : entry["tensors"]) {
      SCOPED_TRACE(file_name + ": " + tensor["name"].get<std::string>() + " (" + tensor["type"].get<std::string>() + ")");
      const std::vector<uint8_t> raw = tensor_bytes(file, tensor);
      ASSERT_EQ(sha256_hex(raw.data(), raw.size()), tensor["sha256"]);
      const TypeTraits& traits = traits_of(tensor);
      ASSERT_NE(traits.to_float, nullptr);
      EXPECT_EQ(hash_of(dequantize(traits, raw, element_count(tensor))), tensor["dequant_sha256"]);
      types_seen.insert(traits.name);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 12 * 39 + 6 * 48);  // 12 shipped synth files + 6 stories260K files
  EXPECT_EQ(types_seen, (std::set<std::string>{"f32", "f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_K", "q3_K",
                                               "q4_K", "q5_K", "q6_K"}));
}

TEST(GgmlManifest, ReferenceQuantizersReproduceLlamaCppBytes) {
  const std::set<std::string> exact_types = {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"};
  std::map<std::string, int> checked_per_type;
  for (const auto& entry : manifest()["files"]) {
    if (entry["file"] == entry["reference_f32"]) continue;
    const ReferenceTensors reference(entry);
    for (const auto& tensor : entry["tensors"]) {
      if (!exact_types.contains(tensor["type"])) continue;
      SCOPED_TRACE(entry["file"].get<std::string>() + ": " + tensor["name"].get<std::string>());
      const TypeTraits& traits = traits_of(tensor);
      const std::vector<float>& source = reference[tensor["name"]];
      ASSERT_EQ(static_cast<int64_t>(source.size()), element_count(tensor));
      std::vector<uint8_t> quantized(traits.row_bytes(element_count(tensor)));
      ASSERT_EQ(quantized.size(), tensor["n_bytes"].get<size_t>());
      traits.from_float(source.data(), quantized.data(), element_count(tensor));
      EXPECT_EQ(sha256_hex(quantized.data(), quantized.size()), tensor["sha256"]);
      ++checked_per_type[tensor["type"]];
    }
  }
  for (const std::string& type : exact_types) EXPECT_GT(checked_per_type[type], 0) << type;
}

double rms_error(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
  return std::sqrt(sum / static_cast<double>(a.size()));
}

TEST(GgmlManifest, KQuantsAreNoWorseThanLlamaCppPerTensor) {
  const std::set<std::string> k_types = {"q2_K", "q3_K", "q4_K", "q5_K", "q6_K"};
  std::map<std::string, double> our_error;  // "type name" -> RMS error; files share many tensors
  std::map<std::string, std::pair<double, double>> ratio_range;  // per type: min, max of ours / llama.cpp's
  for (const auto& entry : manifest()["files"]) {
    if (entry["model"] != "synth" || entry["file"] == entry["reference_f32"]) continue;
    const ReferenceTensors reference(entry);
    for (const auto& tensor : entry["tensors"]) {
      const std::string type = tensor["type"];
      if (!k_types.contains(type)) continue;
      const std::string name = tensor["name"];
      SCOPED_TRACE(entry["file"].get<std::string>() + ": " + name + " (" + type + ")");
      const std::string key = type + " " + name;
      if (!our_error.contains(key)) {
        const TypeTraits& traits = traits_of(tensor);
        const std::vector<float>& source = reference[name];
        const int64_t n = element_count(tensor);
        std::vector<uint8_t> quantized(traits.row_bytes(n));
        traits.from_float(source.data(), quantized.data(), n);
        our_error[key] = rms_error(dequantize(traits, quantized, n), source);
      }
      const double theirs = tensor["rms_err"].get<double>();
      EXPECT_LE(our_error[key], theirs * 1.0001);
      const double ratio = our_error[key] / theirs;
      auto [range, inserted] = ratio_range.try_emplace(type, ratio, ratio);
      range->second.first = std::min(range->second.first, ratio);
      range->second.second = std::max(range->second.second, ratio);
    }
  }
  EXPECT_EQ(ratio_range.size(), k_types.size());
  for (const auto& [type, range] : ratio_range) {
    std::cout << type << ": RMS error / llama.cpp's in [" << range.first << ", " << range.second << "]\n";
  }
}

}  // namespace test_ggml_manifest
}  // namespace lowbit
