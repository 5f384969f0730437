#include "command.h"

namespace lowbit::cli {

CommandRunner add_inspect_command(CLI::App& app) {
  return add_unbuilt_command(app, "inspect", "List the tensors of a model file and their quantization error",
                             "the model readers are not implemented");
}

}  // namespace lowbit::cli
