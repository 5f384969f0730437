#include "tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "core/error.h"
#include "tokenizer/piece_lookup.h"
#include "tokenizer/utf8.h"

namespace lowbit {
namespace {

std::unique_ptr<sentencepiece::SentencePieceProcessor> load_processor(const std::string& path) {
  auto processor = std::make_unique<sentencepiece::SentencePieceProcessor>();
  const auto status = processor->Load(path);
  if (!status.ok()) throw_error("{}: cannot load the SentencePiece model: {}", path, status.ToString());
  return processor;
}

TokenType token_type(const sentencepiece::SentencePieceProcessor& processor, int id) {
  if (processor.IsControl(id)) return TokenType::kControl;
  if (processor.IsUnknown(id)) return TokenType::kUnknown;
  if (processor.IsUnused(id)) return TokenType::kUnused;
  if (processor.IsByte(id)) return TokenType::kByte;
  return TokenType::kNormal;
}

// The vocabulary the tokenizer works with: the model's own, with the caller's BOS/EOS settings.
Vocab checked_vocab(const Vocab& given) {
  Vocab vocab = read_sentencepiece_vocab(given.sentencepiece_model_path);
  if (!given.tokens.empty() && given.tokens != vocab.tokens) {
    throw_error("{}: the vocabulary given does not match the SentencePiece model's {} pieces",
                given.sentencepiece_model_path, vocab.tokens.size());
  }
  if (given.tokens.empty()) return vocab;
  const int64_t n = static_cast<int64_t>(vocab.tokens.size());
  for (const int32_t id : {given.bos_id, given.eos_id}) {
    if (id < -1 || id >= n) throw_error("{}: special token id {} is out of range", given.sentencepiece_model_path, id);
  }
  vocab.bos_id = given.bos_id;
  vocab.eos_id = given.eos_id;
  vocab.add_bos = given.add_bos;
  vocab.add_eos = given.add_eos;
  return vocab;
}

}  // namespace

Vocab read_sentencepiece_vocab(const std::string& model_path) {
  const auto processor = load_processor(model_path);
  Vocab vocab;
  vocab.model = "sentencepiece";
  vocab.sentencepiece_model_path = model_path;
  const int n = processor->GetPieceSize();
  for (int id = 0; id < n; ++id) {
    vocab.tokens.push_back(processor->IdToPiece(id));
    vocab.scores.push_back(processor->GetScore(id));
    vocab.token_types.push_back(token_type(*processor, id));
  }
  vocab.bos_id = processor->bos_id();
  vocab.eos_id = processor->eos_id();
  vocab.unk_id = processor->unk_id();
  vocab.pad_id = processor->pad_id();
  return vocab;
}

SentencePieceTokenizer::SentencePieceTokenizer(const Vocab& vocab)
    : processor_(load_processor(vocab.sentencepiece_model_path)), vocab_(checked_vocab(vocab)), specials_(vocab_) {
  // libsentencepiece 0.1.97 does not expose the normalizer settings, so ask the model: does "a" come
  // out with a leading space?
  std::vector<int> ids;
  if (processor_->Encode("a", &ids).ok()) {
    std::string text;
    for (const int id : ids) text += piece_text(id);
    adds_dummy_prefix_ = text.starts_with(' ');
  }
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> ids;
  if (add_special && vocab_.add_bos && vocab_.bos_id >= 0) ids.push_back(vocab_.bos_id);
  for (const TextFragment& fragment : specials_.split(text, parse_special)) {
    if (fragment.token >= 0) {
      ids.push_back(fragment.token);
      continue;
    }
    std::vector<int> fragment_ids;
    const auto status = processor_->Encode(fragment.text, &fragment_ids);
    if (!status.ok()) throw_error("{}: SentencePiece encoding failed: {}", vocab_.sentencepiece_model_path, status.ToString());
    ids.insert(ids.end(), fragment_ids.begin(), fragment_ids.end());
  }
  if (add_special && vocab_.add_eos && vocab_.eos_id >= 0) ids.push_back(vocab_.eos_id);
  return ids;
}

std::string SentencePieceTokenizer::piece_text(int32_t id) const {
  const std::string& piece = vocab_.tokens[id];
  switch (vocab_.token_types[id]) {
    case TokenType::kControl:
      return "";
    case TokenType::kByte:
      if (auto byte = parse_byte_piece(piece)) return std::string(1, static_cast<char>(*byte));
      return piece;
    default:
      return markers_to_spaces(piece);
  }
}

std::string SentencePieceTokenizer::decode_token(int32_t previous, int32_t id) const {
  if (id < 0 || id >= vocab_size()) throw_error("token id {} is out of range [0, {})", id, vocab_size());
  std::string text = piece_text(id);
  // The dummy prefix is not part of the text: drop it at the start and after BOS.
  const bool at_start = previous < 0 || previous == vocab_.bos_id;
  if (adds_dummy_prefix_ && at_start && vocab_.token_types[id] != TokenType::kByte && text.starts_with(' ')) {
    text.erase(0, 1);
  }
  return text;
}

}  // namespace lowbit
