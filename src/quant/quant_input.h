// What every quantizer shares: the checks on its input tensor, how the tensor is cut into groups that
// share one scale, and the precision scales are stored in.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace lowbit {

// Which elements share a scale (and zero point). A weight matrix is {rows, cols} = {out, in}, row-major;
// every grouping is a run of contiguous elements: the whole tensor, one row (one output channel), or
// `group_size` consecutive elements of a row.
struct Grouping {
  enum class Kind { Tensor, Channel, Group };
  Kind kind = Kind::Group;
  int64_t group_size = 64;  // used when kind == Group
  bool operator==(const Grouping&) const = default;
};

enum class ScalePrecision { F16, F32 };

inline int scale_bits(ScalePrecision precision) { return precision == ScalePrecision::F16 ? 16 : 32; }

// Throws lowbit::Error naming the tensor when values.size() != rows * cols, a dimension is not
// positive, or a value is NaN or infinite (a quantizer would silently produce NaN scales from it).
void check_quant_input(std::string_view tensor_name, std::span<const float> values, int64_t rows, int64_t cols);

// Elements per group of a {rows, cols} tensor; throws lowbit::Error naming the tensor when the group
// size is not positive or does not divide the row length.
int64_t resolve_group_size(const Grouping& grouping, std::string_view tensor_name, int64_t rows, int64_t cols);

// The scale as stored: rounded to FP16 when so requested. A positive scale too small for FP16 becomes
// the smallest FP16 subnormal (never 0, which would zero the group); returns infinity for one too
// large for FP16, which the caller reports.
float round_scale_to_storage(float scale, ScalePrecision precision);

}  // namespace lowbit
