#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/quantized_tensor.h"
#include "quant/scheme.h"

namespace lowbit {
namespace test_scheme {

TEST(QuantScheme, ParsesEveryFieldOfIntegerSchemes) {
  const auto s = std::get<LinearSpec>(parse_quant_scheme("int4-sym-g128-pct99.9").spec);
  EXPECT_EQ(s.bits, 4);
  EXPECT_TRUE(s.symmetric);
  EXPECT_FALSE(s.is_unsigned);
  EXPECT_EQ(s.grouping, (Grouping{Grouping::Kind::Group, 128}));
  EXPECT_EQ(s.scale_precision, ScalePrecision::F16);
  EXPECT_EQ(s.range_method, RangeMethod::Percentile);
  EXPECT_DOUBLE_EQ(s.percentile, 99.9);

  const auto u = std::get<LinearSpec>(parse_quant_scheme("INT3-Asym-U-channel-F32-mse").spec);
  EXPECT_EQ(u.bits, 3);
  EXPECT_FALSE(u.symmetric);
  EXPECT_TRUE(u.is_unsigned);
  EXPECT_EQ(u.grouping.kind, Grouping::Kind::Channel);
  EXPECT_EQ(u.scale_precision, ScalePrecision::F32);
  EXPECT_EQ(u.range_method, RangeMethod::Mse);

  const auto t = std::get<LinearSpec>(parse_quant_scheme("int8-asym-tensor").spec);
  EXPECT_EQ(t.grouping.kind, Grouping::Kind::Tensor);
  EXPECT_EQ(t.range_method, RangeMethod::MinMax);
}

TEST(QuantScheme, ParsesCodeBookAndFp8Schemes) {
  const auto nf4 = std::get<CodebookSpec>(parse_quant_scheme("nf4").spec);
  EXPECT_EQ(nf4.kind, CodebookSpec::Kind::NF4);
  EXPECT_EQ(nf4.grouping, (Grouping{Grouping::Kind::Group, 64}));
  EXPECT_EQ(nf4.scale_precision, ScalePrecision::F32);
  EXPECT_FALSE(nf4.double_quant);
  EXPECT_TRUE(std::get<CodebookSpec>(parse_quant_scheme("nf4-g64-dq").spec).double_quant);
  EXPECT_EQ(std::get<CodebookSpec>(parse_quant_scheme("fp4-g128-f16").spec),
            (CodebookSpec{CodebookSpec::Kind::FP4, 4, {Grouping::Kind::Group, 128}, ScalePrecision::F16, false}));
  EXPECT_EQ(std::get<CodebookSpec>(parse_quant_scheme("log2-4-g32").spec),
            (CodebookSpec{CodebookSpec::Kind::Log2, 4, {Grouping::Kind::Group, 32}, ScalePrecision::F16, false}));
  EXPECT_EQ(std::get<Fp8Spec>(parse_quant_scheme("fp8-e4m3").spec).format, Fp8Spec::Format::E4M3);
  EXPECT_EQ(std::get<Fp8Spec>(parse_quant_scheme("FP8-E5M2").spec).format, Fp8Spec::Format::E5M2);
}

TEST(QuantScheme, CanonicalNamesRoundTrip) {
  EXPECT_EQ(to_string(parse_quant_scheme("int4-asym-g32")), "int4-asym-g32-f16-minmax");
  EXPECT_EQ(to_string(parse_quant_scheme("int4-sym-u-g128-f32-pct99.9")), "int4-sym-u-g128-f32-pct99.9");
  EXPECT_EQ(to_string(parse_quant_scheme("int8-sym-channel-pct100")), "int8-sym-channel-f16-pct100");
  EXPECT_EQ(to_string(parse_quant_scheme("nf4")), "nf4-g64-f32");
  EXPECT_EQ(to_string(parse_quant_scheme("nf4-channel-dq")), "nf4-channel-dq");
  EXPECT_EQ(to_string(parse_quant_scheme("log2-5")), "log2-5-g64-f16");
  EXPECT_EQ(to_string(parse_quant_scheme("fp8-e5m2")), "fp8-e5m2");
  for (const std::string& example : example_schemes()) {
    const QuantScheme scheme = parse_quant_scheme(example);
    EXPECT_EQ(parse_quant_scheme(to_string(scheme)), scheme) << example;
  }
}

TEST(QuantScheme, InvalidSchemesListTheSyntax) {
  for (const char* bad : {"", "int", "int4", "int1-sym-g32", "int9-asym-g32", "int4-sym", "int4-sym-g0", "int4-sym-g-32",
                          "int4-asym-gx", "int4-asym-g32-pct40", "int4-asym-g32-pct", "int4-asym-g32-f8",
                          "int4-asym-g32-mse-f16", "int4-asym-g32-", "nf4-g64-f16-dq", "nf3", "log2", "log2-9",
                          "log2-4-dq", "fp8", "fp8-e3m4", "fp8-e4m3-g32", "q4_0", "int4-asym-g32 "}) {
    try {
      parse_quant_scheme(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(std::string("'") + bad + "'"), std::string::npos) << message;
      EXPECT_NE(message.find(kQuantSchemeSyntax), std::string::npos) << message;
    }
  }
}

std::vector<float> normal_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

QuantError evaluate(const std::string& scheme, const std::vector<float>& values, int64_t rows, int64_t cols) {
  return evaluate_scheme(parse_quant_scheme(scheme), "w", values, rows, cols);
}

TEST(QuantScheme, EvaluatesEveryExample) {
  const int64_t rows = 64, cols = 256;
  const std::vector<float> values = normal_values(rows * cols, 1);
  for (const std::string& example : example_schemes()) {
    const QuantError e = evaluate(example, values, rows, cols);
    EXPECT_GT(e.mse, 0.0) << example;
    EXPECT_NEAR(e.mse, e.clip_mse + e.rounding_mse, 1e-12 * e.mse) << example;
    EXPECT_TRUE(std::isfinite(e.sqnr_db) && e.sqnr_db > 5) << example << " " << e.sqnr_db;
    EXPECT_GT(e.max_abs_error, 0.0) << example;
    EXPECT_GE(e.max_abs_error * e.max_abs_error, e.mse) << example;
  }
}

TEST(QuantScheme, BitsPerWeightCountsEverythingStored) {
  const int64_t rows = 64, cols = 256;
  const auto n = static_cast<double>(rows * cols);
  const std::vector<float> values = normal_values(rows * cols, 2);
  EXPECT_DOUBLE_EQ(evaluate("int4-asym-g32", values, rows, cols).bits_per_weight, 4 + (16 + 4) / 32.0);
  EXPECT_DOUBLE_EQ(evaluate("int4-sym-g32-f32", values, rows, cols).bits_per_weight, 4 + 32 / 32.0);
  EXPECT_DOUBLE_EQ(evaluate("int8-sym-channel", values, rows, cols).bits_per_weight, 8 + 16 / 256.0);
  EXPECT_DOUBLE_EQ(evaluate("int3-asym-tensor-f32", values, rows, cols).bits_per_weight, 3 + (32 + 8 * 1) / n);
  EXPECT_DOUBLE_EQ(evaluate("nf4-g64", values, rows, cols).bits_per_weight, 4.5);
  // 256 blocks of 64: one second-level scale, plus the mean.
  EXPECT_DOUBLE_EQ(evaluate("nf4-g64-dq", values, rows, cols).bits_per_weight, 4 + 8 / 64.0 + (32 + 32) / n);
  EXPECT_DOUBLE_EQ(evaluate("log2-4-g32", values, rows, cols).bits_per_weight, 4 + 16 / 32.0);
  EXPECT_DOUBLE_EQ(evaluate("fp8-e4m3", values, rows, cols).bits_per_weight, 8 + 32 / n);
}

TEST(QuantScheme, AccuracyOrdersAsExpectedOnGaussianWeights) {
  const int64_t rows = 64, cols = 256;
  const std::vector<float> values = normal_values(rows * cols, 3);
  auto sqnr = [&](const char* scheme) { return evaluate(scheme, values, rows, cols).sqnr_db; };
  // Each bit is worth about 6 dB.
  EXPECT_GT(sqnr("int8-asym-g64"), sqnr("int6-asym-g64") + 10);
  EXPECT_GT(sqnr("int6-asym-g64"), sqnr("int4-asym-g64") + 10);
  EXPECT_GT(sqnr("int4-asym-g64"), sqnr("int2-asym-g64") + 10);
  EXPECT_GT(sqnr("int4-asym-g32"), sqnr("int4-asym-channel"));
  EXPECT_GT(sqnr("int3-asym-channel-mse"), sqnr("int3-asym-channel"));
  // NormalFloat is information-theoretically tuned to normal weights (QLoRA): it beats FP4 and int4
  // with the same block absmax scale.
  EXPECT_GT(sqnr("nf4-g64"), sqnr("fp4-g64"));
  EXPECT_GT(sqnr("nf4-g64"), sqnr("int4-sym-g64-f32"));
  EXPECT_GT(sqnr("fp8-e4m3"), sqnr("fp8-e5m2"));
}

TEST(QuantScheme, ErrorsNameTheTensor) {
  std::vector<float> values = normal_values(4 * 172, 4);
  for (const char* scheme : {"int4-asym-g32", "nf4-g64", "log2-4-g64"}) {
    try {
      evaluate_scheme(parse_quant_scheme(scheme), "blk.2.ffn_down.weight", values, 4, 172);
      ADD_FAILURE() << scheme;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("blk.2.ffn_down.weight"), std::string::npos) << e.what();
    }
  }
  values[3] = INFINITY;
  EXPECT_THROW(evaluate_scheme(parse_quant_scheme("fp8-e4m3"), "w", values, 4, 172), Error);
}

TEST(QuantScheme, QuantizedTensorDequantizesToWhatWasMeasured) {
  const std::vector<float> values = normal_values(8 * 128, 5);
  for (const std::string& example : example_schemes()) {
    const QuantizedTensor q = quantize_with_scheme(parse_quant_scheme(example), "w", values, 8, 128);
    const std::vector<float> r = dequantize_tensor(q);
    ASSERT_EQ(r.size(), values.size());
    double squared = 0;
    for (size_t i = 0; i < r.size(); ++i) squared += (values[i] - double{r[i]}) * (values[i] - double{r[i]});
    const QuantError e = measure_quant_error(q, values);
    EXPECT_NEAR(e.mse, squared / static_cast<double>(values.size()), 1e-12) << example;
    EXPECT_EQ(e.bits_per_weight, bits_per_weight(q)) << example;
  }
}

// The token embedding table of stories260K (llama2.c checkpoint: a 7 x int32 header, then the
// {vocab, dim} FP32 table): real weights.
std::vector<float> stories260k_embeddings(int64_t& rows, int64_t& cols) {
  std::ifstream file(LOWBIT_SOURCE_DIR "/testdata/stories260K/stories260K.bin", std::ios::binary);
  int32_t header[7] = {};
  file.read(reinterpret_cast<char*>(header), sizeof(header));
  cols = header[0];
  rows = header[5];
  std::vector<float> table(static_cast<size_t>(rows * cols));
  file.read(reinterpret_cast<char*>(table.data()), static_cast<std::streamsize>(table.size() * sizeof(float)));
  EXPECT_TRUE(file.good());
  return table;
}

TEST(QuantScheme, RealWeights) {
  int64_t rows = 0, cols = 0;
  const std::vector<float> table = stories260k_embeddings(rows, cols);
  ASSERT_EQ(rows, 512);
  ASSERT_EQ(cols, 64);
  auto error = [&](const char* scheme) { return evaluate(scheme, table, rows, cols); };
  EXPECT_GT(error("int8-sym-channel").sqnr_db, 35);
  EXPECT_GT(error("int4-asym-g32").sqnr_db, 15);
  EXPECT_GT(error("int4-asym-g32").sqnr_db, error("int3-asym-g32").sqnr_db);
  EXPECT_GT(error("nf4-g64").sqnr_db, error("fp4-g64").sqnr_db);
  EXPECT_LE(error("int3-asym-g64-mse").mse, error("int3-asym-g64").mse);
  const QuantError clipped = error("int4-sym-tensor-pct99");
  EXPECT_GT(clipped.clip_mse, 0.0);
  EXPECT_EQ(error("int4-sym-tensor").clip_mse, 0.0);
}

}  // namespace test_scheme
}  // namespace lowbit
