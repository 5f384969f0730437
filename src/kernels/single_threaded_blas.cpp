#include "kernels/single_threaded_blas.h"

#include <cblas.h>

namespace lowbit {

void use_single_threaded_blas() {
  static const bool once = (openblas_set_num_threads(1), true);
  (void)once;
}

}  // namespace lowbit
