// `lowbit quantize` as a library call: any model lowbit reads (GGUF, llama2.c, Hugging Face folder) to a
// GGUF v3 file, one tensor at a time from the memory-mapped source, with a per-tensor error report.
//
// For a GGUF source the output is what llama-quantize writes for the same command: the source's
// metadata keys in order, general.quantization_version = 2 and general.file_type moved to the end,
// every tensor's type chosen as llama-quantize chooses it (quant/mix_policy.h), tensors in its order,
// the same alignment and padding. For
// llama2.c and Hugging Face sources the metadata is built from the config and vocabulary
// (io/gguf_metadata.h) and Hugging Face Llama attn_q/attn_k rows are permuted to GGUF's interleaved
// RoPE convention, so the file is an ordinary GGUF that llama.cpp also loads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "quant/quant_method.h"
#include "quant/quantize_tensor.h"

namespace lowbit {

struct QuantizeProgress {
  std::string_view tensor;  // name of the tensor being written
  size_t index = 0;         // its position in the file, 0-based
  size_t count = 0;         // tensors in the file
  double model_fraction = 0;  // of all elements, including this tensor's finished rows
};

struct QuantizeOptions {
  std::string type;                       // --type: a named mix or its base type ("Q4_K_M", "Q8_0", "F16")
  std::vector<std::string> tensor_types;  // --tensor-type PATTERN=TYPE, first match wins
  std::string output_type;                // --output-type for output.weight (a type name); empty: the mix's choice
  std::string embedding_type;             // --embedding-type for token_embd.weight
  bool pure = false;                      // --pure
  std::string tokenizer_path;             // llama2.c tokenizer.bin; empty: found beside the model
  // lowbit.* provenance keys (version, source format, type). Unset: only when lowbit built the
  // metadata itself (llama2.c, Hugging Face); a GGUF source stays identical to llama-quantize's output.
  std::optional<bool> provenance;
  std::string lowbit_version;             // value of lowbit.version
  std::string method = "rtn";             // --method: quant/quant_method.h's name, or "A+B"
  std::string calib_path;                 // --calib: stats from lowbit calibrate; needed by some methods
  MethodOptions method_options;           // --damp, --act-order, --alpha, --act-quant, --awq-grid, --no-awq-clip
  std::function<void(const QuantizeProgress&)> progress;  // after every chunk of rows
};

struct TensorReport {
  std::string name;
  std::vector<int64_t> shape;  // outermost-first
  TensorType source_type = TensorType::F32;
  TensorType type = TensorType::F32;
  uint64_t bytes = 0;          // data bytes in the output, without alignment padding
  // Against the values quantized: the source's, or the rewritten ones when the method rewrites (AWQ
  // and SmoothQuant scale columns, so the source values are no reference).
  ErrorSums error;
  double seconds = 0;          // quantizing it (and its share of its layer's rewrite)

  int64_t elements() const;
  double bits_per_weight() const;
};

struct QuantizeReport {
  std::string input;
  std::string output;
  std::string source_format;  // "gguf", "llama2c", "huggingface"
  std::string type;           // the --type argument as given
  std::string method;         // the --method argument as given
  std::string calib_path;     // the stats used; empty: none
  std::vector<TensorReport> tensors;  // in file order
  std::vector<std::string> fallbacks; // tensors whose rows did not fit the wanted type, as llama.cpp reports them
  uint64_t file_bytes = 0;
  double seconds = 0;                 // the whole run, from opening the model to the renamed file
  // Names of types in the file that only lowbit reads (ids from kLowbitTypeBase); llama.cpp cannot load
  // such a file.
  std::vector<std::string> lowbit_only_types;

  int64_t elements() const;
  ErrorSums error() const;               // over all tensors
  double bits_per_weight() const;        // 8 * file bytes / elements
  double compression_vs_f32() const;     // 4 bytes per element / file bytes
  double compression_vs_f16() const;
};

// Writes `output` atomically (nothing appears on error). Throws lowbit::Error naming the file or tensor
// for an unknown type or method, an output that is the input, an unwritable destination, a tensor the
// chosen type cannot hold, or a method that needs statistics without calib_path; errors naming the
// stats file for a corrupt one or one recorded from another model. All checks run before anything
// is written.
//
// With the plain "rtn" method and no statistics, every tensor streams through quantize_tensor() (the
// bytes llama-quantize writes). Otherwise a tensor whose rows the method or the stats change is
// converted to F32 whole (quant/quantize_float_tensor.h), and a method with a rewrite stage runs layer
// by layer (quant/rewrite_layers.h); tensors a rewrite adds are written as F32 after all others.
QuantizeReport quantize_model(const std::string& input, const std::string& output, const QuantizeOptions& options);

}  // namespace lowbit
