// Hugging Face tokenizers: tokenizer.json (a BPE model) or a SentencePiece tokenizer.model, plus the
// BOS/EOS settings of tokenizer_config.json / special_tokens_map.json.
//
// Supported tokenizer.json: model BPE (byte_fallback allowed, no dropout, no subword prefix/suffix),
// no pre-tokenizer, normalizer empty or Prepend('▁') / Replace(' ' -> '▁') (in that order). That is
// SentencePiece-style BPE driven by merge ranks, so it becomes a "llama" vocabulary with merges. Any
// other configuration is rejected with an error naming the part that is not supported.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/text_file.h"
#include "io/vocab_readers.h"
#include "tokenizer/piece_lookup.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/utf8.h"

namespace lowbit {
namespace {

using nlohmann::json;

bool is_null_or_empty_string(const json& value) {
  return value.is_null() || (value.is_string() && value.get<std::string>().empty());
}

// Returns whether the normalizer prepends '▁' (SentencePiece's dummy prefix).
bool check_normalizer(const json& normalizer, const std::string& name) {
  if (normalizer.is_null()) return false;
  std::vector<json> steps;
  if (normalizer.at("type") == "Sequence") {
    for (const json& step : normalizer.at("normalizers")) steps.push_back(step);
  } else {
    steps.push_back(normalizer);
  }
  bool prepends = false;
  bool replaces = false;
  for (const json& step : steps) {
    const std::string type = step.at("type").get<std::string>();
    if (type == "Prepend" && step.at("prepend") == kSpaceMarker && !prepends && !replaces) {
      prepends = true;
    } else if (type == "Replace" && step.at("pattern").contains("String") && step.at("pattern").at("String") == " " &&
               step.at("content") == kSpaceMarker && !replaces) {
      replaces = true;
    } else {
      throw_error("{}: normalizer step {} is not supported (only Prepend \"▁\" then Replace \" \" -> \"▁\")", name,
                  step.dump());
    }
  }
  if (!replaces && prepends) throw_error("{}: a normalizer that prepends \"▁\" must also replace spaces by \"▁\"", name);
  return prepends;
}

void check_bpe_options(const json& model, const std::string& name) {
  if (model.at("type") != "BPE") {
    throw_error("{}: tokenizer model type {} is not supported (only BPE)", name, model.at("type").dump());
  }
  if (model.contains("dropout") && !model.at("dropout").is_null() && model.at("dropout").get<double>() != 0.0) {
    throw_error("{}: BPE dropout is not supported", name);
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !is_null_or_empty_string(model.at(key))) {
      throw_error("{}: BPE {} is not supported", name, key);
    }
  }
  if (model.value("ignore_merges", false)) throw_error("{}: BPE ignore_merges is not supported", name);
}

// A token id as the file writes it; anything but an integer (4.4e64, "3") is an error.
int64_t token_id(const json& value, const std::string& name) {
  if (!value.is_number_integer()) throw_error("{}: token id {} is not an integer", name, value.dump());
  return value.get<int64_t>();
}

// Pieces by id from the model's vocab and the added tokens. Every id in [0, n) must be given once.
std::vector<std::string> read_pieces(const json& model_vocab, const json& added_tokens, const std::string& name) {
  const size_t available = model_vocab.size() + (added_tokens.is_array() ? added_tokens.size() : 0);
  if (!model_vocab.is_object()) throw_error("{}: model.vocab is not an object of piece -> id", name);
  std::vector<std::optional<std::string>> by_id;
  const auto place = [&](int64_t id, const std::string& piece) {
    if (id < 0 || static_cast<uint64_t>(id) >= available) {
      throw_error("{}: token \"{}\" has id {}, outside the {} ids the file defines", name, piece, id, available);
    }
    if (by_id.size() <= static_cast<size_t>(id)) by_id.resize(static_cast<size_t>(id) + 1);
    if (by_id[id] && *by_id[id] != piece) {
      throw_error("{}: id {} is both \"{}\" and \"{}\"", name, id, *by_id[id], piece);
    }
    by_id[id] = piece;
  };
  for (const auto& [piece, id] : model_vocab.items()) place(token_id(id, name), piece);
  if (added_tokens.is_array()) {
    for (const json& added : added_tokens) place(token_id(added.at("id"), name), added.at("content").get<std::string>());
  }
  std::vector<std::string> pieces;
  pieces.reserve(by_id.size());
  for (size_t id = 0; id < by_id.size(); ++id) {
    if (!by_id[id]) throw_error("{}: no token has id {} (ids must be 0..{} without gaps)", name, id, by_id.size() - 1);
    pieces.push_back(std::move(*by_id[id]));
  }
  return pieces;
}

std::vector<std::string> read_merges(const json& merges, const std::string& name) {
  std::vector<std::string> result;
  if (merges.is_null()) return result;
  result.reserve(merges.size());
  for (const json& merge : merges) {
    if (merge.is_string()) {
      result.push_back(merge.get<std::string>());
      continue;
    }
    // Newer files list a merge as ["left", "right"].
    const bool is_pair = merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string();
    const std::string left = is_pair ? merge[0].get<std::string>() : "";
    const std::string right = is_pair ? merge[1].get<std::string>() : "";
    if (!is_pair || left.find(' ') != std::string::npos || right.find(' ') != std::string::npos) {
      throw_error("{}: merge {} is not a pair of pieces without spaces", name, merge.dump());
    }
    result.push_back(left + " " + right);
  }
  return result;
}

int32_t find_piece(const Vocab& vocab, const std::string& piece, const std::string& name) {
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    if (vocab.tokens[id] == piece) return static_cast<int32_t>(id);
  }
  throw_error("{}: special token \"{}\" is not in the vocabulary", name, piece);
}

