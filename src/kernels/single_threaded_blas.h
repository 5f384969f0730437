// lowbit splits its matrix products over its own threads (the kernels' pool, quant's OpenMP loops) and
// calls OpenBLAS on each thread's share: OpenBLAS's own thread pool would compete for the same cores.
#pragma once

namespace lowbit {

// Sets OpenBLAS to one thread, once per process; call before any BLAS or LAPACK routine.
void use_single_threaded_blas();

}  // namespace lowbit
