// llama2.c checkpoint -> ModelFile, with the tokenizer.bin the user names or that lies beside it.
#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "io/llama2c.h"
#include "io/model_loaders.h"
#include "io/vocab_readers.h"

namespace lowbit {
namespace {

// tokenizer.bin beside the checkpoint, else the first tok*.bin (llama2.c names custom vocabularies
// tok<N>.bin); empty when there is none.
std::string find_tokenizer_beside(const std::string& checkpoint) {
  const std::filesystem::path folder = std::filesystem::path(checkpoint).parent_path();
  const std::filesystem::path dir = folder.empty() ? std::filesystem::path(".") : folder;
  if (std::filesystem::is_regular_file(dir / "tokenizer.bin")) return (dir / "tokenizer.bin").string();
  std::vector<std::string> candidates;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.starts_with("tok") && name.ends_with(".bin")) candidates.push_back(entry.path().string());
  }
  std::sort(candidates.begin(), candidates.end());
  return candidates.empty() ? std::string() : candidates.front();
}

}  // namespace

std::unique_ptr<LoadedModel> load_llama2c_model(const std::string& path, const std::string& tokenizer_path) {
  auto map = std::make_shared<MappedFile>(path);
  Llama2cCheckpoint checkpoint;
  try {
    checkpoint = parse_llama2c_checkpoint(map->bytes(), path);
  } catch (const Error& e) {
    // Anything that is neither GGUF nor a folder ends up here: say why it was read this way.
    throw_error("{} (not a GGUF file or folder, so read as a llama2.c checkpoint)", e.what());
  }
  auto model = std::make_unique<LoadedModel>(path, "llama2c");
  model->mutable_config() = checkpoint.config;
  for (TensorView& view : checkpoint.tensors) model->add_tensor(std::move(view));
  model->keep_alive(std::move(map));

  const std::string tokenizer = tokenizer_path.empty() ? find_tokenizer_beside(path) : tokenizer_path;
  if (!tokenizer.empty()) model->mutable_vocab() = read_llama2c_tokenizer(tokenizer, checkpoint.config.vocab_size);
  return model;
}

}  // namespace lowbit
