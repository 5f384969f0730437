#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/half.h"
#include "kernels/float16_kernels.h"
#include "kernels/matmul.h"
#include "kernels/rows.h"
#include "model/transformer.h"
#include "tiny_model.h"

namespace lowbit {
namespace test_transformer {

using testing::TinyModel;
using testing::tiny_config;

// Textbook Llama forward pass over the whole sequence, in double, written from the equations rather than
// from the engine: logits [n][vocab] for every position.
std::vector<std::vector<double>> reference_logits(const ModelFile& m, const std::vector<int32_t>& tokens) {
  const ModelConfig& c = m.config();
  const auto n = static_cast<int64_t>(tokens.size());
  const int64_t hd = c.head_dim;
  auto matrix = [&](const std::string& name) {
    const TensorView& t = *std::find_if(m.tensors().begin(), m.tensors().end(),
                                        [&](const TensorView& v) { return v.name == name; });
    std::vector<std::vector<double>> rows(static_cast<size_t>(t.rows()), std::vector<double>(t.cols()));
    std::vector<float> row(static_cast<size_t>(t.cols()));
    for (int64_t r = 0; r < t.rows(); ++r) {
      dequantize_row(t, r, row.data());
      rows[r].assign(row.begin(), row.end());
    }
    return rows;
  };
  auto vec = [&](const std::string& name) { return matrix(name)[0]; };
  // The engine's products may round the activations to BF16 (kernels/float16_kernels.h); so does this.
  const bool round_to_bf16 = std::any_of(m.tensors().begin(), m.tensors().end(), [](const TensorView& t) {
    return matmul_rounds_activations_to_bf16(t.type, active_cpu_level());
  });
  auto apply = [&](const std::vector<std::vector<double>>& w, std::vector<double> x) {
    if (round_to_bf16) {
      for (double& v : x) v = bf16_to_fp32(fp32_to_bf16(static_cast<float>(v)));
    }
    std::vector<double> y(w.size(), 0.0);
    for (size_t r = 0; r < w.size(); ++r)
      for (size_t i = 0; i < x.size(); ++i) y[r] += w[r][i] * x[i];
    return y;
  };
  auto norm = [&](const std::vector<double>& x, const std::vector<double>& w) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const double s = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + c.norm_eps);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * s * w[i];
    return y;
  };
  auto rope = [&](std::vector<double>& v, int64_t heads, int64_t pos) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < hd / 2; ++i) {
        const double angle = static_cast<double>(pos) * std::pow(static_cast<double>(c.rope_theta), -2.0 * i / hd);
        const int64_t a = h * hd + (c.rope_style == RopeStyle::kInterleaved ? 2 * i : i);
        const int64_t b = a + (c.rope_style == RopeStyle::kInterleaved ? 1 : hd / 2);
        const double va = v[a], vb = v[b];
        v[a] = va * std::cos(angle) - vb * std::sin(angle);
        v[b] = va * std::sin(angle) + vb * std::cos(angle);
      }
    }
  };

  const auto embd = matrix("token_embd.weight");
  std::vector<std::vector<double>> x;
  for (int32_t t : tokens) x.push_back(embd[t]);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    std::vector<std::vector<double>> q(n), k(n), v(n);
    for (int64_t t = 0; t < n; ++t) {
      const auto h = norm(x[t], vec(p + "attn_norm.weight"));
      q[t] = apply(matrix(p + "attn_q.weight"), h);
      k[t] = apply(matrix(p + "attn_k.weight"), h);
      v[t] = apply(matrix(p + "attn_v.weight"), h);
      if (c.qkv_bias) {
        for (size_t i = 0; i < q[t].size(); ++i) q[t][i] += vec(p + "attn_q.bias")[i];
        for (size_t i = 0; i < k[t].size(); ++i) k[t][i] += vec(p + "attn_k.bias")[i];
        for (size_t i = 0; i < v[t].size(); ++i) v[t][i] += vec(p + "attn_v.bias")[i];
      }
      rope(q[t], c.n_heads, t);
      rope(k[t], c.n_kv_heads, t);
    }
    for (int64_t t = 0; t < n; ++t) {
      std::vector<double> mixed(c.n_heads * hd, 0.0);
      for (int64_t h = 0; h < c.n_heads; ++h) {
        const int64_t kvh = h * c.n_kv_heads / c.n_heads;
        std::vector<double> w(t + 1);
        double max_s = -1e300, sum = 0;
        for (int64_t s = 0; s <= t; ++s) {
          w[s] = 0;
          for (int64_t i = 0; i < hd; ++i) w[s] += q[t][h * hd + i] * k[s][kvh * hd + i];
          w[s] /= std::sqrt(static_cast<double>(hd));
          max_s = std::max(max_s, w[s]);
        }
        for (double& e : w) sum += (e = std::exp(e - max_s));
        for (int64_t s = 0; s <= t; ++s)
          for (int64_t i = 0; i < hd; ++i) mixed[h * hd + i] += w[s] / sum * v[s][kvh * hd + i];
      }
      const auto o = apply(matrix(p + "attn_output.weight"), mixed);
      for (int64_t i = 0; i < c.dim; ++i) x[t][i] += o[i];
      const auto h = norm(x[t], vec(p + "ffn_norm.weight"));
      auto g = apply(matrix(p + "ffn_gate.weight"), h);
      const auto u = apply(matrix(p + "ffn_up.weight"), h);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
      const auto d = apply(matrix(p + "ffn_down.weight"), g);
      for (int64_t i = 0; i < c.dim; ++i) x[t][i] += d[i];
    }
  }
  const auto out = matrix(c.tied_embeddings ? "token_embd.weight" : "output.weight");
  std::vector<std::vector<double>> logits;
  for (int64_t t = 0; t < n; ++t) logits.push_back(apply(out, norm(x[t], vec("output_norm.weight"))));
  return logits;
}

