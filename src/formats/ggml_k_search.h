// Scale searches shared by ggml's K-quant quantizers (Q2_K ... Q6_K).
//
// A K-quant super-block holds 256 weights cut into sub-blocks of 16 or 32. Each sub-block has its own
// scale (and, for the "affine" formats Q2_K/Q4_K/Q5_K, its own minimum), stored as a small integer
// code times one FP16 scale of the super-block. Quantizing therefore takes two passes:
//   1. per sub-block, the best real-valued scale (and minimum): a grid of candidate scales, each
//      giving nearest-integer quants that are refit by weighted least squares, then a few rounds of
//      re-rounding and refitting from the best candidate;
//   2. per super-block, these reals are coded against the FP16 super scales; every code then moves
//      by -1, 0 or +1 to whichever gives the smallest error of its sub-block once the quants are
//      re-rounded with the coded scale, which is what the file will hold. The super scales are then
//      refit by least squares to the chosen codes and quants and the coding repeated, kept if the
//      error falls.
// The error minimised is the importance-weighted squared error; importance == nullptr weights every
// element 1, i.e. plain squared error, the quantity RMS error measures.
#pragma once

#include <cstdint>

namespace lowbit {

inline constexpr int kSuperBlockSize = 256;  // ggml's QK_K

// Value of an element: (d * scale_code) * q - (dmin * min_code), q in [0, q_max].
struct AffineGeometry {
  int sub_size;  // 16 or 32 elements per sub-block
  int q_max;     // 3, 15 or 31
  int code_max;  // scale and min codes in [0, code_max]
};

struct AffineSuperBlock {
  uint16_t d;              // FP16 scale of the scale codes
  uint16_t dmin;           // FP16 scale of the min codes
  uint8_t scale_code[16];  // [kSuperBlockSize / sub_size] used
  uint8_t min_code[16];
  uint8_t q[kSuperBlockSize];
};

// x[0..256), importance[0..256) or nullptr.
AffineSuperBlock quantize_affine_superblock(const float* x, const float* importance, const AffineGeometry& geometry);

// Value of an element: (d * scale_code) * q, q in [q_min, q_max].
struct SymmetricGeometry {
  int sub_size;  // 16
  int q_min, q_max;        // [-4, 3] or [-32, 31]
  int code_min, code_max;  // [-32, 31] or [-128, 127]
};

struct SymmetricSuperBlock {
  uint16_t d;             // FP16 scale of the scale codes
  int8_t scale_code[16];  // [kSuperBlockSize / sub_size] used
  int8_t q[kSuperBlockSize];
};

SymmetricSuperBlock quantize_symmetric_superblock(const float* x, const float* importance,
                                                  const SymmetricGeometry& geometry);

}  // namespace lowbit
