// Grids of lowbit's integer group formats (formats/lowbit_int.h): value = S * (q - Z), q in
// [-2^(bits-1), 2^(bits-1) - 1], one FP16 scale S and (asymmetric) one zero point Z per group, or
// per row for the _row formats.
#include <algorithm>
#include <vector>

#include "formats/bitpack.h"
#include "formats/block_grid.h"
#include "formats/lowbit_block_common.h"

namespace lowbit {
namespace {

int q_min_of(int bits) { return -(1 << (bits - 1)); }
int q_max_of(int bits) { return (1 << (bits - 1)) - 1; }

}  // namespace

BlockGrid lowbit_int_block_grid(TensorType type, LowbitIntFormat format) {
  const int q_min = q_min_of(format.bits), q_max = q_max_of(format.bits);
  const size_t header_bytes = format.symmetric ? 2 : 3;  // FP16 S, then Z - q_min when asymmetric
  return {type, q_min, q_max,
          [=](const uint8_t* block, float* scale, float* offset) {
            const float s = load_f16(block);
            const int zero = format.symmetric ? 0 : block[2] + q_min;
            for (int64_t i = 0; i < format.group; ++i) {
              scale[i] = s;
              offset[i] = -s * static_cast<float>(zero);
            }
          },
          [=](const int8_t* q, uint8_t* block) {
            std::vector<uint8_t> codes(static_cast<size_t>(format.group));  // [group] q - q_min
            for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>(q[i] - q_min);
            const std::vector<uint8_t> packed = pack_bits(codes, format.bits);
            std::copy(packed.begin(), packed.end(), block + header_bytes);
          },
          format.per_row};
}

}  // namespace lowbit
