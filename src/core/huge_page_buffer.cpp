#include "core/huge_page_buffer.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace lowbit {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

}  // namespace

HugePageBuffer::HugePageBuffer(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  mapped_bytes_ = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  // Map one huge page more than needed and trim both ends, so the buffer starts on a 2 MiB boundary
  // (a huge page can only back an aligned 2 MiB range).
  const size_t reserved = mapped_bytes_ + kHugePage;
  void* map = ::mmap(nullptr, reserved, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) throw_error("cannot allocate {} bytes: {}", bytes, std::strerror(errno));
  const auto start = reinterpret_cast<uintptr_t>(map);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) ::munmap(map, aligned - start);
  const uintptr_t end = start + reserved, used_end = aligned + mapped_bytes_;
  if (end > used_end) ::munmap(reinterpret_cast<void*>(used_end), end - used_end);
  data_ = reinterpret_cast<uint8_t*>(aligned);
  // Advice only: a kernel without transparent huge pages refuses it, and the pages stay 4 KiB.
  ::madvise(data_, mapped_bytes_, MADV_HUGEPAGE);
}

HugePageBuffer::~HugePageBuffer() {
  if (data_ != nullptr) ::munmap(data_, mapped_bytes_);
}

}  // namespace lowbit
