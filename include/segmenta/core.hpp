// segmenta core: matrices, errors, random streams, threads, diagnostics, progress.
//
// Everything else in segmenta depends on this header and nothing here depends on
// any other module. Conventions used across the project:
//   * data is row-major (n_samples, n_features); every signature states its shape;
//   * double for tabular work, float for embeddings;
//   * public entry points validate and throw a segmenta::Error subtype; kernels
//     trust their inputs and never throw;
//   * randomness is explicit (random_state) and results never depend on the number
//     of threads: work is split into fixed-size blocks whose boundaries do not
//     depend on the thread count, and partial results are reduced in block order.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace segmenta {

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Base of every exception segmenta throws. what() is one line, ready to print.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A parameter or an argument is out of its domain (names the parameter).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A named parameter is out of its domain. what() is "<parameter>: <message>"; front
/// ends that spell parameters differently (the command line's `--flag`) rebuild the
/// text from parameter() and message().
class ParameterError : public InvalidArgument {
 public:
  ParameterError(std::string parameter, std::string message);
  const std::string& parameter() const noexcept { return parameter_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string parameter_, message_;
};

/// Malformed input text: carries the file, 1-based line and column.
class ParseError : public Error {
 public:
  ParseError(std::string file, std::size_t line, std::size_t column, const std::string& message);
  const std::string& file() const noexcept { return file_; }
  std::size_t line() const noexcept { return line_; }
  std::size_t column() const noexcept { return column_; }

 private:
  std::string file_;
  std::size_t line_, column_;
};

/// Well-formed input data that cannot be used as it is (values too large to
/// compute with, too few rows for a stage); names the file and column.
class DataError : public Error {
 public:
  using Error::Error;
};

/// A file cannot be opened, read, written or renamed.
class IoError : public Error {
 public:
  using Error::Error;
};

/// A model file (segmenta model, safetensors, config.json...) is malformed or unsupported.
class ModelFormatError : public Error {
 public:
  using Error::Error;
};

/// A model is used before it was fitted.
class NotFitted : public Error {
 public:
  using Error::Error;
};

// ---------------------------------------------------------------------------
// Aligned storage and matrices
// ---------------------------------------------------------------------------

/// Allocator returning 64-byte aligned memory (one cache line, one AVX-512 vector).
template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::size_t alignment = 64;
  AlignedAllocator() noexcept = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n == 0) return nullptr;
    std::size_t bytes = (n * sizeof(T) + alignment - 1) / alignment * alignment;
    void* p = std::aligned_alloc(alignment, bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { std::free(p); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
};

template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

/// Non-owning read-only view of a row-major matrix (rows, cols) with a row stride
/// (elements between the starts of consecutive rows, >= cols).
template <class T>
class MatrixView {
 public:
  MatrixView() = default;
  MatrixView(const T* data, std::size_t rows, std::size_t cols)
      : data_(data), rows_(rows), cols_(cols), stride_(cols) {}
  MatrixView(const T* data, std::size_t rows, std::size_t cols, std::size_t stride)
      : data_(data), rows_(rows), cols_(cols), stride_(stride) {}

  std::size_t rows() const noexcept { return rows_; }
  std::size_t cols() const noexcept { return cols_; }
  std::size_t stride() const noexcept { return stride_; }
  bool empty() const noexcept { return rows_ == 0 || cols_ == 0; }
  bool contiguous() const noexcept { return stride_ == cols_; }
  const T* data() const noexcept { return data_; }
  const T* row(std::size_t i) const noexcept { return data_ + i * stride_; }
  const T& operator()(std::size_t i, std::size_t j) const noexcept { return data_[i * stride_ + j]; }
  /// Rows [begin, begin+count).
  MatrixView rows_view(std::size_t begin, std::size_t count) const noexcept {
    return MatrixView(data_ + begin * stride_, count, cols_, stride_);
  }

 private:
  const T* data_ = nullptr;
  std::size_t rows_ = 0, cols_ = 0, stride_ = 0;
};

/// Owning row-major matrix (rows, cols), contiguous, 64-byte aligned.
template <class T>
class Matrix {
 public:
  Matrix() = default;
  Matrix(std::size_t rows, std::size_t cols, T fill = T{})
      : rows_(rows), cols_(cols), data_(rows * cols, fill) {}
  /// Copies a view (any stride) into contiguous storage.
  explicit Matrix(MatrixView<T> v) : rows_(v.rows()), cols_(v.cols()), data_(v.rows() * v.cols()) {
    for (std::size_t i = 0; i < rows_; ++i)
      std::memcpy(data_.data() + i * cols_, v.row(i), cols_ * sizeof(T));
  }

  std::size_t rows() const noexcept { return rows_; }
  std::size_t cols() const noexcept { return cols_; }
  std::size_t size() const noexcept { return data_.size(); }
  bool empty() const noexcept { return data_.empty(); }
  T* data() noexcept { return data_.data(); }
  const T* data() const noexcept { return data_.data(); }
  T* row(std::size_t i) noexcept { return data_.data() + i * cols_; }
  const T* row(std::size_t i) const noexcept { return data_.data() + i * cols_; }
  T& operator()(std::size_t i, std::size_t j) noexcept { return data_[i * cols_ + j]; }
  const T& operator()(std::size_t i, std::size_t j) const noexcept { return data_[i * cols_ + j]; }
  MatrixView<T> view() const noexcept { return MatrixView<T>(data_.data(), rows_, cols_); }
  operator MatrixView<T>() const noexcept { return view(); }
  /// Reshapes to (rows, cols); contents are unspecified afterwards unless the size is unchanged.
  void resize(std::size_t rows, std::size_t cols) {
    rows_ = rows;
    cols_ = cols;
    data_.resize(rows * cols);
  }
  void fill(T value) { std::fill(data_.begin(), data_.end(), value); }

 private:
  std::size_t rows_ = 0, cols_ = 0;
  AlignedVector<T> data_;
};

using MatrixD = Matrix<double>;
using MatrixF = Matrix<float>;
using ViewD = MatrixView<double>;
using ViewF = MatrixView<float>;

/// Copies the selected rows of `x` (n, p) into a new (rows.size(), p) matrix.
template <class T, class Index>
Matrix<T> take_rows(MatrixView<T> x, std::span<const Index> rows) {
  Matrix<T> out(rows.size(), x.cols());
  if (x.cols() == 0) return out;  // no bytes to copy, and no row pointer to copy from
  for (std::size_t r = 0; r < rows.size(); ++r)
    std::memcpy(out.row(r), x.row(static_cast<std::size_t>(rows[r])), x.cols() * sizeof(T));
  return out;
}

// ---------------------------------------------------------------------------
// Random streams
// ---------------------------------------------------------------------------

/// xoshiro256** generator seeded through splitmix64. Portable and fully specified,
/// so a (random_state, stream) pair gives the same numbers on every platform.
/// Independent streams (one per restart, per worker...) come from stream(seed, id).
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) noexcept;
  /// The generator for sub-stream `stream_id` of `seed`; streams do not overlap in practice.
  static Rng stream(std::uint64_t seed, std::uint64_t stream_id) noexcept;

  std::uint64_t next_u64() noexcept;
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n) without modulo bias (Lemire). n must be > 0.
  std::uint64_t below(std::uint64_t n) noexcept;
  /// Standard normal variate (Marsaglia polar method; the spare value is kept).
  double normal() noexcept;
  /// Fisher-Yates permutation of 0..n-1.
  std::vector<std::size_t> permutation(std::size_t n);
  /// `count` distinct indices drawn uniformly from 0..n-1 (in draw order).
  std::vector<std::size_t> sample_without_replacement(std::size_t n, std::size_t count);

 private:
  std::uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

