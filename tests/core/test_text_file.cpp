#include "core/text_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/error.h"

namespace lowbit {
namespace test_text_file {

std::string temp_path(const char* name) { return ::testing::TempDir() + name; }

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(TextFile, ReadsEveryByte) {
  const std::string path = temp_path("lowbit_text_file_bytes.txt");
  write(path, std::string("one\r\ntwo\0three\n\n", 17));
  EXPECT_EQ(read_text_file(path), std::string("one\r\ntwo\0three\n\n", 17));
  std::remove(path.c_str());
}

TEST(TextFile, DropsOneFinalNewline) {
  const std::string path = temp_path("lowbit_text_file_newline.txt");
  write(path, "a story\n\n");
  EXPECT_EQ(read_text_without_final_newline(path), "a story\n");
  write(path, "no break");
  EXPECT_EQ(read_text_without_final_newline(path), "no break");
  write(path, "");
  EXPECT_EQ(read_text_without_final_newline(path), "");
  std::remove(path.c_str());
}

TEST(TextFile, MissingFileIsAnErrorNamingIt) {
  const std::string path = temp_path("lowbit_text_file_absent.txt");
  try {
    read_text_file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": cannot open"), std::string::npos) << e.what();
  }
}

}  // namespace test_text_file
}  // namespace lowbit
