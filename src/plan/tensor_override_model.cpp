#include "plan/tensor_override_model.h"

#include "core/error.h"

namespace lowbit {

TensorOverrideModel::TensorOverrideModel(const ModelFile& base, std::span<const TensorOverride> overrides) {
  for (const TensorOverride& override : overrides) base.tensor(override.name);  // throws for an unknown name
  path_ = base.path();
  format_ = base.format();
  config_ = base.config();
  for (const TensorView& view : base.tensors()) {
    TensorView replaced = view;
    for (const TensorOverride& override : overrides) {
      if (override.name != view.name) continue;
      replaced.type = override.type;
      replaced.data = override.bytes.data();
      replaced.bytes = override.bytes.size();
    }
    add_tensor(std::move(replaced));
  }
}

}  // namespace lowbit
