// Perplexity of the real stories260K model on the evaluation text, against llama.cpp's own run:
// testdata/ggml/perplexity.json (llama-perplexity -c 128 -b 128 on the F32 stories260K.gguf;
// "running_ppl" holds its printed value after every chunk, 4 decimals).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "eval/perplexity.h"
#include "io/model_file.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {
namespace test_stories_perplexity {

const std::string kData = LOWBIT_SOURCE_DIR "/testdata/";

// The eval text as llama-perplexity reads it: whole, less one trailing newline.
std::string eval_text() {
  std::ifstream in(kData + "text/tinystories_valid_eval.txt", std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  s.pop_back();
  return s;
}

TEST(Stories260KPerplexity, MatchesLlamaCpp) {
  const auto model = open_model(kData + "stories260K/stories260K.gguf");
  const auto tokenizer = Tokenizer::create(model->vocab());
  const std::vector<int32_t> tokens = tokenizer->encode(eval_text(), /*add_special=*/true);
  // perplexity.json "text": 148642 tokens as llama-perplexity tokenized the file.
  EXPECT_EQ(tokens.size(), 148642u);

  Transformer engine(*model, 128);
  const PerplexityResult r = evaluate_perplexity(engine, make_chunks(tokens, tokenizer->bos_id(), 128, 0), 128);
  // perplexity.json runs[0]: n_chunks 1161, tokens_scored 73143, "PPL = 5.9341 +/- 0.05570".
  EXPECT_EQ(r.chunks, 1161);
  EXPECT_EQ(r.tokens_scored, 73143);
  EXPECT_NEAR(r.ppl, 5.9341, 2e-4);
  EXPECT_NEAR(r.ppl_error, 0.05570, 1e-5);
  // runs[0].running_ppl[7], [31] and [63] (after chunks 8, 32, 64). llama.cpp kept its KV cache in F16,
  // which moves the early running values by up to ~1e-3; the gap shrinks as chunks add up.
  ASSERT_EQ(r.running_ppl.size(), 1161u);
  EXPECT_NEAR(r.running_ppl[7], 4.2876, 1.5e-3);
  EXPECT_NEAR(r.running_ppl[31], 4.0436, 3e-4);
  EXPECT_NEAR(r.running_ppl[63], 3.8698, 3e-4);
}

}  // namespace test_stories_perplexity
}  // namespace lowbit
