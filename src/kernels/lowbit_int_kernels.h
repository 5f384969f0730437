// The kernels of lowbit's integer types are instantiated per format (the format is a template
// argument), one for every entry of formats/lowbit_int.h's kLowbitIntTypes, and looked up here by type.
// Everything here has internal linkage: the x86 kernel files include it too, and no copy compiled with
// wide instructions may stand in for the baseline one (x86/dot_x86.h).
#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "core/tensor.h"
#include "formats/lowbit_int.h"

namespace lowbit {
namespace {

template <typename KernelOf, size_t... I>
constexpr auto lowbit_int_kernels(std::index_sequence<I...>) {
  return std::array{KernelOf{}.template operator()<kLowbitIntTypes[I].format>()...};
}

// kernel_of.operator()<F>() for the format F of `type`: a template lambda returning a kernel pointer
// (nullptr where it has none for F). nullptr where `type` is no lowbit integer type.
template <typename KernelOf>
auto find_lowbit_int_kernel(TensorType type, KernelOf) {
  static constexpr auto kKernels = lowbit_int_kernels<KernelOf>(std::make_index_sequence<std::size(kLowbitIntTypes)>());
  for (size_t i = 0; i < kKernels.size(); ++i) {
    if (kLowbitIntTypes[i].type == type) return kKernels[i];
  }
  return typename decltype(kKernels)::value_type{};
}

}  // namespace
}  // namespace lowbit
