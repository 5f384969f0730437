// The reference log-probabilities file of `lowbit eval perplexity --save-logits`, read back by --kld-base
// to compare another model (usually a quantized one) on exactly the same tokens.
//
// Layout, little-endian, version 1:
//   char    magic[8] = "LBLOGPRB"
//   uint32  version = 1
//   uint32  vocab_size
//   uint32  ctx                 tokens per chunk
//   uint32  n_chunks
//   uint32  n_scored            scored predictions per chunk (ctx - ctx/2 - 1)
//   int32   tokens[n_chunks][ctx]                 the chunks as evaluated (first token = BOS)
//   float32 log_probs[n_chunks][n_scored][vocab]  log-softmax at the scored positions
// FP32 keeps the comparison exact; the price is 4 * vocab bytes per scored token.
#pragma once

#include <cstdint>
#include <fstream>
#include <span>
#include <string>

#include "core/mapped_file.h"

namespace lowbit {

inline constexpr char kLogitsFileMagic[8] = {'L', 'B', 'L', 'O', 'G', 'P', 'R', 'B'};
inline constexpr uint32_t kLogitsFileVersion = 1;

struct LogitsFileHeader {
  uint32_t vocab_size = 0;
  uint32_t ctx = 0;
  uint32_t n_chunks = 0;
  uint32_t n_scored = 0;
};

class LogitsFileWriter {
 public:
  // Creates `path` and writes the header and the chunks' tokens ([n_chunks][ctx]).
  LogitsFileWriter(const std::string& path, int64_t vocab_size, int64_t ctx, std::span<const int32_t> chunks);
  // Appends one chunk's log-probabilities [n_scored][vocab]; chunks come in order.
  void append_chunk(std::span<const float> log_probs);
  // Flushes and closes; throws lowbit::Error when fewer chunks than announced were written or the disk failed.
  void finish();

 private:
  std::string path_;
  std::ofstream out_;
  LogitsFileHeader header_;
  uint32_t chunks_written_ = 0;
};

class LogitsFileReader {
 public:
  // Maps and checks the file: magic, version, sizes, and a length that matches the header exactly.
  explicit LogitsFileReader(const std::string& path);

  const LogitsFileHeader& header() const { return header_; }
  std::span<const int32_t> tokens() const { return tokens_; }  // [n_chunks][ctx]
  std::span<const float> chunk(int64_t index) const;           // [n_scored][vocab]

  // Throws lowbit::Error explaining the difference unless this file scored the same chunks of the same
  // tokens with the same vocabulary size.
  void check_matches(int64_t vocab_size, int64_t ctx, std::span<const int32_t> chunks) const;

 private:
  MappedFile file_;
  LogitsFileHeader header_;
  std::span<const int32_t> tokens_;
  std::span<const float> log_probs_;
};

}  // namespace lowbit
