// Grids of ggml's K-quant formats: super-blocks of 256 elements in sub-blocks of 16 or 32, each
// sub-block with its own scale (d * scale code) and, for Q2_K/Q4_K/Q5_K, its own minimum (dmin * min code).
#include "core/half.h"
#include "formats/block_bytes.h"
#include "formats/block_grid.h"
#include "formats/ggml_k_layout.h"
#include "formats/ggml_k_search.h"
#include "formats/ggml_q2_k.h"
#include "formats/ggml_q3_k.h"
#include "formats/ggml_q4_k.h"
#include "formats/ggml_q5_k.h"
#include "formats/ggml_q6_k.h"

namespace lowbit {
namespace {

constexpr int kBlock = kSuperBlockSize;

// Sub-block s covers elements [s * sub_size, (s + 1) * sub_size).
void fill_sub_block(int sub_size, int s, float scale_value, float offset_value, float* scale, float* offset) {
  for (int e = s * sub_size; e < (s + 1) * sub_size; ++e) {
    scale[e] = scale_value;
    offset[e] = offset_value;
  }
}

// The stored 6-bit code (scale code + 32) of Q3_K sub-block s; the layout is BlockQ3_K's (ggml_q3_k.h).
int q3_k_scale_code(const uint8_t* scales, int s) {
  const int low = s < 8 ? (scales[s] & 15) : (scales[s - 8] >> 4);
  const int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
  return low | (high << 4);
}

// Q6_K's element positions, as ggml_q6_k.cpp lays them out: the low 4 bits of q + 32 in ql, the top
// 2 bits in qh. (The round-trip test through dequantize_row_q6_k keeps the two in step.)
int q6_k_low_byte(int e) { return (e / 128) * 64 + e % 32 + 32 * ((e % 128) / 32 % 2); }
int q6_k_low_shift(int e) { return 4 * ((e % 128) / 64); }
int q6_k_high_byte(int e) { return (e / 128) * 32 + e % 32; }
int q6_k_high_shift(int e) { return 2 * ((e % 128) / 32); }

// Q4_K and Q5_K: value = d * scale code * q - dmin * min code over 8 sub-blocks of 32.
template <typename Block>
void read_scale_min_grid(const uint8_t* bytes, float* scale, float* offset) {
  const auto block = load_block<Block>(bytes);
  const float d = fp16_to_fp32(block.d), dmin = fp16_to_fp32(block.dmin);
  for (int s = 0; s < 8; ++s) {
    const ScaleMinCodes codes = unpack_scale_min_6bit(block.scales, s);
    fill_sub_block(32, s, d * static_cast<float>(codes.scale), -(dmin * static_cast<float>(codes.min)), scale, offset);
  }
}

}  // namespace

// value = d * scale code * q - dmin * min code, q in [0, 3], sub-blocks of 16
BlockGrid q2_k_block_grid() {
  return {TensorType::Q2_K, 0, 3,
          [](const uint8_t* bytes, float* scale, float* offset) {
            const auto block = load_block<BlockQ2_K>(bytes);
            const float d = fp16_to_fp32(block.d), dmin = fp16_to_fp32(block.dmin);
            for (int s = 0; s < 16; ++s) {
              fill_sub_block(16, s, d * static_cast<float>(block.scales[s] & 15),
                             -(dmin * static_cast<float>(block.scales[s] >> 4)), scale, offset);
            }
          },
          [](const int8_t* q, uint8_t* bytes) {
            auto block = load_block<BlockQ2_K>(bytes);
            for (uint8_t& byte : block.qs) byte = 0;
            for (int e = 0; e < kBlock; ++e) block.qs[crumb_byte(e)] |= static_cast<uint8_t>(q[e] << crumb_shift(e));
            store_block(block, bytes);
          }};
}

// value = d * (scale code) * q, q in [-4, 3], sub-blocks of 16; the scale may be negative
BlockGrid q3_k_block_grid() {
  return {TensorType::Q3_K, -4, 3,
          [](const uint8_t* bytes, float* scale, float* offset) {
            const auto block = load_block<BlockQ3_K>(bytes);
            const float d = fp16_to_fp32(block.d);
            for (int s = 0; s < 16; ++s) {
              fill_sub_block(16, s, d * static_cast<float>(q3_k_scale_code(block.scales, s) - 32), 0.0f, scale, offset);
            }
          },
          [](const int8_t* q, uint8_t* bytes) {
            auto block = load_block<BlockQ3_K>(bytes);
            for (uint8_t& byte : block.qs) byte = 0;
            for (uint8_t& byte : block.hmask) byte = 0;
            for (int e = 0; e < kBlock; ++e) {
              const int biased = q[e] + 4;  // [0, 7]
              block.qs[crumb_byte(e)] |= static_cast<uint8_t>((biased & 3) << crumb_shift(e));
              block.hmask[high_bit_byte(e)] |= static_cast<uint8_t>((biased >> 2) << high_bit_shift(e));
            }
            store_block(block, bytes);
          }};
}

// value = d * scale code * q - dmin * min code, q in [0, 15]
BlockGrid q4_k_block_grid() {
  return {TensorType::Q4_K, 0, 15, read_scale_min_grid<BlockQ4_K>, [](const int8_t* q, uint8_t* bytes) {
            auto block = load_block<BlockQ4_K>(bytes);
            for (uint8_t& byte : block.qs) byte = 0;
            for (int e = 0; e < kBlock; ++e) block.qs[nibble_byte(e)] |= static_cast<uint8_t>(q[e] << nibble_shift(e));
            store_block(block, bytes);
          }};
}

// value = d * scale code * q - dmin * min code, q in [0, 31]
BlockGrid q5_k_block_grid() {
  return {TensorType::Q5_K, 0, 31, read_scale_min_grid<BlockQ5_K>, [](const int8_t* q, uint8_t* bytes) {
            auto block = load_block<BlockQ5_K>(bytes);
            for (uint8_t& byte : block.qs) byte = 0;
            for (uint8_t& byte : block.qh) byte = 0;
            for (int e = 0; e < kBlock; ++e) {
              block.qs[nibble_byte(e)] |= static_cast<uint8_t>((q[e] & 15) << nibble_shift(e));
              block.qh[high_bit_byte(e)] |= static_cast<uint8_t>((q[e] >> 4) << high_bit_shift(e));
            }
            store_block(block, bytes);
          }};
}

// value = d * scale code * q, q in [-32, 31], sub-blocks of 16
BlockGrid q6_k_block_grid() {
  return {TensorType::Q6_K, -32, 31,
          [](const uint8_t* bytes, float* scale, float* offset) {
            const auto block = load_block<BlockQ6_K>(bytes);
            const float d = fp16_to_fp32(block.d);
            for (int s = 0; s < 16; ++s) fill_sub_block(16, s, d * static_cast<float>(block.scales[s]), 0.0f, scale, offset);
          },
          [](const int8_t* q, uint8_t* bytes) {
            auto block = load_block<BlockQ6_K>(bytes);
            for (uint8_t& byte : block.ql) byte = 0;
            for (uint8_t& byte : block.qh) byte = 0;
            for (int e = 0; e < kBlock; ++e) {
              const int biased = q[e] + 32;  // [0, 63]
              block.ql[q6_k_low_byte(e)] |= static_cast<uint8_t>((biased & 15) << q6_k_low_shift(e));
              block.qh[q6_k_high_byte(e)] |= static_cast<uint8_t>((biased >> 4) << q6_k_high_shift(e));
            }
            store_block(block, bytes);
          }};
}

}  // namespace lowbit
