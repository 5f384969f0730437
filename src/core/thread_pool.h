// A small persistent pool for the many short parallel loops of decode (a matrix-vector product takes
// tens to hundreds of microseconds). Its workers spin for a short while after each job, so the next job
// starts without a wake-up system call, then sleep on a futex, so an idle process or one sharing busy
// cores does not burn CPU. An OpenMP parallel region with passive waiting pays a futex wake per region;
// with active waiting it spins forever.
#pragma once

#include <cstdint>
#include <utility>

namespace lowbit {

// Runs task(context, thread, threads) for thread = 0 .. threads - 1, thread 0 on the caller, and returns
// when all have returned. Runs every share on the caller, one after the other, when threads <= 1, when
// called from inside a pool task or an OpenMP parallel region, or while another thread uses the pool.
// A task must not throw.
void run_on_threads(int threads, void (*task)(void* context, int thread, int threads), void* context);

// The same for a callable body(thread, threads).
template <typename Body>
void run_on_threads(int threads, const Body& body) {
  run_on_threads(
      threads, [](void* context, int thread, int count) { (*static_cast<const Body*>(context))(thread, count); },
      const_cast<void*>(static_cast<const void*>(&body)));
}

// [begin, end) of `count` items for share `thread` of `threads` (contiguous, sizes differing by at most one).
inline std::pair<int64_t, int64_t> share_of(int64_t count, int thread, int threads) {
  return {count * thread / threads, count * (thread + 1) / threads};
}

// body(begin, end) over contiguous shares of [0, count), one share per thread; empty shares are skipped.
template <typename Body>
void parallel_ranges(int64_t count, int threads, const Body& body) {
  run_on_threads(threads, [&](int thread, int shares) {
    const auto [begin, end] = share_of(count, thread, shares);
    if (begin < end) body(begin, end);
  });
}

}  // namespace lowbit