// BOS/EOS from a TemplateProcessing post-processor: special tokens before / after the sequence.
void read_post_processor(const json& processor, Vocab& vocab, const std::string& name) {
  vocab.add_bos = false;
  vocab.add_eos = false;
  if (processor.is_null()) return;
  if (processor.at("type") != "TemplateProcessing") {
    throw_error("{}: post-processor {} is not supported (only TemplateProcessing)", name, processor.at("type").dump());
  }
  const json& single = processor.at("single");
  const auto special_at = [&](size_t index) -> const json* {
    const json& item = single.at(index);
    return item.contains("SpecialToken") ? &item.at("SpecialToken") : nullptr;
  };
  if (single.empty()) return;
  if (const json* first = special_at(0)) {
    vocab.bos_id = find_piece(vocab, first->at("id").get<std::string>(), name);
    vocab.add_bos = true;
  }
  if (const json* last = single.size() > 1 ? special_at(single.size() - 1) : nullptr) {
    vocab.eos_id = find_piece(vocab, last->at("id").get<std::string>(), name);
    vocab.add_eos = true;
  }
}

Vocab parse_tokenizer_json(const json& root, const std::string& name) {
  if (!root.is_object()) throw_error("{}: not a tokenizer.json object", name);
  const json& model = root.at("model");
  check_bpe_options(model, name);
  if (root.contains("pre_tokenizer") && !root.at("pre_tokenizer").is_null()) {
    throw_error("{}: pre-tokenizer {} is not supported (only none)", name, root.at("pre_tokenizer").at("type").dump());
  }

  Vocab vocab;
  vocab.model = "llama";
  const json no_added_tokens;
  const json& added_tokens = root.contains("added_tokens") ? root.at("added_tokens") : no_added_tokens;
  vocab.tokens = read_pieces(model.at("vocab"), added_tokens, name);
  vocab.merges = read_merges(model.contains("merges") ? model.at("merges") : json(), name);
  if (vocab.merges.empty()) throw_error("{}: the BPE model has no merges", name);
  vocab.add_space_prefix = check_normalizer(root.contains("normalizer") ? root.at("normalizer") : json(), name);

  const bool byte_fallback = model.value("byte_fallback", false);
  vocab.token_types.assign(vocab.tokens.size(), TokenType::kNormal);
  for (size_t id = 0; id < vocab.tokens.size(); ++id) {
    if (byte_fallback && parse_byte_piece(vocab.tokens[id])) vocab.token_types[id] = TokenType::kByte;
  }
  if (added_tokens.is_array()) {
    for (const json& added : added_tokens) {
      const bool special = added.value("special", false);
      vocab.token_types[token_id(added.at("id"), name)] = special ? TokenType::kControl : TokenType::kUserDefined;
    }
  }
  if (model.contains("unk_token") && !model.at("unk_token").is_null()) {
    vocab.unk_id = find_piece(vocab, model.at("unk_token").get<std::string>(), name);
    vocab.token_types[vocab.unk_id] = TokenType::kUnknown;
  }
  read_post_processor(root.contains("post_processor") ? root.at("post_processor") : json(), vocab, name);
  return vocab;
}

