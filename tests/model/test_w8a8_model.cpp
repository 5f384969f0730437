// stories260K with its matrices as lb_w8_row (per-channel int8, RTN) against F32: W8A8 with dynamic
// per-token activations, static per-tensor activations (scales from an abs-max pass over the
// calibration text, as "<matrix>.act_scale" tensors) and int8 weights alone (--act-quant none).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/lowbit_w8_row.h"
#include "io/model_file.h"
#include "model/transformer.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {
namespace test_w8a8_model {

const std::string kData = LOWBIT_SOURCE_DIR "/testdata/";

std::vector<int32_t> text_tokens(const ModelFile& model, const std::string& file, size_t count) {
  std::ifstream in(kData + "text/" + file);
  std::ostringstream text;
  text << in.rdbuf();
  std::vector<int32_t> tokens = Tokenizer::create(model.vocab())->encode(text.str(), /*add_special=*/true);
  tokens.resize(std::min(tokens.size(), count));
  return tokens;
}

// Static int8 scale of every matrix: max |input| / 127 over the tokens, from the F32 model.
std::map<std::string, float> absmax_act_scales(const ModelFile& model, const std::vector<int32_t>& tokens) {
  std::map<std::string, float> absmax;
  Transformer engine(model, static_cast<int64_t>(tokens.size()));
  engine.set_linear_input_hook([&](int64_t layer, LinearSite site, const float* x, int64_t n, int64_t cols) {
    float m = 0.0f;
    for (int64_t i = 0; i < n * cols; ++i) m = std::max(m, std::abs(x[i]));
    const std::string blk = fmt::format("blk.{}.", layer);
    std::vector<std::string> readers;
    switch (site) {
      case LinearSite::kAttnIn: readers = {blk + "attn_q", blk + "attn_k", blk + "attn_v"}; break;
      case LinearSite::kAttnOutIn: readers = {blk + "attn_output"}; break;
      case LinearSite::kFfnIn: readers = {blk + "ffn_gate", blk + "ffn_up"}; break;
      case LinearSite::kFfnDownIn: readers = {blk + "ffn_down"}; break;
      case LinearSite::kOutputIn: readers = {"output"}; break;
    }
    for (const std::string& name : readers) absmax[name + ".weight"] = std::max(absmax[name + ".weight"], m);
  });
  engine.forward(tokens, LogitsFor::kAllTokens);
  for (auto& [name, value] : absmax) value /= 127.0f;
  return absmax;
}

// The source's matrices whose rows are whole 64-element blocks as lb_w8_row (stories260K's ffn_down,
// 172 columns, stays F32; so does token_embd, which is looked up, not multiplied); with act scales,
// each quantized matrix also gets its "<name>.act_scale" tensor.
class W8A8Model : public ModelFile {
 public:
  W8A8Model(const ModelFile& source, const std::map<std::string, float>& act_scales) {
    path_ = source.path() + (act_scales.empty() ? " as lb_w8_row" : " as lb_w8_row with act_scale");
    format_ = "memory";
    config_ = source.config();
    vocab_ = source.vocab();
    for (const TensorView& t : source.tensors()) {
      if (t.shape.size() != 2 || t.name == "token_embd.weight" || t.cols() % kW8RowBlock != 0) {
        add_tensor(t);  // a view into `source`, which outlives this model
        continue;
      }
      std::vector<uint8_t> bytes(static_cast<size_t>(t.rows() * t.cols() / kW8RowBlock) * sizeof(BlockW8Row));
      for (int64_t r = 0; r < t.rows(); ++r) {
        quantize_row_w8_row(static_cast<const float*>(t.data) + r * t.cols(),
                            bytes.data() + static_cast<size_t>(r * t.cols() / kW8RowBlock) * sizeof(BlockW8Row), t.cols());
      }
      add_owned(TensorView{t.name, kW8RowType, t.shape, nullptr, 0}, std::move(bytes));
      if (const auto scale = act_scales.find(t.name); scale != act_scales.end()) {
        std::vector<uint8_t> value(sizeof(float));
        std::memcpy(value.data(), &scale->second, sizeof(float));
        const std::string base = t.name.substr(0, t.name.size() - std::string(".weight").size());
        add_owned(TensorView{base + ".act_scale", TensorType::F32, {1}, nullptr, 0}, std::move(value));
      }
    }
  }

