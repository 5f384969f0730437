// The W8A8 product for lb_w8_row weights (formats/lowbit_w8_row.h): activations quantized to int8
// codes, then an int8 x int8 product with int32 sums per block (kernels/w8a8_kernels.h). How the
// activations are quantized is the caller's choice (`--act-quant`):
//   static   one scale for every token, fixed by calibration (the matrix's "<name>.act_scale" tensor)
//   dynamic  one scale per token, max|x_t| / 127, computed here
//   none     no quantization: the weights' codes times F32 activations (what matmul() does)
#pragma once

#include <cstdint>
#include <string_view>

#include "core/tensor.h"

namespace lowbit {

enum class ActQuant { kNone, kDynamic, kStatic };

// "static", "dynamic" or "none"; throws lowbit::Error naming the text otherwise.
ActQuant parse_act_quant(std::string_view text);
const char* act_quant_name(ActQuant mode);

// codes[n] = x / scale rounded to nearest (ties to even), clamped to [-127, 127]; non-finite x gives 0.
void quantize_activation_int8(const float* x, int64_t n, float scale, int8_t* codes);
// max |x_i| / 127 over the finite x_i (0 when there are none or all are 0).
float dynamic_activation_scale(const float* x, int64_t n);

// y = x . W^T for W = weight [rows][cols] of type lb_w8_row, x [n_tokens][cols], y [n_tokens][rows].
// `static_scale` is used by ActQuant::kStatic only and must then be finite and positive. Throws
// lowbit::Error naming the tensor when it is not lb_w8_row, its bytes do not fit its shape, or the static
// scale is invalid.
void matmul_w8_row(const TensorView& weight, const float* x, int64_t n_tokens, float* y, ActQuant mode,
                   float static_scale = 0.0f);

}  // namespace lowbit