json parse_json_file(const std::filesystem::path& path) {
  try {
    return json::parse(read_text_file(path.string()));
  } catch (const json::exception& e) {
    throw_error("{}: {}", path.string(), e.what());
  }
}

// "bos_token": "<s>" or {"content": "<s>", ...}
std::optional<std::string> special_token_text(const json& config, const char* key) {
  if (!config.contains(key)) return std::nullopt;
  const json& value = config.at(key);
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value.at("content").is_string()) {
    return value.at("content").get<std::string>();
  }
  return std::nullopt;
}

// tokenizer_config.json (and special_tokens_map.json for what it lacks) say which tokens BOS/EOS are
// and whether they are added.
void apply_tokenizer_config(const std::filesystem::path& folder, Vocab& vocab) {
  for (const char* file_name : {"special_tokens_map.json", "tokenizer_config.json"}) {
    const std::filesystem::path path = folder / file_name;
    if (!std::filesystem::exists(path)) continue;
    const json config = parse_json_file(path);
    if (!config.is_object()) throw_error("{}: not a JSON object", path.string());
    try {
      if (auto bos = special_token_text(config, "bos_token")) vocab.bos_id = find_piece(vocab, *bos, path.string());
      if (auto eos = special_token_text(config, "eos_token")) vocab.eos_id = find_piece(vocab, *eos, path.string());
      if (config.contains("add_bos_token") && config.at("add_bos_token").is_boolean()) {
        vocab.add_bos = config.at("add_bos_token").get<bool>();
      }
      if (config.contains("add_eos_token") && config.at("add_eos_token").is_boolean()) {
        vocab.add_eos = config.at("add_eos_token").get<bool>();
      }
    } catch (const json::exception& e) {
      throw_error("{}: {}", path.string(), e.what());
    }
  }
}

}  // namespace

Vocab parse_hf_tokenizer_json(const std::string& text, const std::string& name) {
  try {
    return parse_tokenizer_json(json::parse(text), name);
  } catch (const json::exception& e) {
    throw_error("{}: {}", name, e.what());
  }
}

Vocab read_hf_tokenizer(const std::string& folder) {
  const std::filesystem::path dir(folder);
  Vocab vocab;
  if (std::filesystem::exists(dir / "tokenizer.json")) {
    const std::filesystem::path path = dir / "tokenizer.json";
    vocab = parse_hf_tokenizer_json(read_text_file(path.string()), path.string());
  } else if (std::filesystem::exists(dir / "tokenizer.model")) {
    vocab = read_sentencepiece_vocab((dir / "tokenizer.model").string());
  } else {
    throw_error("{}: no tokenizer.json or tokenizer.model in the folder", folder);
  }
  apply_tokenizer_config(dir, vocab);
  return vocab;
}

}  // namespace lowbit