/// A seeded sample stratified by label (explain's TreeSHAP rows and the report's map
/// points use it): at most max_rows (0 = all) of the positions with a label >= 0
/// (-1 = not clustered, never drawn). When max_rows >= K (the number of distinct
/// labels), every label gets one position and the remaining max_rows - K are
/// apportioned in proportion to the label sizes minus one (largest remainders, ties
/// to the lower label); when max_rows < K, the max_rows largest labels get one each.
/// The c-th smallest label's positions are drawn uniformly without replacement with
/// Rng::stream(random_state, 1 + c). Returned ascending. Throws InvalidArgument for
/// labels < -1.
std::vector<std::size_t> stratified_label_sample(std::span<const std::int32_t> labels, std::size_t max_rows,
                                                 std::uint64_t random_state);

// ---------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------

/// Threads used by parallel_for. Initially SEGMENTA_THREADS if set, else the number
/// of hardware threads. BLAS's own threading is always kept at 1 (see init_blas()).
int num_threads() noexcept;
/// Sets the thread count (0 restores the default). Throws ParameterError ("threads")
/// for n < 0 or n > 1024: a negative count is not read as "all cores".
void set_num_threads(int n);

/// Runs task(t) for t in [0, n_tasks) on up to num_threads() threads; tasks are
/// handed out dynamically. Task t must only write results owned by t, so the
/// outcome does not depend on scheduling. The first exception thrown by a task is
/// rethrown on the calling thread after all tasks finish.
void parallel_for(std::size_t n_tasks, const std::function<void(std::size_t)>& task);

/// Splits [0, n) into ceil(n / block) blocks of `block` items (the last may be shorter);
/// the split depends only on n and block, never on the thread count.
struct Blocks {
  std::size_t n, block;
  std::size_t count() const noexcept { return block == 0 ? 0 : (n + block - 1) / block; }
  std::size_t begin(std::size_t b) const noexcept { return b * block; }
  std::size_t end(std::size_t b) const noexcept { return std::min(n, (b + 1) * block); }
  std::size_t size(std::size_t b) const noexcept { return end(b) - begin(b); }
};

