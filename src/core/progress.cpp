#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "segmenta/core.hpp"

namespace segmenta {
namespace {
std::atomic<bool> g_progress_enabled{true};
}

struct Progress::State {
  std::string label, unit;
  std::size_t total;
  std::atomic<std::size_t> done{0};
  Stopwatch clock;
  double last_print = -1.0;
  bool active;
  bool printed = false;
  std::mutex mutex;

  void print(bool final_line) {
    const double t = clock.seconds();
    if (!final_line && t - last_print < 0.1) return;
    last_print = t;
    const std::size_t d = std::min(done.load(), total);
    const double frac = total ? static_cast<double>(d) / static_cast<double>(total) : 1.0;
    constexpr int width = 28;
    const int filled = static_cast<int>(frac * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, ' ');
    const double rate = t > 0 ? static_cast<double>(d) / t : 0.0;
    std::fprintf(stderr, "\r%-18s [%s] %5.1f%%  %zu/%zu", label.c_str(), bar.c_str(), 100.0 * frac, d, total);
    if (!unit.empty()) std::fprintf(stderr, "  %.0f %s/s", rate, unit.c_str());
    std::fprintf(stderr, "  %.1fs ", t);
    if (final_line) std::fputc('\n', stderr);
    std::fflush(stderr);
    printed = true;
  }
};

Progress::Progress(std::string label, std::size_t total, std::string unit) : state_(std::make_unique<State>()) {
  state_->label = std::move(label);
  state_->unit = std::move(unit);
  state_->total = total;
  state_->active = g_progress_enabled.load() && isatty(STDERR_FILENO);
}

Progress::~Progress() { finish(); }

void Progress::advance(std::size_t units) {
  state_->done.fetch_add(units, std::memory_order_relaxed);
  if (!state_->active) return;
  std::unique_lock<std::mutex> lock(state_->mutex, std::try_to_lock);
  if (lock.owns_lock()) state_->print(false);
}

void Progress::finish() {
  if (!state_ || !state_->active) return;
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->print(true);
  state_->active = false;
}

void Progress::set_enabled(bool enabled) noexcept { g_progress_enabled.store(enabled); }
bool Progress::enabled() noexcept { return g_progress_enabled.load(); }

}  // namespace segmenta
