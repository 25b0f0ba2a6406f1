#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "segmenta/core.hpp"

namespace segmenta {
namespace {

std::atomic<bool> g_progress_enabled{true};

/// Seconds a stage runs before it shows: SEGMENTA_PROGRESS_AFTER or 0.5.
double read_show_after() {
  if (const char* v = std::getenv("SEGMENTA_PROGRESS_AFTER"); v && *v) {
    char* end = nullptr;
    const double s = std::strtod(v, &end);
    if (end && *end == '\0' && s >= 0 && s < 1e6) return s;
  }
  return 0.5;
}

constexpr double kRepaint = 0.2;  // seconds between two paints of a line

std::string duration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  const auto whole = static_cast<long long>(s + 0.5);
  if (whole < 3600) return fmt::format("{}m{:02d}s", whole / 60, static_cast<int>(whole % 60));
  return fmt::format("{}h{:02d}m", whole / 3600, static_cast<int>(whole / 60 % 60));
}

std::string count(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

}  // namespace

struct Progress::State {
  std::string label, unit;
  std::size_t total = 0;
  double show_after = 0.5;
  std::atomic<std::size_t> done{0};
  Stopwatch clock;
  bool active = false;
  bool shown = false;  // a line was painted
  double last_paint = -1.0;
  std::string note;
  std::size_t iterations = 0, max_iterations = 0;  // of the fit running in the stage
  std::string iteration_detail;
  std::thread painter;
  Progress::Sink sink;
  bool stop = false;
  std::condition_variable wake;

  std::string line() const {
    const double t = clock.seconds();
    const std::size_t d = total ? std::min(done.load(), total) : done.load();
    std::string s = label;
    if (total) {
      const double frac = static_cast<double>(d) / static_cast<double>(total);
      constexpr int width = 20;
      std::string bar(static_cast<std::size_t>(frac * width), '#');
      bar.resize(width, ' ');
      s += fmt::format(" [{}] {:5.1f}%  {}/{}{}", bar, 100.0 * frac, count(static_cast<double>(d)),
                       count(static_cast<double>(total)), unit.empty() ? "" : " " + unit);
      if (t > 0 && d > 0) {
        s += fmt::format("  {} {}/s", count(static_cast<double>(d) / t), unit.empty() ? "units" : unit);
        if (d < total) s += "  left ~" + duration(t * static_cast<double>(total - d) / static_cast<double>(d));
      }
      s += "  " + duration(t);
    } else {
      if (d > 0) s += fmt::format("  {}{}", count(static_cast<double>(d)), unit.empty() ? "" : " " + unit);
      s += "  " + duration(t);
    }
    if (!note.empty()) s += "  " + note;
    if (max_iterations > 0 && iterations > 0) {
      s += fmt::format("  iteration {} (at most {})", iterations, max_iterations);
      if (!iteration_detail.empty()) s += ", " + iteration_detail;
    }
    return s;
  }
};

namespace {

// The stages running now, innermost last: only the innermost one paints. One mutex
// guards the stack and every stage's note and paint times.
std::mutex g_mutex;
std::vector<Progress::State*> g_stack;
// The sink of the thread that made a stage (the Python package sets it around a call
// that released the GIL); a stage keeps the sink it was made with.
thread_local Progress::Sink t_sink;
// The stage that shows the iterations of the fit this thread runs, if any.
thread_local Progress::State* t_iterations = nullptr;

/// The line to paint now for `s` (g_mutex held), if any: when it is the innermost
/// stage and has run long enough; the final line of a stage that showed. A terminal
/// line is written here; a sink's line is returned for the caller to hand over
/// without holding the lock.
std::string paint(Progress::State& s, bool final_line) {
  const double t = s.clock.seconds();
  if (!final_line) {
    if (g_stack.empty() || g_stack.back() != &s) return {};
    if (t < s.show_after || t - s.last_paint < kRepaint) return {};
  } else if (!s.shown) {
    return {};  // a stage that never showed leaves no line behind
  }
  s.last_paint = t;
  s.shown = true;
  std::string text = s.line();
  if (s.sink) return text;
  // \r and "erase to the end of the line": a shorter line leaves nothing of the last.
  std::fprintf(stderr, "\r%s\033[K%s", text.c_str(), final_line ? "\n" : "");
  std::fflush(stderr);
  return {};
}

void hand_over(const Progress::Sink& sink, const std::string& text, bool final_line) {
  if (text.empty() || !sink) return;
  try {
    sink(text, final_line);
  } catch (...) {
    // A failing sink must not stop the computation it reports on.
  }
}

}  // namespace

Progress::Progress(std::string label, std::size_t total, std::string unit) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.label = std::move(label);
  s.unit = std::move(unit);
  s.total = total;
  s.sink = t_sink;
  s.show_after = read_show_after();
  std::unique_lock<std::mutex> lock(g_mutex);
  s.active = g_progress_enabled.load() && (s.sink || isatty(STDERR_FILENO));
  if (!s.active) return;
  g_stack.push_back(&s);
  if (s.show_after <= 0) {  // every stage shows, from its first moment
    const std::string text = paint(s, false);
    lock.unlock();
    hand_over(s.sink, text, false);
    lock.lock();
  }
  s.painter = std::thread([&s] {
    std::unique_lock<std::mutex> l(g_mutex);
    while (!s.stop) {
      s.wake.wait_for(l, std::chrono::duration<double>(kRepaint / 2));
      if (s.stop) break;
      const std::string text = paint(s, false);
      if (!text.empty()) {
        l.unlock();
        hand_over(s.sink, text, false);
        l.lock();
      }
    }
  });
}

Progress::~Progress() { finish(); }

void Progress::advance(std::size_t units) {
  if (state_) state_->done.fetch_add(units, std::memory_order_relaxed);
}

void Progress::note(std::string text) {
  if (!state_ || !state_->active) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  state_->note = std::move(text);
}

void Progress::count_iterations(std::size_t max_iter) {
  if (!state_ || !state_->active || max_iter == 0) return;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    state_->max_iterations = max_iter;
  }
  t_iterations = state_.get();
}

void Progress::iteration(std::size_t done, std::string_view detail) {
  State* s = t_iterations;
  if (!s) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  s->iterations = done;
  s->iteration_detail.assign(detail);
}

void Progress::finish() {
  if (!state_ || !state_->active) return;
  State& s = *state_;
  if (t_iterations == &s) t_iterations = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    s.stop = true;
  }
  s.wake.notify_all();
  if (s.painter.joinable()) s.painter.join();
  std::string text;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    text = paint(s, true);
    s.active = false;
    g_stack.erase(std::remove(g_stack.begin(), g_stack.end(), &s), g_stack.end());
    // The stage around it repaints on a line of its own.
    if (!g_stack.empty() && s.shown) g_stack.back()->last_paint = -1.0;
  }
  hand_over(s.sink, text, true);
}

void Progress::set_enabled(bool enabled) noexcept { g_progress_enabled.store(enabled); }
bool Progress::enabled() noexcept { return g_progress_enabled.load(); }
double Progress::show_after() noexcept { return read_show_after(); }

void Progress::set_sink(Sink sink) { t_sink = std::move(sink); }

}  // namespace segmenta
