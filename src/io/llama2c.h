// llama2.c checkpoints (the "legacy" version-0 .bin that run.c reads): a header of 7 int32 —
// dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len — then float32 arrays back to back:
//   token_embedding [vocab][dim], rms_att [L][dim], wq [L][dim][dim], wk [L][kv_dim][dim],
//   wv [L][kv_dim][dim], wo [L][dim][dim], rms_ffn [L][dim], w1 [L][hidden][dim], w2 [L][dim][hidden],
//   w3 [L][hidden][dim], rms_final [dim], optionally freq_cis_real/imag [seq_len][head_size/2] each
//   (legacy RoPE tables, ignored), and wcls [vocab][dim] when the header's vocab_size is negative.
// kv_dim = dim * n_kv_heads / n_heads. Matrices are row-major [out][in], the layout lowbit uses.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/model_file.h"

namespace lowbit {

struct Llama2cCheckpoint {
  ModelConfig config;               // llama, interleaved RoPE, theta 10000, eps 1e-5, tied unless wcls is stored
  std::vector<TensorView> tensors;  // GGUF names (token_embd.weight, blk.N.attn_q.weight, ...); data points into the bytes
  bool has_rope_tables = false;     // the file carries the legacy freq_cis tables
};

// Parses a checkpoint held in `bytes` (kept alive by the caller); `name` is used in error messages.
// The file size must equal what the header implies, with or without the RoPE tables.
Llama2cCheckpoint parse_llama2c_checkpoint(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace lowbit
