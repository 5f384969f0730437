// The rewrite stage of a quantization method (quant/quant_method.h), run over the model one layer at a
// time: the layer's tensors are copied to F32 (rows in output order), rewritten, and quantized at once,
// so that memory holds the quantized output so far plus one layer in F32. The results wait in memory
// because the GGUF header, written first, must list the tensors the rewrites add.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/model_file.h"
#include "quant/quantize_float_tensor.h"

namespace lowbit {

struct AddedTensor {
  std::string name;
  std::vector<int64_t> shape;  // outermost-first
  std::vector<float> values;   // written as F32
};

struct RewrittenModel {
  std::vector<QuantizedBytes> outputs;  // [jobs.size()] each job's bytes, by job index
  std::vector<double> seconds;          // [jobs.size()] rewrite share and quantization time of each job
  std::vector<AddedTensor> added;       // by layer (-1 first), then name
};

// Layer of a GGUF tensor name: N for "blk.N.*", -1 for the tensors outside the blocks.
int64_t tensor_layer(const std::string& name);

// Runs method.rewrite_from->rewrite on every layer and quantizes each job from the rewritten values
// (method.quantize_from's quantizer, else the row quantizer weighted by the stats when they exist),
// handing it the statistics of its input rescaled by the scales the rewrite recorded for that site.
// `tensor_done(job index)` is called as each job's bytes are ready. Throws lowbit::Error naming the
// tensor when a rewrite removes a tensor, changes its shape, or adds one whose name is taken.
RewrittenModel rewrite_and_quantize(const ModelFile& model, const std::vector<TensorJob>& jobs, const MethodChoice& method,
                                    const CalibStats& stats, const MethodOptions& options,
                                    const std::function<void(size_t)>& tensor_done);

}  // namespace lowbit
