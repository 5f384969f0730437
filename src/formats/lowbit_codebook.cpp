#include "formats/lowbit_codebook.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "core/codebooks.h"
#include "formats/bitpack.h"
#include "formats/lowbit_block_common.h"

namespace lowbit {
namespace {

using Scale = LowbitCodebookFormat::Scale;
constexpr size_t kCodeBytes = kLowbitCodebookBlock / 2;  // 4-bit codes of one block

const Codebook& book_of(LowbitCodebookFormat f) {
  return f.book == LowbitCodebookFormat::Book::NF4 ? Codebook::nf4() : Codebook::fp4_e2m1();
}

float absmax_of(const float* x) {
  float m = 0;
  for (int64_t i = 0; i < kLowbitCodebookBlock; ++i) m = std::max(m, std::abs(x[i]));
  return m;
}

// One block's codes for the scale it is reconstructed with, as quantize_codebook chooses them.
void write_codes(const Codebook& book, const float* x, float scale, uint8_t* out) {
  const float inverse = scale == 0.0f ? 0.0f : 1.0f / scale;
  std::array<uint8_t, kLowbitCodebookBlock> codes;
  for (int64_t i = 0; i < kLowbitCodebookBlock; ++i) codes[static_cast<size_t>(i)] = book.nearest_code(x[i] * inverse);
  const std::vector<uint8_t> packed = pack_bits(codes, 4);
  std::copy(packed.begin(), packed.end(), out);
}

void read_codes(const Codebook& book, const uint8_t* in, float scale, float* out) {
  std::array<uint8_t, kLowbitCodebookBlock> codes;
  unpack_bits({in, kCodeBytes}, 4, codes);
  for (size_t i = 0; i < codes.size(); ++i) out[i] = scale * book.value(codes[i]);
}

// quant/double_quant.h's double_quantize for one super-block's absmax values (at most 256, so one
// second-level scale): writes the mean, the second-level scale and the int8 codes, and returns the
// scales they reconstruct.
std::vector<float> double_quantize_into(const std::vector<float>& absmax, uint8_t* out) {
  double sum = 0;
  for (float s : absmax) sum += s;
  const auto mean = static_cast<float>(sum / static_cast<double>(absmax.size()));
  float spread = 0;
  for (float s : absmax) spread = std::max(spread, std::abs(s - mean));
  const float second_level = spread / 127.0f;
  const float inverse = second_level == 0.0f ? 0.0f : 1.0f / second_level;
  store_f32(out, mean);
  store_f32(out + 4, second_level);
  std::vector<float> scales(absmax.size());
  for (size_t b = 0; b < absmax.size(); ++b) {
    const auto code = static_cast<int8_t>(std::clamp(std::nearbyint((absmax[b] - mean) * inverse), -127.0f, 127.0f));
    out[8 + b] = static_cast<uint8_t>(code);
    scales[b] = mean + static_cast<float>(code) * second_level;
  }
  return scales;
}

// The weighted search's candidate scales: absmax times kGridFirst, kGridFirst + kGridStep, ...,
// 1 + kGridStep (shrinking the scale trades clipping the extreme for finer steps near zero); then up to
// kRefitRounds least-squares refits from the best.
constexpr float kGridFirst = 0.6f, kGridStep = 0.02f;
constexpr int kGridSize = 22;
constexpr int kRefitRounds = 3;

float stored_scale(Scale storage, float scale) { return storage == Scale::F16 ? round_scale_to_f16(scale) : scale; }

// Codes nearest x / scale: their values v[0..64) and sum w (x - scale * v)^2 (NaN counts as infinite).
double score_scale(const Codebook& book, const float* x, const float* w, float scale, float* v) {
  const float inverse = scale == 0.0f ? 0.0f : 1.0f / scale;
  double error = 0;
  for (int64_t i = 0; i < kLowbitCodebookBlock; ++i) {
    v[i] = book.value(book.nearest_code(x[i] * inverse));
    const double diff = static_cast<double>(x[i]) - scale * v[i];
    error += w[i] * diff * diff;
  }
  return std::isnan(error) ? std::numeric_limits<double>::infinity() : error;
}

float search_scale(const Codebook& book, const float* x, const float* w, Scale storage) {
  std::array<float, kLowbitCodebookBlock> v;  // code values of the scale being scored
  const float absmax = absmax_of(x);
  float best_scale = stored_scale(storage, absmax);
  double best_error = score_scale(book, x, w, best_scale, v.data());
  // Refits the scale to the code values that `scale` gives, stores and scores it.
  auto try_refit = [&](float scale) {
    score_scale(book, x, w, scale, v.data());
    double svx = 0, svv = 0;
    for (int64_t i = 0; i < kLowbitCodebookBlock; ++i) {
      svx += static_cast<double>(w[i]) * v[i] * x[i];
      svv += static_cast<double>(w[i]) * v[i] * v[i];
    }
    if (!(svv > 0)) return;
    const float refit = stored_scale(storage, static_cast<float>(svx / svv));
    const double error = score_scale(book, x, w, refit, v.data());
    if (error < best_error) {
      best_error = error;
      best_scale = refit;
    }
  };
  for (int k = 0; k < kGridSize; ++k) try_refit(absmax * (kGridFirst + kGridStep * static_cast<float>(k)));
  for (int round = 0; round < kRefitRounds; ++round) {
    const float before = best_scale;
    try_refit(best_scale);
    if (best_scale == before) break;
  }
  return best_scale;
}

}  // namespace

void search_block_lowbit_codebook(LowbitCodebookFormat f, const float* src, const float* w, void* dst) {
  const Codebook& book = book_of(f);
  const float scale = search_scale(book, src, w, f.scale);
  auto* out = static_cast<uint8_t*>(dst);
  if (f.scale == Scale::F16) {
    store_f16(out, scale);
    write_codes(book, src, scale, out + 2);
  } else {
    store_f32(out, scale);
    write_codes(book, src, scale, out + 4);
  }
}

void quantize_row_lowbit_codebook(LowbitCodebookFormat f, const float* src, void* dst, int64_t n) {
  const Codebook& book = book_of(f);
  const int64_t block_size = lowbit_codebook_block_size(f);
  const size_t block_bytes = lowbit_codebook_block_bytes(f);
  auto* out = static_cast<uint8_t*>(dst);
  std::vector<float> x(static_cast<size_t>(block_size));  // [block_size] finite copy of the inputs
  for (int64_t first = 0; first < n; first += block_size, out += block_bytes) {
    std::transform(src + first, src + first + block_size, x.begin(), [](float r) { return std::isfinite(r) ? r : 0.0f; });
    switch (f.scale) {
      case Scale::F32: {
        const float scale = absmax_of(x.data());
        store_f32(out, scale);
        write_codes(book, x.data(), scale, out + 4);
        break;
      }
      case Scale::F16: {
        const float scale = round_scale_to_f16(absmax_of(x.data()));
        store_f16(out, scale);
        write_codes(book, x.data(), scale, out + 2);
        break;
      }
      case Scale::DoubleQuantized: {
        const auto blocks = static_cast<size_t>(f.blocks_per_super_block);
        std::vector<float> absmax(blocks);  // [blocks]
        for (size_t b = 0; b < blocks; ++b) absmax[b] = absmax_of(x.data() + b * kLowbitCodebookBlock);
        const std::vector<float> scales = double_quantize_into(absmax, out);
        uint8_t* codes = out + 8 + blocks;
        for (size_t b = 0; b < blocks; ++b) write_codes(book, x.data() + b * kLowbitCodebookBlock, scales[b], codes + b * kCodeBytes);
        break;
      }
    }
  }
}

void dequantize_row_lowbit_codebook(LowbitCodebookFormat f, const void* src, float* dst, int64_t n) {
  const Codebook& book = book_of(f);
  const int64_t block_size = lowbit_codebook_block_size(f);
  const size_t block_bytes = lowbit_codebook_block_bytes(f);
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t first = 0; first < n; first += block_size, in += block_bytes) {
    switch (f.scale) {
      case Scale::F32:
        read_codes(book, in + 4, load_f32(in), dst + first);
        break;
      case Scale::F16:
        read_codes(book, in + 2, load_f16(in), dst + first);
        break;
      case Scale::DoubleQuantized: {
        const float mean = load_f32(in), second_level = load_f32(in + 4);
        const auto blocks = static_cast<size_t>(f.blocks_per_super_block);
        const uint8_t* codes = in + 8 + blocks;
        for (size_t b = 0; b < blocks; ++b) {
          const float scale = mean + static_cast<float>(static_cast<int8_t>(in[8 + b])) * second_level;
          read_codes(book, codes + b * kCodeBytes, scale, dst + first + static_cast<int64_t>(b) * kLowbitCodebookBlock);
        }
        break;
      }
    }
  }
}

}  // namespace lowbit
