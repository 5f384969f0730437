// A model file seen with some tensors replaced by other bytes (another type): the sensitivity
// measurement and the mix refinement run the unchanged forward pass on it. Every tensor stays a view:
// the replaced ones into the overrides' bytes, the others into `base`; both must outlive this.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "io/model_file.h"

namespace lowbit {

struct TensorOverride {
  std::string name;
  TensorType type = TensorType::F16;
  std::span<const uint8_t> bytes;  // the tensor's rows in `type`
};

class TensorOverrideModel : public ModelFile {
 public:
  // Throws lowbit::Error naming the model when an override names none of its tensors.
  TensorOverrideModel(const ModelFile& base, std::span<const TensorOverride> overrides);
};

}  // namespace lowbit
