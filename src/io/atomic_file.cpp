#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <vector>

#include "core/error.h"

namespace lowbit {
namespace {

// The temporary files alive right now, so that SIGINT/SIGTERM can remove them before the process dies.
// A fixed array of C strings: the signal handler may only touch async-signal-safe state.
constexpr int kMaxLiveTempFiles = 16;
char g_live_temp_files[kMaxLiveTempFiles][4096];
std::atomic<bool> g_slot_used[kMaxLiveTempFiles];
std::once_flag g_handlers_installed;

extern "C" void remove_temp_files_and_reraise(int signal_number) {
  for (int i = 0; i < kMaxLiveTempFiles; ++i) {
    if (g_slot_used[i].load()) ::unlink(g_live_temp_files[i]);
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

int register_temp_file(const std::string& path) {
  std::call_once(g_handlers_installed, [] {
    std::signal(SIGINT, remove_temp_files_and_reraise);
    std::signal(SIGTERM, remove_temp_files_and_reraise);
    std::signal(SIGHUP, remove_temp_files_and_reraise);
  });
  if (path.size() >= sizeof(g_live_temp_files[0])) return -1;
  for (int i = 0; i < kMaxLiveTempFiles; ++i) {
    bool expected = false;
    if (g_slot_used[i].compare_exchange_strong(expected, true)) {
      std::memcpy(g_live_temp_files[i], path.c_str(), path.size() + 1);
      return i;
    }
  }
  return -1;
}

void unregister_temp_file(const std::string& path) {
  for (int i = 0; i < kMaxLiveTempFiles; ++i) {
    if (g_slot_used[i].load() && path == g_live_temp_files[i]) g_slot_used[i].store(false);
  }
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  std::vector<char> name(path.begin(), path.end());
  const std::string suffix = ".tmp-XXXXXX";
  name.insert(name.end(), suffix.begin(), suffix.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) throw_error("{}: cannot create a file in its folder: {}", path, std::strerror(errno));
  temp_path_ = name.data();
  register_temp_file(temp_path_);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
  unregister_temp_file(temp_path_);
}

void AtomicFile::write(const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, bytes, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_error("{}: write failed: {}", path_, std::strerror(errno));
    }
    bytes += n;
    size -= static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
}

void AtomicFile::write_zeros(size_t size) {
  static const uint8_t zeros[4096] = {};
  while (size > 0) {
    const size_t chunk = size < sizeof(zeros) ? size : sizeof(zeros);
    write(zeros, chunk);
    size -= chunk;
  }
}

void AtomicFile::commit() {
  // The file holds a model others will map: make it readable like any file the user creates.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
  if (::fsync(fd_) != 0) throw_error("{}: flush failed: {}", path_, std::strerror(errno));
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw_error("{}: close failed: {}", path_, std::strerror(errno));
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    throw_error("{}: cannot rename the finished file into place: {}", path_, std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace lowbit
