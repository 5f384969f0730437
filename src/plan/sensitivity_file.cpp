#include "plan/sensitivity_file.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "formats/type_traits.h"
#include "io/atomic_file.h"

namespace lowbit {
namespace {

nlohmann::ordered_json settings_json(const SensitivitySettings& settings) {
  nlohmann::ordered_json types = nlohmann::ordered_json::array();
  for (TensorType type : settings.candidate_types) types.push_back(type_traits(type).name);
  return {{"calibration", settings.calibration_path}, {"context", settings.context}, {"chunks", settings.max_chunks},
          {"candidate_types", types}};
}

TensorCandidates parse_matrix(const nlohmann::ordered_json& entry, const ModelFile& model, const std::string& path) {
  TensorCandidates tensor{entry.at("name").get<std::string>(), {}};
  const TensorView& view = model.tensor(tensor.name);
  for (const nlohmann::ordered_json& c : entry.at("candidates")) {
    const std::string type_name = c.at("type").get<std::string>();
    const TypeTraits* traits = find_type_traits(type_name);
    if (traits == nullptr || view.cols() % traits->block_size != 0) {
      throw_error("{}: tensor {}: {} is not a type its rows fit", path, tensor.name, type_name);
    }
    const auto bytes = c.at("bytes").get<uint64_t>();
    const auto kld = c.at("kld").get<double>();
    if (bytes != static_cast<uint64_t>(view.rows()) * traits->row_bytes(view.cols())) {
      throw_error("{}: tensor {}: {} bytes in {} do not match the model's shape", path, tensor.name, bytes, type_name);
    }
    // A near-lossless type measures a KL a rounding error below zero, so only finiteness is checked.
    if (!std::isfinite(kld)) throw_error("{}: tensor {}: KL divergence {} is not a finite number", path, tensor.name, kld);
    tensor.candidates.push_back({traits->type, bytes, kld});
  }
  if (tensor.candidates.empty()) throw_error("{}: tensor {} has no candidate", path, tensor.name);
  return tensor;
}

}  // namespace

void write_sensitivity(const std::string& path, const SensitivityReport& report, const SensitivitySettings& settings) {
  nlohmann::ordered_json out = settings_json(settings);
  out["positions"] = report.positions;
  out["matrices"] = nlohmann::ordered_json::array();
  for (const TensorCandidates& tensor : report.matrices) {
    nlohmann::ordered_json candidates = nlohmann::ordered_json::array();
    for (const TensorCandidate& c : tensor.candidates) {
      candidates.push_back({{"type", type_traits(c.type).name}, {"bytes", c.bytes}, {"kld", c.sensitivity}});
    }
    out["matrices"].push_back({{"name", tensor.name}, {"candidates", std::move(candidates)}});
  }
  AtomicFile file(path);
  const std::string text = out.dump(1) + "\n";
  file.write(text.data(), text.size());
  file.commit();
}

SensitivityReport read_sensitivity(const std::string& path, const ModelFile& model, const SensitivitySettings& settings) {
  std::ifstream in(path);
  if (!in) throw_error("{}: cannot open", path);
  std::ostringstream text;
  text << in.rdbuf();
  SensitivityReport report;
  try {
    const nlohmann::ordered_json root = nlohmann::ordered_json::parse(text.str());
    if (!root.is_object()) throw_error("{}: expected a JSON object", path);
    const nlohmann::ordered_json wanted = settings_json(settings);
    for (const auto& [key, value] : wanted.items()) {
      if (root.at(key) != value) {
        throw_error("{}: measured with {} {}, not {}; remove it to measure again", path, key, root.at(key).dump(), value.dump());
      }
    }
    report.positions = root.at("positions").get<int64_t>();
    for (const nlohmann::ordered_json& entry : root.at("matrices")) report.matrices.push_back(parse_matrix(entry, model, path));
  } catch (const nlohmann::json::exception& e) {
    throw_error("{}: not a sensitivity file: {}", path, e.what());
  }
  size_t next = 0;
  for (const TensorView& view : model.tensors()) {
    if (!is_choice_matrix(view)) {
      report.fixed_bytes += view.bytes;
    } else if (next >= report.matrices.size() || report.matrices[next++].name != view.name) {
      throw_error("{}: does not list {}'s matrices in order (at {})", path, model.path(), view.name);
    }
  }
  if (next != report.matrices.size()) throw_error("{}: lists more matrices than {} has", path, model.path());
  return report;
}

}  // namespace lowbit