 private:
  void add_owned(TensorView view, std::vector<uint8_t> bytes) {
    view.data = bytes.data();
    view.bytes = bytes.size();
    owned_buffers_.push_back(std::move(bytes));  // the heap block (and so view.data) survives the move
    add_tensor(std::move(view));
  }
};

std::vector<float> logits_of(const ModelFile& model, const std::vector<int32_t>& tokens, std::optional<ActQuant> mode) {
  Transformer engine(model, static_cast<int64_t>(tokens.size()));
  engine.set_act_quant(mode);
  const std::span<const float> logits = engine.forward(tokens, LogitsFor::kAllTokens);
  return {logits.begin(), logits.end()};
}

struct Agreement {
  double mean_kl = 0;     // KL(F32 || quantized) over the positions
  double top1 = 0;        // fraction of positions with the same most likely token
  double ppl_ratio = 0;   // perplexity of the next tokens, quantized / F32
};

Agreement compare(const std::vector<float>& base, const std::vector<float>& other, const std::vector<int32_t>& tokens,
                  int64_t vocab) {
  Agreement a;
  double nll_base = 0, nll_other = 0;
  const auto positions = static_cast<int64_t>(tokens.size());
  auto log_softmax = [vocab](const float* z) {
    std::vector<double> out(z, z + vocab);
    const double m = *std::max_element(out.begin(), out.end());
    double sum = 0;
    for (double v : out) sum += std::exp(v - m);
    for (double& v : out) v -= m + std::log(sum);
    return out;
  };
  for (int64_t p = 0; p < positions; ++p) {
    const std::vector<double> lp = log_softmax(base.data() + p * vocab), lq = log_softmax(other.data() + p * vocab);
    for (int64_t i = 0; i < vocab; ++i) a.mean_kl += std::exp(lp[i]) * (lp[i] - lq[i]);
    a.top1 += std::max_element(lp.begin(), lp.end()) - lp.begin() == std::max_element(lq.begin(), lq.end()) - lq.begin();
    if (p + 1 < positions) {
      nll_base -= lp[tokens[p + 1]];
      nll_other -= lq[tokens[p + 1]];
    }
  }
  a.mean_kl /= static_cast<double>(positions);
  a.top1 /= static_cast<double>(positions);
  a.ppl_ratio = std::exp((nll_other - nll_base) / static_cast<double>(positions - 1));
  return a;
}

class W8A8Stories : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    f32_ = open_model(kData + "stories260K/stories260K.gguf").release();
    eval_ = text_tokens(*f32_, "tinystories_valid_eval.txt", 160);
    const std::map<std::string, float> scales = absmax_act_scales(*f32_, text_tokens(*f32_, "tinystories_valid_calib.txt", 256));
    w8_dynamic_ = new W8A8Model(*f32_, {});
    w8_static_ = new W8A8Model(*f32_, scales);
    base_ = logits_of(*f32_, eval_, std::nullopt);
  }
  static void TearDownTestSuite() {
    delete w8_static_;
    delete w8_dynamic_;
    delete f32_;
  }

  static Agreement against_f32(const ModelFile& model, std::optional<ActQuant> mode) {
    const Agreement a = compare(base_, logits_of(model, eval_, mode), eval_, f32_->config().vocab_size);
    std::printf("%s, %s: mean KL %.5f, top-1 %.3f, PPL ratio %.4f\n", model.path().c_str(),
                mode ? act_quant_name(*mode) : "default", a.mean_kl, a.top1, a.ppl_ratio);
    return a;
  }

  static inline ModelFile* f32_ = nullptr;
  static inline ModelFile* w8_dynamic_ = nullptr;
  static inline ModelFile* w8_static_ = nullptr;
  static inline std::vector<int32_t> eval_;
  static inline std::vector<float> base_;
};

TEST_F(W8A8Stories, EveryActivationModeStaysCloseToF32) {
  for (auto [model, mode] : {std::pair<const ModelFile*, std::optional<ActQuant>>{w8_dynamic_, std::nullopt},
                             {w8_static_, std::nullopt},
                             {w8_static_, ActQuant::kDynamic},
                             {w8_static_, ActQuant::kNone}}) {
    const Agreement a = against_f32(*model, mode);
    EXPECT_LT(a.mean_kl, 0.01);
    EXPECT_GT(a.top1, 0.9);
    EXPECT_LT(std::abs(a.ppl_ratio - 1.0), 0.02);
  }
}

TEST_F(W8A8Stories, TheFileChoosesStaticWhenItHasScalesAndTheOptionOverrides) {
  const std::vector<float> by_file = logits_of(*w8_static_, eval_, std::nullopt);
  EXPECT_EQ(by_file, logits_of(*w8_static_, eval_, ActQuant::kStatic));
  EXPECT_NE(by_file, logits_of(*w8_static_, eval_, ActQuant::kDynamic));
  EXPECT_EQ(logits_of(*w8_dynamic_, eval_, std::nullopt), logits_of(*w8_static_, eval_, ActQuant::kDynamic));
  Transformer engine(*w8_dynamic_, 8);
  EXPECT_THROW(engine.set_act_quant(ActQuant::kStatic), Error);
}

}  // namespace test_w8a8_model
}  // namespace lowbit