struct Variant {
  std::string name;
  RopeStyle rope = RopeStyle::kInterleaved;
  bool tied = false;
  bool bias = false;
  TensorType type = TensorType::F32;
};

class TransformerTest : public ::testing::TestWithParam<Variant> {
 protected:
  ModelConfig config() const {
    ModelConfig c = tiny_config();
    c.rope_style = GetParam().rope;
    c.tied_embeddings = GetParam().tied;
    c.qkv_bias = GetParam().bias;
    return c;
  }
  const std::vector<int32_t> tokens_ = {1, 5, 9, 2, 2, 10, 0, 3, 7, 4, 6, 8, 1, 5};
};

TEST_P(TransformerTest, PrefillMatchesIndependentReference) {
  TinyModel model(config(), 11, GetParam().type);
  Transformer engine(model);
  std::span<const float> logits = engine.forward(tokens_, LogitsFor::kAllTokens);
  const auto expected = reference_logits(model, tokens_);
  const int64_t vocab = model.config().vocab_size;
  ASSERT_EQ(logits.size(), tokens_.size() * vocab);
  for (size_t t = 0; t < tokens_.size(); ++t)
    for (int64_t i = 0; i < vocab; ++i) EXPECT_NEAR(logits[t * vocab + i], expected[t][i], 1e-4) << t << "," << i;
  EXPECT_EQ(engine.position(), static_cast<int64_t>(tokens_.size()));
}

