// Internal to io/: one loader per model format, each filling a ModelFile that open_model then checks
// against the shapes its config implies.
#pragma once

#include <memory>
#include <string>

#include "io/model_file.h"

namespace lowbit {

// The ModelFile the loaders fill in; its setters exist only for them.
class LoadedModel : public ModelFile {
 public:
  LoadedModel(std::string path, std::string format) {
    path_ = std::move(path);
    format_ = std::move(format);
  }
  ModelConfig& mutable_config() { return config_; }
  Vocab& mutable_vocab() { return vocab_; }
  void keep_alive(std::shared_ptr<MappedFile> map) { maps_.push_back(std::move(map)); }
  using ModelFile::add_tensor;
};

std::unique_ptr<LoadedModel> load_gguf_model(const std::string& path);
// tokenizer_path empty: tokenizer.bin or tok*.bin beside the checkpoint, if any.
std::unique_ptr<LoadedModel> load_llama2c_model(const std::string& path, const std::string& tokenizer_path);
std::unique_ptr<LoadedModel> load_hf_model(const std::string& folder);

// The tensors `config` implies, with their shapes (outermost-first), in model order.
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensor_shapes(const ModelConfig& config);

}  // namespace lowbit
