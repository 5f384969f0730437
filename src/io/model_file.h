// Any model lowbit reads — GGUF, a llama2.c checkpoint, a Hugging Face folder — opened as one thing:
// its hyper-parameters, its weights under llama.cpp's GGUF tensor names, and its vocabulary.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/huge_page_buffer.h"
#include "core/mapped_file.h"
#include "core/tensor.h"
#include "formats/layout_conversion.h"
#include "tokenizer/vocab.h"

namespace lowbit {

// How RoPE pairs the dimensions of a head: llama2.c and GGUF "llama" rotate adjacent pairs
// (x[2i], x[2i+1]); Hugging Face Llama rotates (x[i], x[i + head_dim/2]) ("rotate_half").
enum class RopeStyle { kInterleaved, kRotateHalf };

struct ModelConfig {
  std::string architecture = "llama";  // "llama", "mistral", "qwen2" (GGUF general.architecture)
  int64_t dim = 0;                     // embedding length
  int64_t hidden_dim = 0;              // feed-forward length
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;                // usually dim / n_heads
  int64_t vocab_size = 0;
  int64_t context_length = 0;
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  RopeStyle rope_style = RopeStyle::kInterleaved;
  bool tied_embeddings = false;        // output.weight absent: logits use token_embd.weight
  bool qkv_bias = false;               // Qwen2: attn_{q,k,v}.bias present
};

// Tensor names follow llama.cpp's GGUF convention:
//   token_embd.weight [vocab, dim], output_norm.weight [dim], output.weight [vocab, dim] (absent if tied),
//   blk.N.attn_norm.weight [dim], blk.N.attn_q.weight [n_heads*head_dim, dim],
//   blk.N.attn_k.weight / attn_v.weight [n_kv_heads*head_dim, dim], blk.N.attn_output.weight [dim, n_heads*head_dim],
//   blk.N.attn_{q,k,v}.bias (Qwen2), blk.N.ffn_norm.weight [dim], blk.N.ffn_gate.weight / ffn_up.weight
//   [hidden_dim, dim], blk.N.ffn_down.weight [dim, hidden_dim].
// Shapes are outermost-first ({rows, cols}); see core/tensor.h.
class ModelFile {
 public:
  virtual ~ModelFile() = default;

  const std::string& path() const { return path_; }
  const std::string& format() const { return format_; }  // "gguf", "llama2c", "huggingface"
  const ModelConfig& config() const { return config_; }
  const Vocab& vocab() const { return vocab_; }
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find_tensor(const std::string& name) const;
  // Throws lowbit::Error naming the file when the tensor is missing.
  const TensorView& tensor(const std::string& name) const;

  // Moves every tensor into one buffer of huge pages (core/huge_page_buffer.h), each 64-byte aligned:
  // those in mapped files are read with pread, so the maps' pages are never touched and resident memory
  // stays one copy; converted ones are copied and their buffers freed. Decode streams every weight once
  // per token, and it streams faster from 2 MiB pages than from 4 KiB ones. Call it before anything keeps
  // pointers to tensor data. Returns false, moving nothing, when the weights would take more than 90% of
  // the memory Linux reports available (the map then pages them from the file as needed). Throws
  // lowbit::Error naming the file on a failed read.
  bool load_weights_into_memory();

  // After load_weights_into_memory (else nothing to do): rewrites in place each tensor for which
  // choose(tensor) gives a conversion from its type (formats/layout_conversion.h), the same values in a
  // layout the CPU's kernels read faster; the tensor then has the conversion's type. Rows are converted
  // in parallel on the thread pool.
  void relayout_loaded_weights(const std::function<const LayoutConversion*(const TensorView&)>& choose);

 protected:
  void add_tensor(TensorView view);

  std::string path_;
  std::string format_;
  ModelConfig config_;
  Vocab vocab_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  std::vector<std::shared_ptr<MappedFile>> maps_;   // keep the mapped files alive
  std::vector<std::vector<uint8_t>> owned_buffers_; // tensors that had to be converted
  std::unique_ptr<HugePageBuffer> loaded_weights_;  // load_weights_into_memory's copy, if made
};

// A plain Llama config from its dimensions (head_dim = dim / n_heads, interleaved RoPE, eps 1e-5): the
// named shapes of `lowbit synth` and `lowbit plan` are built with it.
ModelConfig llama_model_config(int64_t dim, int64_t hidden_dim, int64_t n_layers, int64_t n_heads, int64_t n_kv_heads,
                               int64_t vocab_size, int64_t context_length, float rope_theta = 10000.0f);

// Opens a GGUF file, a llama2.c .bin (its tokenizer.bin from `tokenizer_path`, or found beside it:
// tokenizer.bin or tok*.bin), or a Hugging Face folder (config.json + *.safetensors + tokenizer.json or
// tokenizer.model). Checks every shape against the config. Throws lowbit::Error naming the file.
// A model without tokenizer data (no tokenizer.ggml.* keys, no tokenizer file) opens with an empty vocab().
std::unique_ptr<ModelFile> open_model(const std::string& path, const std::string& tokenizer_path = "");

}  // namespace lowbit
