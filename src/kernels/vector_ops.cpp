#include "kernels/vector_ops.h"

namespace lowbit {

const VectorOps& vector_ops(CpuLevel level) {
  switch (level) {
    case CpuLevel::avx2: return vector_ops_avx2();
    case CpuLevel::avx512: return vector_ops_avx512();
    case CpuLevel::scalar: break;
  }
  return vector_ops_scalar();
}

const VectorOps& vector_ops() {
  static const VectorOps& ops = vector_ops(active_cpu_level());
  return ops;
}

}  // namespace lowbit
