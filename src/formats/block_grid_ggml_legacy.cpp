// Grids of ggml's legacy block formats (32 elements, one FP16 scale d, Q4_1/Q5_1 also an FP16 minimum m).
#include <cstring>

#include "core/half.h"
#include "formats/block_bytes.h"
#include "formats/block_grid.h"
#include "formats/ggml_block_common.h"
#include "formats/ggml_q4_0.h"
#include "formats/ggml_q4_1.h"
#include "formats/ggml_q5_0.h"
#include "formats/ggml_q5_1.h"
#include "formats/ggml_q8_0.h"

namespace lowbit {
namespace {

constexpr int kBlock = 32;

void fill_grid(float scale_value, float offset_value, float* scale, float* offset) {
  for (int i = 0; i < kBlock; ++i) {
    scale[i] = scale_value;
    offset[i] = offset_value;
  }
}

// Element j in the low nibble of qs[j], element j + 16 in the high nibble.
void pack_nibbles(const int8_t* q, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
}

void write_five_bit_codes(const int8_t* q, uint8_t* qh, uint8_t* qs) {
  int codes[kBlock];
  for (int i = 0; i < kBlock; ++i) codes[i] = q[i];
  const FiveBitQuants packed = pack_five_bit_quants(codes);
  std::memcpy(qh, packed.qh, sizeof packed.qh);
  std::memcpy(qs, packed.qs, sizeof packed.qs);
}

}  // namespace

// value = d * (q - 8), q in [0, 15]
BlockGrid q4_0_block_grid() {
  return {TensorType::Q4_0, 0, 15,
          [](const uint8_t* bytes, float* scale, float* offset) {
            const float d = fp16_to_fp32(load_block<BlockQ4_0>(bytes).d);
            fill_grid(d, -8.0f * d, scale, offset);
          },
          [](const int8_t* q, uint8_t* bytes) {
            auto block = load_block<BlockQ4_0>(bytes);
            pack_nibbles(q, block.qs);
            store_block(block, bytes);
          }};
}

// value = d * q + m, q in [0, 15]
BlockGrid q4_1_block_grid() {
  return {TensorType::Q4_1, 0, 15,
          [](const uint8_t* bytes, float* scale, float* offset) {
            const auto block = load_block<BlockQ4_1>(bytes);
            fill_grid(fp16_to_fp32(block.d), fp16_to_fp32(block.m), scale, offset);
          },
          [](const int8_t* q, uint8_t* bytes) {
            auto block = load_block<BlockQ4_1>(bytes);
            pack_nibbles(q, block.qs);
            store_block(block, bytes);
          }};
}

// value = d * (q - 16), q in [0, 31]
BlockGrid q5_0_block_grid() {
  return {TensorType::Q5_0, 0, 31,
          [](const uint8_t* bytes, float* scale, float* offset) {
            const float d = fp16_to_fp32(load_block<BlockQ5_0>(bytes).d);
            fill_grid(d, -16.0f * d, scale, offset);
          },
          [](const int8_t* q, uint8_t* bytes) {
            auto block = load_block<BlockQ5_0>(bytes);
            write_five_bit_codes(q, block.qh, block.qs);
            store_block(block, bytes);
          }};
}

// value = d * q + m, q in [0, 31]
BlockGrid q5_1_block_grid() {
  return {TensorType::Q5_1, 0, 31,
          [](const uint8_t* bytes, float* scale, float* offset) {
            const auto block = load_block<BlockQ5_1>(bytes);
            fill_grid(fp16_to_fp32(block.d), fp16_to_fp32(block.m), scale, offset);
          },
          [](const int8_t* q, uint8_t* bytes) {
            auto block = load_block<BlockQ5_1>(bytes);
            write_five_bit_codes(q, block.qh, block.qs);
            store_block(block, bytes);
          }};
}

// value = d * q; ggml's quantizer never writes -128, and integer dot kernels that take |q| assume so.
BlockGrid q8_0_block_grid() {
  return {TensorType::Q8_0, -127, 127,
          [](const uint8_t* bytes, float* scale, float* offset) {
            fill_grid(fp16_to_fp32(load_block<BlockQ8_0>(bytes).d), 0.0f, scale, offset);
          },
          [](const int8_t* q, uint8_t* bytes) {
            auto block = load_block<BlockQ8_0>(bytes);
            std::memcpy(block.qs, q, kBlock);
            store_block(block, bytes);
          }};
}

}  // namespace lowbit
