// SHA-256 against the FIPS 180-4 / NIST CAVP example vectors.
#include <gtest/gtest.h>

#include <string>

#include "core/sha256.h"

namespace lowbit {
namespace test_sha256 {

std::string hash_of(const std::string& text) { return sha256_hex(text.data(), text.size()); }

TEST(Sha256, EmptyMessage) {
  EXPECT_EQ(hash_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, OneBlockMessage) {
  EXPECT_EQ(hash_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlockMessage) {
  EXPECT_EQ(hash_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, FourBlockMessage) {
  EXPECT_EQ(hash_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                    "mnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, MillionAsFedInUnevenPieces) {
  // The same message in chunks that straddle block boundaries must give the one-shot digest.
  const std::string a_million(1000000, 'a');
  Sha256 hasher;
  size_t fed = 0;
  for (size_t piece = 1; fed < a_million.size(); piece = piece * 3 % 97 + 1) {
    const size_t take = std::min(piece, a_million.size() - fed);
    hasher.update(a_million.data() + fed, take);
    fed += take;
  }
  const std::string expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
  EXPECT_EQ(to_hex(hasher.finish()), expected);
  EXPECT_EQ(hash_of(a_million), expected);
}

TEST(Sha256, MessagesAroundThePaddingBoundary) {
  // 55 bytes fit the length in the same block; 56..63 need a second block. Published digests of
  // runs of 'a' (as printed by coreutils sha256sum).
  EXPECT_EQ(hash_of(std::string(55, 'a')), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(hash_of(std::string(56, 'a')), "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(hash_of(std::string(64, 'a')), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

}  // namespace test_sha256
}  // namespace lowbit
