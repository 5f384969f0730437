#include "core/thread_pool.h"

#include <linux/futex.h>
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace lowbit {
namespace {

using Task = void (*)(void* context, int thread, int threads);
using Clock = std::chrono::steady_clock;

// How long a waiting thread spins before it sleeps: longer than the gap between two products of one
// decode step (an activation quantization, a norm), far shorter than a scheduler time slice. Measured
// with 18 runnable threads on 2 cores: 200 us halved decode speed (spinners starve the thread being
// waited for), 30 us was on par with OpenMP's passive wait.
constexpr auto kSpinTime = std::chrono::microseconds(30);

thread_local bool in_pool_task = false;

// A 32-bit word threads wait on: spin for kSpinTime, then sleep on a futex. Not std::atomic::wait:
// libstdc++'s calls sched_yield before sleeping, and a yielding thread on busy cores loses its turn for
// a whole time slice (measured: decode 10x slower with 16 runnable threads on 2 cores).
class WaitWord {
 public:
  uint32_t load() const { return value_.load(std::memory_order_acquire); }

  // The value once it differs from `old`.
  uint32_t wait_for_change(uint32_t old) {
    const Clock::time_point deadline = Clock::now() + kSpinTime;
    for (int i = 1;; ++i) {
      const uint32_t now = load();
      if (now != old) return now;
      if (i % 64 == 0 && Clock::now() > deadline) break;
      __builtin_ia32_pause();
    }
    for (;;) {
      // Sleepers are counted before the value is checked again, and writers change the value before
      // they read the count (both sequentially consistent): a writer either sees the sleeper or the
      // sleeper sees the new value. FUTEX_WAIT itself returns at once if the value has changed.
      sleepers_.fetch_add(1);
      if (value_.load() == old) {
        syscall(SYS_futex, reinterpret_cast<uint32_t*>(&value_), FUTEX_WAIT_PRIVATE, old, nullptr, nullptr, 0);
      }
      sleepers_.fetch_sub(1);
      const uint32_t now = load();
      if (now != old) return now;
    }
  }

  void store(uint32_t value) {
    value_.store(value);
    wake_sleepers();
  }
  // The value before the addition.
  uint32_t add(int32_t delta) {
    const uint32_t before = value_.fetch_add(static_cast<uint32_t>(delta));
    wake_sleepers();
    return before;
  }

 private:
  void wake_sleepers() {
    if (sleepers_.load() > 0) {
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&value_), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
    }
  }

  std::atomic<uint32_t> value_{0};
  std::atomic<int> sleepers_{0};
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
};

void run_serially(int threads, Task task, void* context) {
  for (int thread = 0; thread < threads; ++thread) task(context, thread, threads);
}

class ThreadPool {
 public:
  ~ThreadPool() {
    stopping_.store(true, std::memory_order_relaxed);
    generation_.add(1);
    for (std::thread& worker : workers_) worker.join();
  }

  // One job at a time: the caller holds `mutex`.
  void run(int threads, Task task, void* context) {
    while (static_cast<int>(workers_.size()) < threads - 1) {
      const int index = static_cast<int>(workers_.size()) + 1;
      const uint32_t seen = generation_.load();
      workers_.emplace_back([this, index, seen] { work(index, seen); });
    }
    task_ = task;
    context_ = context;
    threads_ = threads;
    pending_.store(static_cast<uint32_t>(workers_.size()));
    generation_.add(1);  // publishes the job to the workers
    in_pool_task = true;
    task(context, 0, threads);
    in_pool_task = false;
    for (uint32_t left = pending_.load(); left != 0;) left = pending_.wait_for_change(left);
  }

  std::mutex mutex;

 private:
  // Worker `index` (1 ..): every worker wakes for every job, those beyond the job's thread count only
  // to report that they are done.
  void work(int index, uint32_t seen) {
    in_pool_task = true;
    for (;;) {
      seen = generation_.wait_for_change(seen);
      if (stopping_.load(std::memory_order_relaxed)) return;
      if (index < threads_) task_(context_, index, threads_);
      pending_.add(-1);
    }
  }

  std::vector<std::thread> workers_;
  WaitWord generation_;  // bumped once per job
  WaitWord pending_;     // workers that have not finished the current job
  std::atomic<bool> stopping_{false};
  // The current job, written before generation_ is bumped and read after a worker sees the bump.
  Task task_ = nullptr;
  void* context_ = nullptr;
  int threads_ = 0;
};

}  // namespace

void run_on_threads(int threads, Task task, void* context) {
  if (threads <= 1 || in_pool_task || omp_in_parallel() != 0) {
    run_serially(threads, task, context);
    return;
  }
  static ThreadPool pool;
  std::unique_lock lock(pool.mutex, std::try_to_lock);
  if (!lock.owns_lock()) {
    run_serially(threads, task, context);
    return;
  }
  pool.run(threads, task, context);
}

}  // namespace lowbit
