#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "eval/kld.h"
#include "eval/logits_file.h"
#include "eval/perplexity.h"
#include "../model/tiny_model.h"

namespace lowbit {
namespace test_kld {

class KldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("lowbit_kld_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".logits"))
                .string();
    for (int i = 0; i < 200; ++i) text_.push_back(static_cast<int32_t>((i * 7 + i / 3) % 11));
    chunks_ = make_chunks(text_, 1, kCtx, 0);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  // Runs perplexity on `model`, saving the log-probabilities to path_.
  PerplexityResult save_base(const ModelFile& model) {
    Transformer engine(model, kCtx);
    LogitsFileWriter writer(path_, model.config().vocab_size, kCtx, chunks_);
    PerplexityResult r =
        evaluate_perplexity(engine, chunks_, kCtx, [&](const ScoredChunk& c) { writer.append_chunk(c.log_probs); });
    writer.finish();
    return r;
  }

  // Runs perplexity on `model` against the saved base.
  std::pair<PerplexityResult, KldResult> compare(const ModelFile& model) {
    LogitsFileReader base(path_);
    base.check_matches(model.config().vocab_size, kCtx, chunks_);
    KldAccumulator kld(model.config().vocab_size);
    Transformer engine(model, kCtx);
    PerplexityResult r = evaluate_perplexity(engine, chunks_, kCtx, [&](const ScoredChunk& c) {
      kld.add(base.chunk(c.index), c.log_probs, c.targets);
    });
    return {r, kld.result()};
  }

  static constexpr int64_t kCtx = 16;
  std::string path_;
  std::vector<int32_t> text_, chunks_;
};

TEST_F(KldTest, ModelAgainstItselfHasZeroDivergence) {
  testing::TinyModel model(testing::tiny_config(), 21);
  const PerplexityResult base = save_base(model);
  const auto [r, kld] = compare(model);
  EXPECT_EQ(kld.positions, base.tokens_scored);
  EXPECT_EQ(kld.positions, 12 * 7);  // 12 chunks of 16, 7 scored each
  EXPECT_NEAR(kld.mean, 0.0, 1e-9);
  EXPECT_NEAR(kld.max, 0.0, 1e-9);
  EXPECT_EQ(kld.top1_agreement, 1.0);
  EXPECT_NEAR(kld.base_ppl, base.ppl, 1e-9);
  EXPECT_NEAR(kld.ppl, r.ppl, 1e-9);
  EXPECT_NEAR(kld.delta_ppl(), 0.0, 1e-9);
}

TEST_F(KldTest, DifferentModelDiverges) {
  testing::TinyModel base_model(testing::tiny_config(), 21);
  testing::TinyModel other(testing::tiny_config(), 22);
  const PerplexityResult base = save_base(base_model);
  const auto [r, kld] = compare(other);
  EXPECT_GT(kld.mean, 0.01);
  EXPECT_LE(kld.median, kld.p99);
  EXPECT_LE(kld.p99, kld.max);
  EXPECT_LT(kld.top1_agreement, 1.0);
  EXPECT_NEAR(kld.base_ppl, base.ppl, 1e-9);
  EXPECT_NEAR(kld.ppl, r.ppl, 1e-9);
}

TEST_F(KldTest, MismatchedRunsAreClearErrors) {
  testing::TinyModel model(testing::tiny_config(), 21);
  save_base(model);
  LogitsFileReader base(path_);
  EXPECT_THROW(base.check_matches(12, kCtx, chunks_), Error);  // vocabulary
  EXPECT_THROW(base.check_matches(11, 8, make_chunks(text_, 1, 8, 0)), Error);  // ctx
  EXPECT_THROW(base.check_matches(11, kCtx, make_chunks(text_, 1, kCtx, 5)), Error);  // chunk count
  std::vector<int32_t> other_text = text_;
  other_text[40] = (other_text[40] + 1) % 11;
  try {
    base.check_matches(11, kCtx, make_chunks(other_text, 1, kCtx, 0));
    FAIL() << "expected lowbit::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token 40"), std::string::npos) << e.what();
  }
}

TEST_F(KldTest, DamagedFilesAreRejected) {
  testing::TinyModel model(testing::tiny_config(), 21);
  save_base(model);
  const auto size = std::filesystem::file_size(path_);
  std::filesystem::resize_file(path_, size - 4);  // truncated
  EXPECT_THROW(LogitsFileReader{path_}, Error);
  {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << "GGUF and something else entirely";
  }
  EXPECT_THROW(LogitsFileReader{path_}, Error);
  {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(kLogitsFileMagic, 8);
    // version, vocab, ctx, chunks, scored per chunk (consistent with ctx = 2^32 - 1)
    const uint32_t header[5] = {1, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x7fffffffu};
    out.write(reinterpret_cast<const char*>(header), sizeof(header));
  }
  EXPECT_THROW(LogitsFileReader{path_}, Error);  // huge counts, tiny file: no overflow, no allocation
}

TEST_F(KldTest, WriterChecksTheChunkCount) {
  LogitsFileWriter writer(path_, 11, kCtx, chunks_);
  EXPECT_THROW(writer.append_chunk(std::vector<float>(3)), Error);
  EXPECT_THROW(writer.finish(), Error);
}

TEST(KldAccumulator, KnownDivergence) {
  // base (1/2, 1/2) vs model (1/4, 3/4): KL = 1/2 ln 2 + 1/2 ln(2/3)
  KldAccumulator kld(2);
  const std::vector<float> base = {std::log(0.5f), std::log(0.5f)};
  const std::vector<float> model = {std::log(0.25f), std::log(0.75f)};
  kld.add(base, model, std::vector<int32_t>{1});
  const KldResult r = kld.result();
  EXPECT_NEAR(r.mean, 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0), 1e-6);
  EXPECT_NEAR(r.base_ppl, 2.0, 1e-6);
  EXPECT_NEAR(r.ppl, 4.0 / 3.0, 1e-6);
  EXPECT_EQ(r.top1_agreement, 0.0);  // the base's first maximum is token 0, the model's is token 1
}

}  // namespace test_kld
}  // namespace lowbit
