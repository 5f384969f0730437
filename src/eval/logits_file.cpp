#include "eval/logits_file.h"

#include <cstring>
#include <limits>

#include "core/error.h"
#include "eval/perplexity.h"

namespace lowbit {
namespace {

constexpr size_t kHeaderBytes = sizeof(kLogitsFileMagic) + 5 * sizeof(uint32_t);

uint32_t read_u32(const uint8_t* p) {
  uint32_t value;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

void write_u32(std::ofstream& out, uint32_t value) { out.write(reinterpret_cast<const char*>(&value), sizeof(value)); }

uint32_t checked_u32(int64_t value, const char* what, const std::string& path) {
  if (value <= 0 || value > std::numeric_limits<uint32_t>::max()) throw_error("{}: {} {} out of range", path, what, value);
  return static_cast<uint32_t>(value);
}

}  // namespace

LogitsFileWriter::LogitsFileWriter(const std::string& path, int64_t vocab_size, int64_t ctx,
                                   std::span<const int32_t> chunks)
    : path_(path), out_(path, std::ios::binary | std::ios::trunc) {
  if (!out_) throw_error("{}: cannot create the logits file", path);
  if (ctx < 3 || chunks.size() % static_cast<size_t>(ctx) != 0) {
    throw_error("{}: {} tokens are not whole chunks of {}", path, chunks.size(), ctx);
  }
  header_ = {checked_u32(vocab_size, "vocab size", path), checked_u32(ctx, "ctx", path),
             checked_u32(static_cast<int64_t>(chunks.size()) / ctx, "chunk count", path),
             static_cast<uint32_t>(scored_per_chunk(ctx))};
  out_.write(kLogitsFileMagic, sizeof(kLogitsFileMagic));
  for (uint32_t v : {kLogitsFileVersion, header_.vocab_size, header_.ctx, header_.n_chunks, header_.n_scored}) {
    write_u32(out_, v);
  }
  out_.write(reinterpret_cast<const char*>(chunks.data()), static_cast<std::streamsize>(chunks.size_bytes()));
}

void LogitsFileWriter::append_chunk(std::span<const float> log_probs) {
  if (chunks_written_ == header_.n_chunks) throw_error("{}: more chunks than the {} announced", path_, header_.n_chunks);
  if (log_probs.size() != static_cast<size_t>(header_.n_scored) * header_.vocab_size) {
    throw_error("{}: a chunk has {} log-probabilities, expected {} x {}", path_, log_probs.size(), header_.n_scored,
                header_.vocab_size);
  }
  out_.write(reinterpret_cast<const char*>(log_probs.data()), static_cast<std::streamsize>(log_probs.size_bytes()));
  ++chunks_written_;
}

void LogitsFileWriter::finish() {
  if (chunks_written_ != header_.n_chunks) {
    throw_error("{}: only {} of {} chunks were written", path_, chunks_written_, header_.n_chunks);
  }
  out_.close();
  if (!out_) throw_error("{}: writing the logits file failed", path_);
}

LogitsFileReader::LogitsFileReader(const std::string& path) : file_(path) {
  const uint8_t* data = file_.data();
  if (file_.size() < kHeaderBytes || std::memcmp(data, kLogitsFileMagic, sizeof(kLogitsFileMagic)) != 0) {
    throw_error("{}: not a lowbit logits file (written by `lowbit eval perplexity --save-logits`)", path);
  }
  const uint8_t* fields = data + sizeof(kLogitsFileMagic);
  const uint32_t version = read_u32(fields);
  if (version != kLogitsFileVersion) {
    throw_error("{}: logits file version {}, this build reads version {}", path, version, kLogitsFileVersion);
  }
  header_ = {read_u32(fields + 4), read_u32(fields + 8), read_u32(fields + 12), read_u32(fields + 16)};
  if (header_.vocab_size == 0 || header_.ctx < 3 || header_.n_chunks == 0 ||
      header_.n_scored != scored_per_chunk(header_.ctx)) {
    throw_error("{}: inconsistent header (vocab {}, ctx {}, chunks {}, scored per chunk {})", path, header_.vocab_size,
                header_.ctx, header_.n_chunks, header_.n_scored);
  }
  // Each count is below 2^32, so the products below fit in unsigned __int128 without overflow.
  using u128 = unsigned __int128;
  const u128 n_tokens = u128{header_.n_chunks} * header_.ctx;
  const u128 n_floats = u128{header_.n_chunks} * header_.n_scored * header_.vocab_size;
  const u128 expected = kHeaderBytes + n_tokens * sizeof(int32_t) + n_floats * sizeof(float);
  if (expected != file_.size()) {
    throw_error("{}: file holds {} bytes, its header describes {}", path, file_.size(), static_cast<uint64_t>(expected));
  }
  // The map is page-aligned and every section starts at a multiple of 4 bytes.
  tokens_ = {reinterpret_cast<const int32_t*>(data + kHeaderBytes), static_cast<size_t>(n_tokens)};
  log_probs_ = {reinterpret_cast<const float*>(data + kHeaderBytes + tokens_.size_bytes()), static_cast<size_t>(n_floats)};
}

std::span<const float> LogitsFileReader::chunk(int64_t index) const {
  if (index < 0 || index >= header_.n_chunks) {
    throw_error("{}: chunk {} out of range ({} chunks)", file_.path(), index, header_.n_chunks);
  }
  const size_t per_chunk = static_cast<size_t>(header_.n_scored) * header_.vocab_size;
  return log_probs_.subspan(static_cast<size_t>(index) * per_chunk, per_chunk);
}

void LogitsFileReader::check_matches(int64_t vocab_size, int64_t ctx, std::span<const int32_t> chunks) const {
  const std::string& path = file_.path();
  if (vocab_size != header_.vocab_size) {
    throw_error("{}: base model has a vocabulary of {}, this model {}", path, header_.vocab_size, vocab_size);
  }
  if (ctx != header_.ctx) throw_error("{}: base run used --ctx {}, this run {}", path, header_.ctx, ctx);
  if (chunks.size() != tokens_.size()) {
    throw_error("{}: base run scored {} chunks, this run {} (check --chunks and the text)", path, header_.n_chunks,
                chunks.size() / static_cast<size_t>(ctx));
  }
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (chunks[i] != tokens_[i]) {
      throw_error("{}: token {} differs from the base run ({} vs {}): different text or tokenizer", path, i, tokens_[i],
                  chunks[i]);
    }
  }
}

}  // namespace lowbit
