#include "quant/rewrite_layers.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <set>

#include "core/error.h"
#include "quant/channel_scaling.h"

namespace lowbit {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

int64_t tensor_layer(const std::string& name) {
  if (!name.starts_with("blk.")) return -1;
  int64_t layer = -1;
  const char* digits = name.data() + 4;
  const auto [end, error] = std::from_chars(digits, name.data() + name.size(), layer);
  return error == std::errc() && end != digits && *end == '.' ? layer : -1;
}

RewrittenModel rewrite_and_quantize(const ModelFile& model, const std::vector<TensorJob>& jobs, const MethodChoice& method,
                                    const CalibStats& stats, const MethodOptions& options,
                                    const std::function<void(size_t)>& tensor_done) {
  std::map<int64_t, std::vector<size_t>> layers;  // layer -> its job indices, -1 first
  std::set<std::string> names;
  for (size_t i = 0; i < jobs.size(); ++i) {
    layers[tensor_layer(jobs[i].source->name)].push_back(i);
    names.insert(jobs[i].source->name);
  }

  RewrittenModel result;
  result.outputs.resize(jobs.size());
  result.seconds.resize(jobs.size());
  for (const auto& [layer, indices] : layers) {
    const auto start = std::chrono::steady_clock::now();
    LayerTensors tensors;
    std::map<std::string, const TypeTraits*> target_types;
    for (size_t i : indices) {
      tensors[jobs[i].source->name] = FloatTensor{jobs[i].source->shape, tensor_to_float(jobs[i])};
      target_types[jobs[i].source->name] = jobs[i].target;
    }
    std::map<std::string, std::vector<float>> site_scales;  // site name -> [channels] the rewrite divided it by
    method.rewrite_from->rewrite(LayerRewriteContext{model, stats, options, layer, target_types, &site_scales}, tensors);
    // The quantizer weighs the matrices by the statistics of the activations they now read.
    std::map<std::string, SiteStats> rescaled;
    for (const auto& [name, scales] : site_scales) {
      const auto site = std::find_if(stats.sites.begin(), stats.sites.end(), [&site_name = name](const SiteStats& s) { return s.name == site_name; });
      if (site == stats.sites.end()) throw_error("the {} rewrite of layer {} scaled site {}, which the statistics lack", method.rewrite_from->name, layer, name);
      rescaled.emplace(name, rescaled_site_stats(*site, scales));
    }
    auto site_of = [&](const std::string& weight) -> const SiteStats* {
      const SiteStats* site = stats.find_for_weight(weight);
      if (site == nullptr) return nullptr;
      const auto it = rescaled.find(site->name);
      return it == rescaled.end() ? site : &it->second;
    };
    // The layer's rewrite time is shared among its tensors in proportion to their size.
    const double rewrite_seconds = seconds_since(start);
    int64_t layer_elements = 0;
    for (size_t i : indices) layer_elements += jobs[i].source->elements();

    for (size_t i : indices) {
      const auto tensor_start = std::chrono::steady_clock::now();
      const TensorView& source = *jobs[i].source;
      const auto it = tensors.find(source.name);
      if (it == tensors.end()) throw_error("tensor {}: the {} rewrite removed it", source.name, method.rewrite_from->name);
      if (it->second.shape != source.shape || static_cast<int64_t>(it->second.values.size()) != source.elements()) {
        throw_error("tensor {}: the {} rewrite changed its shape", source.name, method.rewrite_from->name);
      }
      result.outputs[i] = quantize_float_tensor(source.name, it->second.values, source.rows(), source.cols(), *jobs[i].target,
                                                site_of(source.name), method.quantize_from->quantize, options);
      tensors.erase(it);  // frees the F32 copy as soon as the tensor is quantized
      result.seconds[i] = seconds_since(tensor_start) +
                          rewrite_seconds * static_cast<double>(source.elements()) / static_cast<double>(std::max<int64_t>(layer_elements, 1));
      if (tensor_done) tensor_done(i);
    }
    for (auto& [name, tensor] : tensors) {  // what is left was added by the rewrite
      if (names.contains(name)) {
        throw_error("tensor {}: the {} rewrite of layer {} added a tensor whose name is taken", name, method.rewrite_from->name, layer);
      }
      if (static_cast<int64_t>(tensor.values.size()) != elements(tensor.shape) || tensor.shape.empty()) {
        throw_error("tensor {}: the {} rewrite added it with {} values for its shape", name, method.rewrite_from->name, tensor.values.size());
      }
      names.insert(name);
      result.added.push_back(AddedTensor{name, std::move(tensor.shape), std::move(tensor.values)});
    }
  }
  return result;
}

}  // namespace lowbit
