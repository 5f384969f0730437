#include "core/thread_pool.h"

#include <omp.h>

#include <atomic>
#include <chrono>
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

// The value of `value` once it differs from `old`: spins for kSpinTime, then sleeps in atomic::wait
// (a futex), which the writer's notify ends.
template <typename T>
T wait_for_change(const std::atomic<T>& value, T old) {
  const Clock::time_point deadline = Clock::now() + kSpinTime;
  for (int i = 1;; ++i) {
    const T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    if (i % 64 == 0 && Clock::now() > deadline) break;
    __builtin_ia32_pause();
  }
  for (;;) {
    value.wait(old, std::memory_order_acquire);
    const T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
  }
}

void run_serially(int threads, Task task, void* context) {
  for (int thread = 0; thread < threads; ++thread) task(context, thread, threads);
}

class ThreadPool {
 public:
  ~ThreadPool() {
    stopping_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  // One job at a time: the caller holds `mutex`.
  void run(int threads, Task task, void* context) {
    while (static_cast<int>(workers_.size()) < threads - 1) {
      const int index = static_cast<int>(workers_.size()) + 1;
      const uint32_t seen = generation_.load(std::memory_order_relaxed);
      workers_.emplace_back([this, index, seen] { work(index, seen); });
    }
    task_ = task;
    context_ = context;
    threads_ = threads;
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);  // publishes the job to the workers
    generation_.notify_all();
    in_pool_task = true;
    task(context, 0, threads);
    in_pool_task = false;
    for (int left = pending_.load(std::memory_order_acquire); left != 0;) left = wait_for_change(pending_, left);
  }

  std::mutex mutex;

 private:
  // Worker `index` (1 ..): every worker wakes for every job, those beyond the job's thread count only
  // to report that they are done.
  void work(int index, uint32_t seen) {
    in_pool_task = true;
    for (;;) {
      seen = wait_for_change(generation_, seen);
      if (stopping_.load(std::memory_order_relaxed)) return;
      if (index < threads_) task_(context_, index, threads_);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::atomic<uint32_t> generation_{0};  // bumped once per job
  std::atomic<int> pending_{0};          // workers that have not finished the current job
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
