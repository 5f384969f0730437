// Tensor element types and a non-owning view of a tensor's bytes.
//
// Type ids are ggml's (GGUF stores them as-is), so a lowbit file with standard types is a llama.cpp
// file. lowbit's own formats use ids from kLowbitTypeBase up, which ggml does not use.
//
// Shapes are outermost-first, like PyTorch: a weight matrix is {rows, cols} = {out_features,
// in_features} and each row is stored contiguously (GGUF lists dimensions innermost-first; the GGUF
// reader reverses them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {

enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
};

// lowbit's own formats (int2..int8 groups, NF4/FP4, FP8) take ids from here on.
inline constexpr uint32_t kLowbitTypeBase = 1024;

struct TensorView {
  std::string name;
  TensorType type = TensorType::F32;
  std::vector<int64_t> shape;  // outermost-first; {rows, cols} for a matrix
  const void* data = nullptr;  // points into a mapped file or a buffer owned by the model source
  size_t bytes = 0;

  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }  // row length
  int64_t rows() const { return shape.empty() ? 1 : elements() / cols(); }
};

}  // namespace lowbit
