// A quantization scheme named by a short string, as `lowbit inspect --error SCHEME` takes it:
//
//   int{2..8}-{sym|asym}[-u]-{tensor|channel|g<N>}[-f16|-f32][-minmax|-pct<P>|-mse]
//       linear integer codes (quant/linear.h); -u: unsigned codes; scales FP16 unless -f32; range
//       min-max unless -pct<P> (P in (50, 100]) or -mse. e.g. int4-asym-g32, int8-sym-channel,
//       int3-asym-g64-mse, int4-sym-g128-pct99.9
//   {nf4|fp4}[-tensor|-channel|-g<N>][-f16|-f32|-dq]
//       QLoRA code books with per-block absmax (quant/codebook_quant.h); blocks of 64 and FP32 scales
//       unless told; -dq: double-quantized scales. e.g. nf4-g64, nf4-g64-dq, fp4-g64
//   log2-{2..8}[-tensor|-channel|-g<N>][-f16|-f32]
//       power-of-two codes relative to each block's absmax; blocks of 64 and FP16 scales unless told.
//       e.g. log2-4-g32
//   fp8-{e4m3|e5m2}
//       FP8 with one FP32 scale per tensor (quant/fp8_quant.h)
//
// Names are case-insensitive; to_string gives the canonical form with every default spelled out.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "quant/codebook_quant.h"
#include "quant/fp8_quant.h"
#include "quant/linear.h"
#include "quant/quant_error.h"

namespace lowbit {

struct QuantScheme {
  std::variant<LinearSpec, CodebookSpec, Fp8Spec> spec;
  bool operator==(const QuantScheme&) const = default;
};

// The grammar above in one line each, for help texts and error messages.
extern const char* const kQuantSchemeSyntax;

// Throws lowbit::Error naming the text, the problem and kQuantSchemeSyntax.
QuantScheme parse_quant_scheme(std::string_view text);
std::string to_string(const QuantScheme& scheme);
std::vector<std::string> example_schemes();

// Quantizes values ({rows, cols}, row-major) with the scheme, dequantizes and measures the error.
// Throws lowbit::Error naming the tensor when it cannot be quantized with the scheme.
QuantError evaluate_scheme(const QuantScheme& scheme, std::string_view tensor_name, std::span<const float> values,
                           int64_t rows, int64_t cols);

}  // namespace lowbit
