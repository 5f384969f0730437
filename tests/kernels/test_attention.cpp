// The batch attention's matrix products against the scalar reference run one token at a time.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernel_test_data.h"
#include "kernels/attention.h"
#include "kernels/vector_ops.h"

namespace lowbit {
namespace test_attention {

struct Case {
  int64_t tokens, heads, head_dim, first_position;
};

// Queries and outputs inside wider rows (the other KV heads' query heads), keys and values inside wider
// cache rows; tokens from one to more than a block, at the start of the context and after earlier ones.
TEST(AttendCausalTokens, MatchesTheReferenceTokenByToken) {
  for (Case c : {Case{1, 1, 1, 0}, Case{2, 1, 7, 0}, Case{3, 3, 33, 5}, Case{17, 8, 64, 0}, Case{33, 8, 64, 100},
                 Case{5, 4, 128, 300}}) {
    SCOPED_TRACE(::testing::Message() << c.tokens << " tokens, " << c.heads << " heads of " << c.head_dim
                                      << " after " << c.first_position);
    const int64_t row_stride = c.heads * c.head_dim + 9, kv_stride = c.head_dim + 3;
    const int64_t positions = c.first_position + c.tokens;
    std::mt19937 rng(7);
    const std::vector<float> queries = random_values(c.tokens * row_stride, rng);
    const std::vector<float> keys = random_values(positions * kv_stride, rng);
    const std::vector<float> values = random_values(positions * kv_stride, rng);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    std::vector<float> got(queries.size(), 5.0f), want(queries.size(), 5.0f);  // the gaps stay 5
    std::vector<float> scratch;
    attend_causal_tokens(queries.data(), row_stride, c.tokens, c.heads, keys.data(), values.data(), kv_stride,
                         c.first_position, c.head_dim, scale, scratch, got.data());
    std::vector<float> scores(static_cast<size_t>(c.heads * positions));
    for (int64_t t = 0; t < c.tokens; ++t) {
      vector_ops_scalar().attend_heads(queries.data() + t * row_stride, c.heads, keys.data(), values.data(), kv_stride,
                                       c.first_position + t + 1, c.head_dim, scale, scores.data(),
                                       want.data() + t * row_stride);
    }
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-5f * (1.0f + std::fabs(want[i]))) << "at " << i;
    }
  }
}

}  // namespace test_attention
}  // namespace lowbit
