// Where `lowbit plan` gets a model's dimensions: a built-in named shape ("llama-7b"), a Hugging Face
// config.json alone (no weights needed), a folder holding one, or any model file lowbit opens.
#pragma once

#include <span>
#include <string>

#include "io/model_file.h"

namespace lowbit {

struct NamedShape {
  const char* name;    // "llama-7b"
  const char* source;  // where the numbers come from
  ModelConfig config;
};

// The built-in shapes, in the order `lowbit plan --help` lists them.
std::span<const NamedShape> named_shapes();

struct PlanModel {
  std::string source;  // the name or path as given
  std::string kind;    // "named shape", "config.json", or the model file's format ("gguf", ...)
  ModelConfig config;
};

// A named shape, a path ending in .json (parsed as a Hugging Face config), a folder with config.json
// (read without its weights), or a model file (open_model). Throws lowbit::Error naming the file for a
// missing file, an unknown architecture, or a missing or non-positive dimension.
PlanModel load_plan_model(const std::string& spec);

// Throws lowbit::Error naming `source` unless every dimension the planner uses is positive and the
// head geometry is consistent (head_dim * n_heads, n_heads a multiple of n_kv_heads).
void check_plan_config(const ModelConfig& config, const std::string& source);

}  // namespace lowbit
