// The row order that turns rotate-half RoPE weights (Hugging Face Llama) into the interleaved
// convention of GGUF's "llama" architecture.
#pragma once

#include <cstdint>
#include <vector>

namespace lowbit {

// For an attn_q/attn_k matrix of `rows` rows in heads of `head_dim` rows: output row r of a head holds
// the source row that rotate-half RoPE pairs the way interleaved RoPE pairs rows 2i and 2i+1, i.e. rows
// (i, i + head_dim/2) of each head become adjacent. This is the permutation llama.cpp's converter
// applies to Hugging Face Llama weights.
std::vector<int64_t> interleaved_rope_row_order(int64_t rows, int64_t head_dim);

}  // namespace lowbit
