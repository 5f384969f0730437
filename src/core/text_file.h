// Whole small text files (JSON configs, calibration and evaluation texts) read into a string.
#pragma once

#include <string>

namespace lowbit {

// The file's bytes; throws lowbit::Error naming the file when it cannot be opened or read.
std::string read_text_file(const std::string& path);

// The same without one final newline: a text to tokenize whole (calibration and evaluation texts), as
// llama-perplexity reads it.
std::string read_text_without_final_newline(const std::string& path);

}  // namespace lowbit
