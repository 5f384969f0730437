// quant splits its matrix products over OpenMP threads itself and calls OpenBLAS on each thread's
// share (as kernels/matmul.cpp does): OpenBLAS's own thread pool would compete for the same cores.
#pragma once

namespace lowbit {

// Sets OpenBLAS to one thread, once per process; call before any BLAS or LAPACK routine.
void use_single_threaded_blas();

}  // namespace lowbit
