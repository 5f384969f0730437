// llama2.c tokenizer.bin. llama2.c's export script wrote SentencePiece's pieces with '▁' replaced by a
// plain space and BOS/EOS spelled "\n<s>\n" / "\n</s>\n"; the reader undoes both, so the result is the
// same vocabulary GGUF stores and runs through the same "llama" tokenizer. The file holds no token
// types: llama2.c fixes unk = 0, BOS = 1, EOS = 2, and byte pieces are recognised by their <0xXX> text.
#include "core/error.h"
#include "core/mapped_file.h"
#include "io/byte_reader.h"
#include "io/vocab_readers.h"
#include "tokenizer/piece_lookup.h"
#include "tokenizer/utf8.h"

namespace lowbit {
namespace {

constexpr int32_t kUnknownId = 0;
constexpr int32_t kBosId = 1;
constexpr int32_t kEosId = 2;

}  // namespace

Vocab read_llama2c_tokenizer(const std::string& path, int64_t vocab_size) {
  const MappedFile file(path);
  // Each token takes at least 8 bytes (score and length), which bounds what a bad vocab_size can allocate.
  if (vocab_size <= kEosId || static_cast<uint64_t>(vocab_size) > file.size() / 8) {
    throw_error("{}: vocab_size {} from the checkpoint does not fit this {}-byte tokenizer file", path, vocab_size,
                file.size());
  }
  ByteReader reader(file.bytes(), path);
  const int32_t max_token_length = reader.read<int32_t>("max_token_length");
  if (max_token_length <= 0) throw_error("{}: max_token_length {} is not positive", path, max_token_length);

  Vocab vocab;
  vocab.model = "llama";
  vocab.tokens.reserve(static_cast<size_t>(vocab_size));
  vocab.scores.reserve(static_cast<size_t>(vocab_size));
  vocab.token_types.reserve(static_cast<size_t>(vocab_size));
  for (int64_t id = 0; id < vocab_size; ++id) {
    const float score = reader.read<float>("token score");
    const int32_t length = reader.read<int32_t>("token length");
    if (length < 0) throw_error("{}: token {} has negative length {}", path, id, length);
    const std::string_view stored = reader.read_bytes(static_cast<uint64_t>(length), "token text");

    TokenType type = TokenType::kNormal;
    std::string piece;
    if (id == kUnknownId) {
      type = TokenType::kUnknown;
      piece = stored;
    } else if (id == kBosId || id == kEosId) {
      type = TokenType::kControl;
      piece = stored == "\n<s>\n" ? "<s>" : stored == "\n</s>\n" ? "</s>" : std::string(stored);
    } else if (parse_byte_piece(stored)) {
      type = TokenType::kByte;
      piece = stored;
    } else {
      piece = spaces_to_markers(stored);
    }
    vocab.tokens.push_back(std::move(piece));
    vocab.scores.push_back(score);
    vocab.token_types.push_back(type);
  }
  if (reader.remaining() != 0) {
    throw_error("{}: {} bytes follow the {} tokens the checkpoint declares (wrong vocab_size?)", path,
                reader.remaining(), vocab_size);
  }
  vocab.unk_id = kUnknownId;
  vocab.bos_id = kBosId;
  vocab.eos_id = kEosId;
  vocab.add_bos = true;
  vocab.add_space_prefix = true;
  return vocab;
}

}  // namespace lowbit