TEST_P(TransformerTest, DecodeOneByOneMatchesPrefill) {
  TinyModel model(config(), 3, GetParam().type);
  Transformer engine(model);
  const std::vector<float> prefill = [&] {
    std::span<const float> l = engine.forward(tokens_, LogitsFor::kAllTokens);
    return std::vector<float>(l.begin(), l.end());
  }();
  engine.reset();
  const int64_t vocab = model.config().vocab_size;
  for (size_t t = 0; t < tokens_.size(); ++t) {
    std::span<const float> step = engine.forward(std::span(&tokens_[t], 1));
    for (int64_t i = 0; i < vocab; ++i) ASSERT_NEAR(step[i], prefill[t * vocab + i], 1e-4) << t << "," << i;
  }
  // Two uneven batches land on the same last logits as well.
  engine.reset();
  engine.forward(std::span(tokens_).first(5));
  std::span<const float> last = engine.forward(std::span(tokens_).subspan(5));
  for (int64_t i = 0; i < vocab; ++i) EXPECT_NEAR(last[i], prefill[(tokens_.size() - 1) * vocab + i], 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Variants, TransformerTest,
                         ::testing::Values(Variant{"interleaved"}, Variant{"rotate_half", RopeStyle::kRotateHalf},
                                           Variant{"tied_bias", RopeStyle::kRotateHalf, true, true},
                                           Variant{"f16", RopeStyle::kInterleaved, false, false, TensorType::F16},
                                           Variant{"bf16_tied", RopeStyle::kInterleaved, true, false, TensorType::BF16}),
                         [](const auto& info) { return info.param.name; });

// Big enough that attention and the products split across the pool's threads: prefill from
// kMinParallelWork, decode from kMinParallelDecodeWork (attention's later steps included).
TEST(Transformer, ThreadedSizesMatchReferenceAndDecode) {
  ModelConfig c = tiny_config();
  c.dim = 256;
  c.hidden_dim = 512;
  c.n_layers = 1;
  c.n_heads = 16;
  c.n_kv_heads = 4;
  c.head_dim = 64;
  c.vocab_size = 300;
  c.context_length = 256;
  TinyModel model(c, 5);
  std::vector<int32_t> tokens;
  for (int i = 0; i < 200; ++i) tokens.push_back((i * 37 + 11) % 300);
  ASSERT_GE(int64_t{200} * 16 * 200 * 64, kMinParallelWork);       // attention of the prefill
  ASSERT_GE(int64_t{16} * 200 * 64 * 2, kMinParallelDecodeWork);  // attention of the last decode steps

  Transformer engine(model);
  std::span<const float> logits = engine.forward(tokens, LogitsFor::kAllTokens);
  const auto expected = reference_logits(model, tokens);
  double scale = 0.0;
  for (const auto& row : expected)
    for (double v : row) scale = std::max(scale, std::fabs(v));
  // F32 rounding against the double reference: OpenBLAS picks its sgemm kernel (and summation order) by
  // CPU; the worst seen is 1.0e-5 * scale (an Intel Sapphire Rapids-class VM).
  for (size_t t = 0; t < tokens.size(); ++t)
    for (int64_t i = 0; i < c.vocab_size; ++i) ASSERT_NEAR(logits[t * c.vocab_size + i], expected[t][i], 2e-5 * scale);

  const std::vector<float> prefill(logits.begin(), logits.end());
  engine.reset();
  for (size_t t = 0; t < tokens.size(); ++t) {
    std::span<const float> step = engine.forward(std::span(&tokens[t], 1));
    // Logits reach ~30 here; sgemm and the per-row dot sum 512 products in different orders.
    for (int64_t i = 0; i < c.vocab_size; ++i) ASSERT_NEAR(step[i], prefill[t * c.vocab_size + i], 3e-5 * scale);
  }
}

TEST(Transformer, RejectsBadTokensAndContextOverflow) {
  TinyModel model(tiny_config());
  Transformer engine(model, 4);
  EXPECT_EQ(engine.context(), 4);
  const std::vector<int32_t> bad = {11};
  EXPECT_THROW(engine.forward(bad), Error);
  const std::vector<int32_t> negative = {-1};
  EXPECT_THROW(engine.forward(negative), Error);
  const std::vector<int32_t> five = {1, 2, 3, 4, 5};
  EXPECT_THROW(engine.forward(five), Error);
  EXPECT_NO_THROW(engine.forward(std::span(five).first(4)));
  EXPECT_THROW(engine.forward(std::span(five).first(1)), Error);
  EXPECT_THROW(Transformer(model, 41), Error);
}

TEST(Transformer, MissingOrMisshapenTensorNamesIt) {
  TinyModel model(tiny_config());
  model.remove("blk.1.ffn_up.weight");
  try {
    Transformer engine(model);
    FAIL() << "expected lowbit::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.1.ffn_up.weight"), std::string::npos) << e.what();
  }
  ModelConfig wrong = tiny_config();
  wrong.hidden_dim = 25;  // the tensors were made for 24
  struct Relabelled : TinyModel {
    Relabelled(const ModelConfig& made, const ModelConfig& claimed) : TinyModel(made) { config_ = claimed; }
  } relabelled(tiny_config(), wrong);
  EXPECT_THROW(Transformer engine(relabelled), Error);
}

TEST(Transformer, RejectsInconsistentConfig) {
  ModelConfig c = tiny_config();
  c.n_kv_heads = 3;
  struct Relabelled : TinyModel {
    explicit Relabelled(const ModelConfig& claimed) : TinyModel(tiny_config()) { config_ = claimed; }
  } model(c);
  EXPECT_THROW(Transformer engine(model), Error);
}

}  // namespace test_transformer
}  // namespace lowbit
