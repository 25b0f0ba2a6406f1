// segmenta streams (part of the io module): data read as a stream of bytes from a
// file or standard input, gzip-compressed or not; CSV read a block of rows at a
// time; outputs written to a file (plain or gzip, committed atomically) or to
// standard output.
//
// "-" names standard input (as a data argument) or standard output (as --out).
// Compressed input is recognised by the gzip magic bytes (1f 8b), whatever the
// name; several gzip members one after the other are read as one stream (as
// `cat a.gz b.gz` makes them). Compressed output is chosen by the name: a path that
// ends in ".gz".
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "segmenta/files.hpp"
#include "segmenta/io.hpp"

namespace segmenta {

/// The name standard input has in messages.
inline constexpr std::string_view kStdinName = "<stdin>";

/// Bytes from a file or a stream, gzip data inflated on the fly.
/// Errors: IoError (cannot open or read); DataError naming the input for corrupt or
/// truncated gzip data.
class InputStream {
 public:
  /// Opens `spec`: "-" is standard input, anything else a file path.
  explicit InputStream(const std::string& spec);
  /// Reads an open stream (not closed here); `name` is used in messages.
  InputStream(std::FILE* stream, std::string name);
  ~InputStream();
  InputStream(const InputStream&) = delete;
  InputStream& operator=(const InputStream&) = delete;

  /// Reads up to `n` bytes of (inflated) data; 0 only at the end.
  std::size_t read(char* buffer, std::size_t n);
  /// Appends everything left to `out`.
  void read_all(std::string& out);

  const std::string& name() const noexcept { return name_; }
  /// True when the input is gzip data (known once the first bytes are read).
  bool compressed() const noexcept { return gzip_; }
  /// Bytes read from the file or stream itself (compressed bytes for gzip input).
  std::uint64_t raw_bytes() const noexcept { return raw_bytes_; }

 private:
  struct Inflater;
  std::size_t read_raw(char* buffer, std::size_t n);
  void start();

  std::string name_;
  std::FILE* file_ = nullptr;
  bool owned_ = false, started_ = false, gzip_ = false, raw_eof_ = false;
  std::uint64_t raw_bytes_ = 0;
  std::string peeked_;  // bytes read to detect gzip, handed out before the rest
  std::unique_ptr<Inflater> inflater_;
};

/// The whole (inflated) text of a data argument: a file path or "-" for standard input.
std::string read_data(const std::string& spec);

/// gzip-compresses bytes in one go (for tests and small outputs).
std::string gzip_compress(std::string_view bytes, int level = 6);

/// An output named by --out: "-" writes to standard output as it goes; a path is
/// written through AtomicFile (a temporary committed by commit(), nothing replaced
/// on failure), gzip-compressed when it ends in ".gz". Writes are buffered.
class OutputStream {
 public:
  explicit OutputStream(const std::string& spec);
  ~OutputStream();
  OutputStream(const OutputStream&) = delete;
  OutputStream& operator=(const OutputStream&) = delete;

  void write(std::string_view bytes);
  /// Flushes (and finishes the gzip stream); a file is renamed into place.
  void commit();
  bool is_stdout() const noexcept { return stdout_; }
  const std::string& name() const noexcept { return name_; }

 private:
  struct Deflater;
  void emit(std::string_view bytes);
  void pass(std::string_view data, int mode);

  std::string name_;
  bool stdout_ = false;
  std::unique_ptr<AtomicFile> file_;
  std::unique_ptr<Deflater> deflater_;
  std::string buffer_;
};

/// Reads CSV from a file or standard input (gzip or not) a block of rows at a time,
/// with the same rules, types and messages (file:line:column counted from the start
/// of the whole input) as parse_csv. The delimiter is sniffed from the first lines
/// and the header read once; every block is typed with the options' overrides, so
/// blocks type alike only when every selected column has an override (as scoring
/// gives them from the model).
class CsvBlockReader {
 public:
  /// Opens the input and reads its header. Throws as parse_csv (an empty file, a
  /// selection naming no column...). `read_chunk`: bytes read at a time.
  CsvBlockReader(const std::string& spec, CsvOptions options, std::size_t read_chunk = std::size_t{1} << 20);
  ~CsvBlockReader();

  /// The next block of up to `rows` data rows (at least one), as a typed table of the
  /// selected columns; false at the end of the input.
  bool next(std::size_t rows, Table& block);
  /// The header's column names (all columns, duplicates renamed as parse_csv does).
  const std::vector<std::string>& header() const noexcept { return header_; }
  char delimiter() const noexcept { return delimiter_; }
  /// Data rows handed out so far.
  std::size_t rows_read() const noexcept { return rows_read_; }
  const std::string& name() const noexcept { return input_.name(); }
  bool compressed() const noexcept { return input_.compressed(); }

 private:
  bool fill(std::size_t at_least);

  InputStream input_;
  CsvOptions options_;
  std::vector<std::string> header_;
  char delimiter_ = ',';
  std::string buffer_;
  std::size_t pos_ = 0;         // start of the unread text in buffer_
  std::size_t line_base_ = 0;   // lines before buffer_[pos_]
  std::size_t read_chunk_;
  std::size_t rows_read_ = 0, bytes_read_ = 0;
  bool eof_ = false;
};

}  // namespace segmenta