/// parallel_for over fixed blocks of [0, n): fn(begin, end, block_index).
void parallel_blocks(std::size_t n, std::size_t block,
                     const std::function<void(std::size_t, std::size_t, std::size_t)>& fn);

/// Pins the BLAS library to one thread (segmenta parallelises around BLAS calls).
/// Called automatically by num_threads()/parallel_for; idempotent.
void init_blas() noexcept;

// ---------------------------------------------------------------------------
// Diagnostics, timing, progress
// ---------------------------------------------------------------------------

/// An expected condition worth telling the user about (skipped rows, re-seeded
/// empty cluster, constant column, no knee found...). Not an error.
struct Diagnostic {
  enum class Level { info, warning };
  Level level = Level::info;
  std::string stage;    // e.g. "prep", "kmeans"
  std::string code;     // short stable identifier, e.g. "constant_column"
  std::string message;  // one readable sentence
};

/// Ordered list of diagnostics collected by a run; stages append to it.
class Diagnostics {
 public:
  void info(std::string stage, std::string code, std::string message);
  void warn(std::string stage, std::string code, std::string message);
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void append(const Diagnostics& other);
  const std::vector<Diagnostic>& items() const noexcept { return items_; }
  bool empty() const noexcept { return items_.empty(); }
  std::size_t size() const noexcept { return items_.size(); }

 private:
  std::vector<Diagnostic> items_;
};

/// Wall-clock stopwatch.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void reset() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// Progress reporting for long stages: a line on stderr when stderr is a terminal
/// and progress is enabled (the CLI's --quiet turns it off), or lines handed to a
/// sink (the Python package); silent otherwise. The line names the stage and shows,
/// as far as the stage knows them, units done of the total, the rate, the time spent
/// and the time left, and a note (e.g. "k = 5"). A stage shows nothing until it has
/// run show_after() seconds (0.5 s; SEGMENTA_PROGRESS_AFTER overrides it), so short
/// stages stay silent; then the line is repainted a few times a second by a thread
/// of its own (a stage without counted units shows its time running) and ends with
/// a newline when the stage finishes. Of nested stages the innermost one shows.
/// advance() and note() are thread-safe.
class Progress {
 public:
  /// `total` units of work (0: not counted); `unit` names them in the rate ("rows/s").
  Progress(std::string label, std::size_t total = 0, std::string unit = "");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void advance(std::size_t units = 1);
  /// Text shown after the figures, e.g. the k being fitted.
  void note(std::string text);
  /// Makes this stage show the iterations of the fit that the calling thread runs
  /// inside it (at most `max_iter`): after each of its iterations a fit's loop calls
  /// Progress::iteration() on the thread that runs the loop.
  void count_iterations(std::size_t max_iter);
  /// Called by an iterative fit after iteration `done`, with what it tracks (e.g.
  /// "log-likelihood change 3.2e-05"). Shows on the stage of the calling thread that
  /// asked for iterations; does nothing anywhere else (the fits of a sweep, fits on
  /// worker threads), so a loop may call it unconditionally.
  static void iteration(std::size_t done, std::string_view detail = {});
  void finish();

  /// Global switch (the CLI's --quiet turns it off). Default: on.
  static void set_enabled(bool enabled) noexcept;
  static bool enabled() noexcept;
  /// Seconds a stage runs before its line shows.
  static double show_after() noexcept;
  /// Where the lines of stages made afterwards by the calling thread go instead of
  /// the terminal: called with the line and whether it is the stage's last, by the
  /// stage's painter thread or the thread that finishes it, never with a lock of
  /// this class held; an empty sink restores the terminal. With a sink, lines are
  /// made whether or not stderr is a terminal.
  using Sink = std::function<void(const std::string& line, bool final)>;
  static void set_sink(Sink sink);

  struct State;  // internal

 private:
  std::unique_ptr<State> state_;
};

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

/// The library version string, e.g. "0.1.0".
std::string_view version() noexcept;

/// Shortest decimal text that reads back as exactly `v`, laid out as Python's
/// repr(float) does ("0.1", "100.0", "1e-05", "1.5e+16"); "nan", "inf", "-inf".
std::string format_double(double v);

/// Text as reports show a value or a level: at most `max_bytes` bytes (cut at a
/// whole UTF-8 character) followed by "..." when longer, so that one 10 MB cell is
/// not repeated in profiles, metrics.json and the report. Model files keep the
/// whole text (scoring matches levels by it).
constexpr std::size_t kMaxShownBytes = 200;
std::string shown_text(const std::string& text, std::size_t max_bytes = kMaxShownBytes);

/// The current time in UTC as ISO 8601 to the second ("2026-12-06T21:48:00Z"), as
/// run.json records when a run started and when a database was read.
std::string utc_now_iso8601();

/// FNV-1a 64-bit hash of bytes (stable, for cache keys and manifests).
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 0xcbf29ce484222325ULL) noexcept;

}  // namespace segmenta
