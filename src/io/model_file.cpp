#include "io/model_file.h"

#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/process_memory.h"
#include "core/thread_pool.h"
#include "formats/type_traits.h"
#include "io/model_loaders.h"

namespace lowbit {
namespace {

// Kernels load floats and FP16 block scales straight from tensor data; a file that leaves a tensor
// less aligned than this (safetensors' header length is arbitrary, GGUF may declare alignment 1) has
// that tensor copied.
constexpr uintptr_t kMinDataAlignment = 8;

std::string shape_string(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

bool starts_with_gguf_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_error("{}: cannot open", path);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

// "<matrix>.act_scale" of shape [1]: a matrix's static int8 activation scale (SmoothQuant W8A8,
// kernels/w8a8_matmul.h), the only tensor a file may hold besides those its config implies.
bool is_activation_scale(const std::vector<std::pair<std::string, std::vector<int64_t>>>& expected,
                         const TensorView& view) {
  constexpr std::string_view kSuffix = ".act_scale";
  if (!view.name.ends_with(kSuffix) || view.shape != std::vector<int64_t>{1}) return false;
  const std::string matrix = view.name.substr(0, view.name.size() - kSuffix.size()) + ".weight";
  return std::any_of(expected.begin(), expected.end(),
                     [&](const auto& e) { return e.first == matrix && e.second.size() == 2; });
}

// Every tensor the config implies exists with that shape, and nothing else is there but activation scales.
void check_tensors(const ModelFile& model) {
  const auto expected = expected_tensor_shapes(model.config());
  for (const auto& [name, shape] : expected) {
    const TensorView* view = model.find_tensor(name);
    if (view == nullptr) throw_error("{}: tensor {} is missing", model.path(), name);
    if (view->shape != shape) {
      throw_error("{}: tensor {} has shape {}, but the model's config implies {}", model.path(), name,
                  shape_string(view->shape), shape_string(shape));
    }
  }
  if (model.tensors().size() != expected.size()) {
    for (const TensorView& view : model.tensors()) {
      const bool known = std::any_of(expected.begin(), expected.end(), [&](const auto& e) { return e.first == view.name; });
      if (!known && !is_activation_scale(expected, view)) {
        throw_error("{}: unexpected tensor {} for a {} model", model.path(), view.name, model.config().architecture);
      }
    }
  }
  const auto vocab_tokens = static_cast<int64_t>(model.vocab().tokens.size());
  if (vocab_tokens > model.config().vocab_size) {
    throw_error("{}: the vocabulary has {} tokens but the embedding only {} rows", model.path(), vocab_tokens,
                model.config().vocab_size);
  }
}

}  // namespace

const TensorView* ModelFile::find_tensor(const std::string& name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorView& ModelFile::tensor(const std::string& name) const {
  const TensorView* view = find_tensor(name);
  if (view == nullptr) throw_error("{}: tensor {} is missing", path_, name);
  return *view;
}

void ModelFile::add_tensor(TensorView view) {
  if (tensor_index_.count(view.name) != 0) throw_error("{}: tensor {} appears twice", path_, view.name);
  if (reinterpret_cast<uintptr_t>(view.data) % kMinDataAlignment != 0) {
    const auto* bytes = static_cast<const uint8_t*>(view.data);
    owned_buffers_.emplace_back(bytes, bytes + view.bytes);  // operator new memory is 16-byte aligned
    view.data = owned_buffers_.back().data();
  }
  tensor_index_.emplace(view.name, tensors_.size());
  tensors_.push_back(std::move(view));
}

bool ModelFile::load_weights_into_memory() {
  constexpr size_t kAlignment = 64;
  // Where each tensor goes in the buffer, and where its bytes are read from: a mapped file (by pread)
  // or memory the model owns.
  struct Copy {
    TensorView* tensor;
    size_t offset;
    const MappedFile* map;  // null: copy from tensor->data
    size_t file_offset;
  };
  std::vector<Copy> copies;
  size_t total = 0;
  for (TensorView& tensor : tensors_) {
    if (tensor.bytes == 0) continue;
    total = (total + kAlignment - 1) / kAlignment * kAlignment;
    Copy copy{&tensor, total, nullptr, 0};
    const auto* data = static_cast<const uint8_t*>(tensor.data);
    for (const auto& map : maps_) {
      if (data >= map->data() && data + tensor.bytes <= map->data() + map->size()) {
        copy.map = map.get();
        copy.file_offset = static_cast<size_t>(data - map->data());
        break;
      }
    }
    copies.push_back(copy);
    total += tensor.bytes;
  }
  if (copies.empty()) return true;
  // MemAvailable unknown (0): load, as a machine without the estimate gives no reason not to.
  const uint64_t available = available_memory_bytes();
  if (available > 0 && total > available / 10 * 9) return false;
  auto memory = std::make_unique<HugePageBuffer>(total);
  const MappedFile* open_map = nullptr;
  int fd = -1;
  const auto close_file = [&] {
    if (fd >= 0) ::close(fd);
    fd = -1;
  };
  for (const Copy& copy : copies) {
    uint8_t* dst = memory->data() + copy.offset;
    if (copy.map == nullptr) {
      std::memcpy(dst, copy.tensor->data, copy.tensor->bytes);
      continue;
    }
    const std::string& path = copy.map->path();
    if (copy.map != open_map) {
      close_file();
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw_error("{}: cannot open: {}", path, std::strerror(errno));
      open_map = copy.map;
    }
    for (size_t done = 0; done < copy.tensor->bytes;) {
      const ssize_t got = ::pread(fd, dst + done, copy.tensor->bytes - done, static_cast<off_t>(copy.file_offset + done));
      if (got <= 0) {
        const int err = got < 0 ? errno : 0;
        close_file();
        throw_error("{}: cannot read tensor {}: {}", path, copy.tensor->name,
                    err != 0 ? std::strerror(err) : "the file ends early");
      }
      done += static_cast<size_t>(got);
    }
  }
  close_file();
  for (const Copy& copy : copies) copy.tensor->data = memory->data() + copy.offset;
  owned_buffers_.clear();
  loaded_weights_ = std::move(memory);
  return true;
}

void ModelFile::relayout_loaded_weights(const std::function<const LayoutConversion*(const TensorView&)>& choose) {
  if (!loaded_weights_) return;
  std::vector<uint8_t> original;
  for (TensorView& tensor : tensors_) {
    const LayoutConversion* conversion = choose(tensor);
    if (conversion == nullptr) continue;
    const TypeTraits& from = type_traits(tensor.type);
    const TypeTraits& to = type_traits(conversion->to);
    const int64_t cols = tensor.cols();
    if (conversion->from != tensor.type || cols % from.block_size != 0 || cols % to.block_size != 0 ||
        from.row_bytes(cols) != to.row_bytes(cols)) {
      throw_error("{}: tensor {}: cannot convert {} to {}", path_, tensor.name, from.name, to.name);
    }
    // The tensor lies in loaded_weights_, which this file owns.
    uint8_t* data = loaded_weights_->data() + (static_cast<const uint8_t*>(tensor.data) - loaded_weights_->data());
    original.assign(data, data + tensor.bytes);
    const size_t row_bytes = from.row_bytes(cols);
    parallel_ranges(tensor.rows(), omp_get_max_threads(), [&](int64_t begin, int64_t end) {
      conversion->convert(original.data() + begin * row_bytes, data + begin * row_bytes, (end - begin) * cols);
    });
    tensor.type = conversion->to;
  }
}

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensor_shapes(const ModelConfig& c) {
  const int64_t q_rows = c.n_heads * c.head_dim, kv_rows = c.n_kv_heads * c.head_dim;
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"token_embd.weight", {c.vocab_size, c.dim}},
      {"output_norm.weight", {c.dim}},
  };
  if (!c.tied_embeddings) shapes.push_back({"output.weight", {c.vocab_size, c.dim}});
  for (int64_t layer = 0; layer < c.n_layers; ++layer) {
    const std::string blk = fmt::format("blk.{}.", layer);
    shapes.push_back({blk + "attn_norm.weight", {c.dim}});
    shapes.push_back({blk + "attn_q.weight", {q_rows, c.dim}});
    shapes.push_back({blk + "attn_k.weight", {kv_rows, c.dim}});
    shapes.push_back({blk + "attn_v.weight", {kv_rows, c.dim}});
    if (c.qkv_bias) {
      shapes.push_back({blk + "attn_q.bias", {q_rows}});
      shapes.push_back({blk + "attn_k.bias", {kv_rows}});
      shapes.push_back({blk + "attn_v.bias", {kv_rows}});
    }
    shapes.push_back({blk + "attn_output.weight", {c.dim, q_rows}});
    shapes.push_back({blk + "ffn_norm.weight", {c.dim}});
    shapes.push_back({blk + "ffn_gate.weight", {c.hidden_dim, c.dim}});
    shapes.push_back({blk + "ffn_up.weight", {c.hidden_dim, c.dim}});
    shapes.push_back({blk + "ffn_down.weight", {c.dim, c.hidden_dim}});
  }
  return shapes;
}

std::unique_ptr<ModelFile> open_model(const std::string& path, const std::string& tokenizer_path) {
  std::unique_ptr<LoadedModel> model;
  if (std::filesystem::is_directory(path)) {
    model = load_hf_model(path);
  } else if (starts_with_gguf_magic(path)) {
    model = load_gguf_model(path);
  } else {
    model = load_llama2c_model(path, tokenizer_path);
  }
  if (!tokenizer_path.empty() && model->format() != "llama2c") {
    throw_error("{}: a separate tokenizer file is only used with llama2.c checkpoints", path);
  }
  check_tensors(*model);
  return model;
}

ModelConfig llama_model_config(int64_t dim, int64_t hidden_dim, int64_t n_layers, int64_t n_heads, int64_t n_kv_heads,
                               int64_t vocab_size, int64_t context_length, float rope_theta) {
  ModelConfig c;
  c.architecture = "llama";
  c.dim = dim;
  c.hidden_dim = hidden_dim;
  c.n_layers = n_layers;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.head_dim = dim / n_heads;
  c.vocab_size = vocab_size;
  c.context_length = context_length;
  c.rope_theta = rope_theta;
  return c;
}

}  // namespace lowbit
