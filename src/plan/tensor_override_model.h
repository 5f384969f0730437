// A model file seen with one tensor replaced by other bytes (another type): the sensitivity
// measurement runs the unchanged forward pass on it. Every other tensor stays a view into `base`,
// which must outlive this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/model_file.h"

namespace lowbit {

class TensorOverrideModel : public ModelFile {
 public:
  // Throws lowbit::Error naming the model when `name` is not one of its tensors.
  TensorOverrideModel(const ModelFile& base, const std::string& name, TensorType type, std::vector<uint8_t> bytes);
};

}  // namespace lowbit
