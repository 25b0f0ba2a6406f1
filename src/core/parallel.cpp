#include <omp.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <string>

#include "segmenta/core.hpp"

extern "C" void openblas_set_num_threads(int num_threads);

namespace segmenta {
namespace {

int default_threads() noexcept {
  if (const char* env = std::getenv("SEGMENTA_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v > 0 && v <= 1024) return static_cast<int>(v);
  }
  int n = omp_get_num_procs();
  return n > 0 ? n : 1;
}

std::atomic<int>& thread_setting() {
  static std::atomic<int> value{default_threads()};
  return value;
}

}  // namespace

void init_blas() noexcept {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

int num_threads() noexcept {
  init_blas();
  return thread_setting().load(std::memory_order_relaxed);
}

void set_num_threads(int n) {
  if (n < 0) throw ParameterError("threads", "must be >= 0 (0 = all cores), got " + std::to_string(n));
  if (n > 1024) throw ParameterError("threads", "at most 1024 threads are supported, got " + std::to_string(n));
  thread_setting().store(n == 0 ? default_threads() : n, std::memory_order_relaxed);
}

void parallel_for(std::size_t n_tasks, const std::function<void(std::size_t)>& task) {
  if (n_tasks == 0) return;
  const int threads = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(num_threads()), n_tasks));
  if (threads <= 1 || omp_in_parallel()) {
    for (std::size_t t = 0; t < n_tasks; ++t) task(t);
    return;
  }
  // Libraries sharing the OpenMP runtime (XGBoost) may switch on dynamic team sizes,
  // under which libgomp sizes teams from the load average and its idle threads spin
  // against the working ones; segmenta's teams are always the size it asks for.
  if (omp_get_dynamic()) omp_set_dynamic(0);
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  const long long n = static_cast<long long>(n_tasks);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (long long t = 0; t < n; ++t) {
    if (failed.load(std::memory_order_relaxed)) continue;
    try {
      task(static_cast<std::size_t>(t));
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      failed.store(true, std::memory_order_relaxed);
    }
  }
  if (error) std::rethrow_exception(error);
}

void parallel_blocks(std::size_t n, std::size_t block,
                     const std::function<void(std::size_t, std::size_t, std::size_t)>& fn) {
  const Blocks blocks{n, block};
  parallel_for(blocks.count(), [&](std::size_t b) { fn(blocks.begin(b), blocks.end(b), b); });
}

}  // namespace segmenta
