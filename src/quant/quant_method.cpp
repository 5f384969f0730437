#include "quant/quant_method.h"

#include <array>

#include "core/error.h"
#include "quant/awq.h"
#include "quant/gptq.h"
#include "quant/smoothquant.h"

namespace lowbit {
namespace {

// One row per method. A method adds its row here; its stages live in their own files.
constexpr std::array kMethods = {
    QuantMethod{"rtn", "round to nearest, row by row; importance-weighted by the stats' mean squares when --calib is given",
                false, nullptr, nullptr},
    QuantMethod{"gptq", "GPTQ: columns rounded in order, each one's error moved onto the rest through the inverse "
                "Hessian (--damp, --act-order); any integer ggml or lb_i* type",
                true, nullptr, gptq_quantize_tensor},
    QuantMethod{"awq", "AWQ: salient input channels scaled up before rounding, the inverse folded into the norm or "
                "matrix before them; then a clipping search per block",
                true, awq_rewrite_layer, nullptr},
    QuantMethod{"smoothquant", "SmoothQuant: activation outliers migrated into the weights (--alpha); with "
                "--act-quant static, per-matrix int8 activation scales",
                true, smoothquant_rewrite_layer, nullptr},
};

const QuantMethod* find_single(std::string_view name, std::string_view whole) {
  for (const QuantMethod& method : kMethods) {
    if (name == method.name) return &method;
  }
  std::string known;
  for (const QuantMethod& method : kMethods) {
    if (!known.empty()) known += ", ";
    known += method.name;
  }
  throw_error("unknown quantization method '{}' in '{}' (known: {}; combine two as A+B)", name, whole, known);
}

}  // namespace

std::span<const QuantMethod> all_quant_methods() { return kMethods; }

MethodChoice find_quant_method(std::string_view name) {
  MethodChoice choice;
  choice.name = std::string(name);
  const size_t plus = name.find('+');
  if (plus == std::string_view::npos) {
    choice.rewrite_from = choice.quantize_from = find_single(name, name);
  } else {
    choice.rewrite_from = find_single(name.substr(0, plus), name);
    choice.quantize_from = find_single(name.substr(plus + 1), name);
  }
  choice.needs_stats = choice.rewrite_from->needs_stats || choice.quantize_from->needs_stats;
  return choice;
}

}  // namespace lowbit
