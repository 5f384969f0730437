// Round trips through every ggml block format on synthetic data: error bounds, all-zero blocks,
// multi-block rows, the K quantizers' importance weights, and a few hand-built blocks that pin
// down the layouts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/half.h"
#include "formats/ggml_q2_k.h"
#include "formats/ggml_q3_k.h"
#include "formats/ggml_q4_0.h"
#include "formats/ggml_q4_k.h"
#include "formats/ggml_q5_0.h"
#include "formats/ggml_q5_k.h"
#include "formats/ggml_q6_k.h"
#include "formats/ggml_q8_k.h"
#include "formats/type_traits.h"

namespace lowbit {
namespace test_ggml_roundtrip {

std::vector<float> gaussian(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = normal(rng);
  return x;
}

std::vector<uint8_t> quantize(const TypeTraits& traits, const std::vector<float>& x) {
  std::vector<uint8_t> bytes(traits.row_bytes(static_cast<int64_t>(x.size())));
  traits.from_float(x.data(), bytes.data(), static_cast<int64_t>(x.size()));
  return bytes;
}

std::vector<float> dequantize(const TypeTraits& traits, const std::vector<uint8_t>& bytes, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  traits.to_float(bytes.data(), y.data(), n);
  return y;
}

double relative_rms_error(const std::vector<float>& x, const std::vector<float>& y) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    err += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    ref += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(err / ref);
}

struct RoundTripCase {
  const char* type;
  // Upper bound on the relative RMS error for standard normal data. A uniform quantizer with step
  // s has error s / sqrt(12); the bounds sit about 20% above what the formats reach on this data, so they catch
  // a lost bit or a misplaced scale while leaving room for the search to change.
  double max_relative_rms;
};

class GgmlRoundTrip : public testing::TestWithParam<RoundTripCase> {};

TEST_P(GgmlRoundTrip, GaussianDataStaysWithinTheFormatsPrecision) {
  const TypeTraits& traits = *find_type_traits(GetParam().type);
  const std::vector<float> x = gaussian(64 * 256, 1);
  const std::vector<float> y = dequantize(traits, quantize(traits, x), static_cast<int64_t>(x.size()));
  EXPECT_LT(relative_rms_error(x, y), GetParam().max_relative_rms);
}

TEST_P(GgmlRoundTrip, AllZeroBlocksStayExactlyZero) {
  const TypeTraits& traits = *find_type_traits(GetParam().type);
  // Three blocks: zeros between two blocks of data, so state cannot leak from one block to the next.
  std::vector<float> x = gaussian(3 * traits.block_size, 2);
  std::fill(x.begin() + traits.block_size, x.begin() + 2 * traits.block_size, 0.0f);
  const std::vector<float> y = dequantize(traits, quantize(traits, x), static_cast<int64_t>(x.size()));
  // Q4_0 and Q5_0 give -0.0 here (their scale is max / -8 = -0.0), exactly as llama.cpp does.
  for (int64_t i = traits.block_size; i < 2 * traits.block_size; ++i) {
    ASSERT_EQ(y[static_cast<size_t>(i)], 0.0f) << "element " << i;
  }
}

TEST_P(GgmlRoundTrip, RowsOfManyBlocksEqualTheirBlocksOneByOne) {
  const TypeTraits& traits = *find_type_traits(GetParam().type);
  const int64_t blocks = 5;
  const std::vector<float> x = gaussian(blocks * traits.block_size, 3);
  const std::vector<uint8_t> whole = quantize(traits, x);
  ASSERT_EQ(whole.size(), static_cast<size_t>(blocks) * traits.block_bytes);
  const std::vector<float> y = dequantize(traits, whole, static_cast<int64_t>(x.size()));
  for (int64_t b = 0; b < blocks; ++b) {
    const std::vector<float> part(x.begin() + b * traits.block_size, x.begin() + (b + 1) * traits.block_size);
    const std::vector<uint8_t> part_bytes = quantize(traits, part);
    ASSERT_EQ(0, std::memcmp(part_bytes.data(), whole.data() + b * traits.block_bytes, traits.block_bytes)) << "block " << b;
    const std::vector<float> part_values = dequantize(traits, part_bytes, traits.block_size);
    ASSERT_TRUE(std::equal(part_values.begin(), part_values.end(), y.begin() + b * traits.block_size)) << "block " << b;
  }
}

TEST_P(GgmlRoundTrip, ExtremeMagnitudesStayDefined) {
  // Subnormal data makes the inverse scale infinite; huge data overflows the FP16 scales. Neither
  // may hit undefined conversions (the sanitizer build checks), and subnormal data decodes to
  // (almost) zero.
  const TypeTraits& traits = *find_type_traits(GetParam().type);
  std::vector<float> x = gaussian(2 * traits.block_size, 7);
  for (size_t i = 0; i < x.size(); ++i) x[i] *= i < x.size() / 2 ? 1e-40f : 1e30f;
  const std::vector<float> y = dequantize(traits, quantize(traits, x), static_cast<int64_t>(x.size()));
  for (int64_t i = 0; i < traits.block_size; ++i) {
    ASSERT_LE(std::fabs(y[static_cast<size_t>(i)]), 1e-30f) << "element " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(AllBlockTypes, GgmlRoundTrip,
                         testing::Values(RoundTripCase{"q4_0", 0.105}, RoundTripCase{"q4_1", 0.095},
                                         RoundTripCase{"q5_0", 0.052}, RoundTripCase{"q5_1", 0.046},
                                         RoundTripCase{"q8_0", 0.0065}, RoundTripCase{"q8_1", 0.0065},
                                         RoundTripCase{"q2_K", 0.32}, RoundTripCase{"q3_K", 0.175},
                                         RoundTripCase{"q4_K", 0.085}, RoundTripCase{"q5_K", 0.042},
                                         RoundTripCase{"q6_K", 0.021}, RoundTripCase{"q8_K", 0.0086}),
                         [](const testing::TestParamInfo<RoundTripCase>& info) { return std::string(info.param.type); });

// ---- importance weights of the K quantizers ----

using KQuantizer = void (*)(const float*, const float*, void*, int64_t);
struct ImportanceCase {
  const char* type;
  KQuantizer quantize;
};

class KQuantImportance : public testing::TestWithParam<ImportanceCase> {};

TEST_P(KQuantImportance, UnitImportanceIsTheDefault) {
  const TypeTraits& traits = *find_type_traits(GetParam().type);
  const std::vector<float> x = gaussian(4 * 256, 4);
  const std::vector<float> ones(x.size(), 1.0f);
  std::vector<uint8_t> weighted(traits.row_bytes(static_cast<int64_t>(x.size())));
  GetParam().quantize(x.data(), ones.data(), weighted.data(), static_cast<int64_t>(x.size()));
  EXPECT_EQ(weighted, quantize(traits, x));
}

TEST_P(KQuantImportance, ImportantColumnsGetSmallerErrors) {
  // Every 8th column 100x as important: its error must drop, at some cost to the others.
  const TypeTraits& traits = *find_type_traits(GetParam().type);
  const int64_t n = 16 * 256;
  const std::vector<float> x = gaussian(n, 5);
  std::vector<float> importance(static_cast<size_t>(n), 1.0f);
  for (int64_t i = 0; i < n; i += 8) importance[static_cast<size_t>(i)] = 100.0f;
  std::vector<uint8_t> bytes(traits.row_bytes(n));
  GetParam().quantize(x.data(), importance.data(), bytes.data(), n);
  const std::vector<float> weighted = dequantize(traits, bytes, n);
  const std::vector<float> plain = dequantize(traits, quantize(traits, x), n);
  auto important_error = [&](const std::vector<float>& y) {
    double sum = 0;
    for (int64_t i = 0; i < n; i += 8) sum += std::pow(static_cast<double>(x[static_cast<size_t>(i)]) - y[static_cast<size_t>(i)], 2);
    return sum;
  };
  EXPECT_LT(important_error(weighted), 0.8 * important_error(plain));
}

INSTANTIATE_TEST_SUITE_P(KTypes, KQuantImportance,
                         testing::Values(ImportanceCase{"q2_K", quantize_row_q2_k}, ImportanceCase{"q3_K", quantize_row_q3_k},
                                         ImportanceCase{"q4_K", quantize_row_q4_k}, ImportanceCase{"q5_K", quantize_row_q5_k},
                                         ImportanceCase{"q6_K", quantize_row_q6_k}),
                         [](const testing::TestParamInfo<ImportanceCase>& info) { return std::string(info.param.type); });

// ---- hand-built blocks: the layouts as the headers describe them ----

TEST(GgmlLayout, Q4_0KeepsElementJInTheLowNibbleAndJPlus16InTheHighNibble) {
  BlockQ4_0 block{};
  block.d = fp32_to_fp16(0.5f);
  block.qs[3] = 0xA1;  // element 3: q = 1 -> (1 - 8) * 0.5; element 19: q = 10 -> (10 - 8) * 0.5
  float y[32];
  dequantize_row_q4_0(&block, y, 32);
  EXPECT_EQ(y[3], -3.5f);
  EXPECT_EQ(y[19], 1.0f);
  EXPECT_EQ(y[0], -4.0f);  // q = 0
}

TEST(GgmlLayout, Q5_0TakesTheFifthBitFromTheLittleEndianWord) {
  BlockQ5_0 block{};
  block.d = fp32_to_fp16(1.0f);
  for (uint8_t& q : block.qs) q = 0x00;
  block.qh[2] = 0x02;  // bit 17 of the word: element 17 gets q = 16 -> 0
  float y[32];
  dequantize_row_q5_0(&block, y, 32);
  EXPECT_EQ(y[17], 0.0f);
  EXPECT_EQ(y[16], -16.0f);
}

TEST(GgmlLayout, Q3_KSixBitScalesAndHighMask) {
  BlockQ3_K block{};
  block.d = fp32_to_fp16(1.0f);
  // Sub-block 9 (elements 144..159): code = low nibble of byte 1's high half | top bits of byte 9 at
  // bits 4-5. Code 0b10'0101 = 37 -> scale 37 - 32 = 5.
  block.scales[1] = 0x50;
  block.scales[9] = 0x20;
  // Every other sub-block: code 0 -> scale -32. Element 150: half 1, bit plane 0, byte 32 + 22.
  block.qs[32 + 22] = 0x03;           // low bits 3
  block.hmask[22] = 1 << 4;           // high bit set: q = 3
  float y[256];
  dequantize_row_q3_k(&block, y, 256);
  EXPECT_EQ(y[150], 15.0f);  // 5 * 3
  EXPECT_EQ(y[151], 5.0f * -4.0f);
  EXPECT_EQ(y[0], 128.0f);   // -32 * -4
}

TEST(GgmlLayout, Q4_KSixBitScaleAndMinOfTheUpperSubBlocks) {
  BlockQ4_K block{};
  block.d = fp32_to_fp16(1.0f);
  block.dmin = fp32_to_fp16(0.5f);
  // Sub-block 5 (elements 160..191, high nibbles of bytes 64..95): scale code 0b01'0011 = 19
  // (low 4 bits in byte 9's low nibble, top 2 bits in byte 1's top bits), min code 0b10'0001 = 33
  // (low 4 bits in byte 9's high nibble, top 2 bits in byte 5's top bits).
  block.scales[9] = 0x13;
  block.scales[1] = 0x40;
  block.scales[5] = 0x80;
  block.qs[64 + 7] = 0x20;  // element 167: q = 2
  float y[256];
  dequantize_row_q4_k(&block, y, 256);
  EXPECT_EQ(y[167], 19.0f * 2.0f - 0.5f * 33.0f);
  EXPECT_EQ(y[160], -0.5f * 33.0f);
}

TEST(GgmlLayout, Q6_KSplitsLowAndHighBits) {
  BlockQ6_K block{};
  block.d = fp32_to_fp16(1.0f);
  for (int8_t& s : block.scales) s = 1;
  // Element 128 + 96 + 5 = 229: second half, fourth group of 32 -> high nibble of ql[64 + 32 + 5],
  // bits 6-7 of qh[32 + 5]. q + 32 = 0b10'0111 = 39 -> q = 7.
  block.ql[64 + 32 + 5] = 0x70;
  block.qh[32 + 5] = 0x80;
  float y[256];
  dequantize_row_q6_k(&block, y, 256);
  EXPECT_EQ(y[229], 7.0f);
  EXPECT_EQ(y[228], -32.0f);
}

TEST(GgmlLayout, Q8_KBlockSumsAddUpTheQuants) {
  const std::vector<float> x = gaussian(256, 6);
  BlockQ8_K block;
  quantize_row_q8_k(x.data(), &block, 256);
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += block.qs[16 * g + j];
    EXPECT_EQ(block.bsums[g], sum) << "group " << g;
  }
}

}  // namespace test_ggml_roundtrip
}  // namespace lowbit
