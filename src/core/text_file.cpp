#include "core/text_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace lowbit {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_error("{}: cannot open", path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw_error("{}: read error", path);
  return text.str();
}

std::string read_text_without_final_newline(const std::string& path) {
  std::string text = read_text_file(path);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace lowbit
