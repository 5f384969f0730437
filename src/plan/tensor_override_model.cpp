#include "plan/tensor_override_model.h"

#include "core/error.h"

namespace lowbit {

TensorOverrideModel::TensorOverrideModel(const ModelFile& base, const std::string& name, TensorType type,
                                         std::vector<uint8_t> bytes) {
  base.tensor(name);  // throws for an unknown name
  path_ = base.path();
  format_ = base.format();
  config_ = base.config();
  for (const TensorView& view : base.tensors()) {
    if (view.name != name) {
      add_tensor(view);
      continue;
    }
    TensorView replaced = view;
    replaced.type = type;
    replaced.data = bytes.data();
    replaced.bytes = bytes.size();
    owned_buffers_.push_back(std::move(bytes));  // moving a vector keeps its buffer: `data` stays valid
    add_tensor(std::move(replaced));
  }
}

}  // namespace lowbit
