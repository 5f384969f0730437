#include "formats/lowbit_q4_kx2.h"

#include <cstring>
#include <utility>

#include "formats/ggml_k_layout.h"
#include "formats/ggml_q4_k.h"

namespace lowbit {

// Sub-block s of a Q4_K super-block holds elements 32s .. 32s + 31 (ggml_k_layout.h: nibble_byte).
void q4_k_to_q4_kx2(const void* src, void* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ4_K*>(src);
  auto* out = static_cast<BlockQ4_Kx2*>(dst);
  for (int64_t b = 0; b < n / kQ4_Kx2Block; ++b, blocks += 2) {
    Q4_Kx2Scales& scales = out[b].scales;
    std::memset(&scales, 0, sizeof scales);
    for (int h = 0; h < 2; ++h) {
      scales.d[h] = blocks[h].d;
      scales.dmin[h] = blocks[h].dmin;
      for (int s = 0; s < 8; ++s) {
        const auto code = [&](int i) { return (blocks[h].qs[nibble_byte(32 * s + i)] >> nibble_shift(32 * s + i)) & 15; };
        for (int j = 0; j < 16; ++j) {
          out[b].qs[interleaved_byte(8 * h + s, j)] = static_cast<uint8_t>(code(j) | code(j + 16) << 4);
        }
        const auto [scale, min] = unpack_scale_min_6bit(blocks[h].scales, s);
        const int sub_block = 8 * h + s;
        scales.low[sub_block] = static_cast<uint8_t>((scale & 15) | (min & 15) << 4);
        for (const auto& [c, value] : {std::pair{sub_block, scale}, std::pair{16 + sub_block, min}}) {
          scales.high[c % 8] |= static_cast<uint8_t>((value >> 4) << (2 * (c / 8)));
        }
      }
    }
  }
}

void q4_kx2_to_q4_k(const void* src, void* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ4_Kx2*>(src);
  auto* out = static_cast<BlockQ4_K*>(dst);
  for (int64_t b = 0; b < n / kQ4_Kx2Block; ++b, out += 2) {
    const Q4_Kx2Scales& scales = blocks[b].scales;
    for (int h = 0; h < 2; ++h) {
      out[h].d = scales.d[h];
      out[h].dmin = scales.dmin[h];
      uint8_t scale_codes[8], min_codes[8];
      for (int s = 0; s < 8; ++s) {
        scale_codes[s] = static_cast<uint8_t>(q4_kx2_code(scales, 8 * h + s));
        min_codes[s] = static_cast<uint8_t>(q4_kx2_code(scales, 16 + 8 * h + s));
      }
      pack_scale_min_6bit(scale_codes, min_codes, out[h].scales);
      std::memset(out[h].qs, 0, sizeof out[h].qs);
      for (int s = 0; s < 8; ++s) {
        for (int j = 0; j < 16; ++j) {
          const uint8_t byte = blocks[b].qs[interleaved_byte(8 * h + s, j)];
          for (const auto& [i, code] : {std::pair{j, byte & 15}, std::pair{j + 16, byte >> 4}}) {
            out[h].qs[nibble_byte(32 * s + i)] |= static_cast<uint8_t>(code << nibble_shift(32 * s + i));
          }
        }
      }
    }
  }
}

namespace {
using ThroughQ4_K = ThroughSourceFormat<kQ4_Kx2Block, 2 * sizeof(BlockQ4_K), sizeof(BlockQ4_Kx2)>;
}  // namespace

void quantize_row_q4_kx2(const float* x, void* dst, int64_t n) {
  ThroughQ4_K::quantize(q4_k_to_q4_kx2, n, dst, [x](int64_t first, void* blocks) {
    quantize_row_q4_k(x + first, blocks, kQ4_Kx2Block);
  });
}

void quantize_row_q4_kx2_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  ThroughQ4_K::quantize(q4_k_to_q4_kx2, n, dst, [x, importance](int64_t first, void* blocks) {
    quantize_row_q4_k_weighted(x + first, importance + first, blocks, kQ4_Kx2Block);
  });
}

void dequantize_row_q4_kx2(const void* src, float* y, int64_t n) {
  ThroughQ4_K::dequantize(q4_kx2_to_q4_k, dequantize_row_q4_k, src, y, n);
}

}  // namespace lowbit
