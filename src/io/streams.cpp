// Input and output streams: files and standard input/output, gzip (zlib) on the
// fly, and the block-at-a-time CSV reader built on csv.cpp's slice parser.
#include "segmenta/streams.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "io/internal.hpp"

namespace segmenta {

// ---------------------------------------------------------------------------
// InputStream
// ---------------------------------------------------------------------------

struct InputStream::Inflater {
  z_stream z{};
  std::string in;       // compressed bytes read, not yet inflated
  bool ended = false;   // the current member ended (Z_STREAM_END)
  Inflater() {
    if (inflateInit2(&z, 15 + 16) != Z_OK) throw Error("zlib: cannot initialise inflate");
  }
  ~Inflater() { inflateEnd(&z); }
};

InputStream::InputStream(const std::string& spec) {
  if (spec == "-") {
    name_ = std::string(kStdinName);
    file_ = stdin;
    return;
  }
  name_ = spec;
  file_ = std::fopen(spec.c_str(), "rb");
  if (!file_) throw IoError(fmt::format("{}: cannot open: {}", spec, std::strerror(errno)));
  owned_ = true;
}

InputStream::InputStream(std::FILE* stream, std::string name) : name_(std::move(name)), file_(stream) {}

InputStream::~InputStream() {
  if (owned_ && file_) std::fclose(file_);
}

std::size_t InputStream::read_raw(char* buffer, std::size_t n) {
  if (raw_eof_) return 0;
  const std::size_t got = std::fread(buffer, 1, n, file_);
  raw_bytes_ += got;
  if (got < n) {
    if (std::ferror(file_)) throw IoError(fmt::format("{}: cannot read: {}", name_, std::strerror(errno)));
    raw_eof_ = true;
  }
  return got;
}

void InputStream::start() {
  started_ = true;
  char head[2];
  std::size_t got = 0;
  while (got < 2) {
    const std::size_t g = read_raw(head + got, 2 - got);
    if (g == 0) break;
    got += g;
  }
  peeked_.assign(head, got);
  gzip_ = got == 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b;
  if (gzip_) {
    inflater_ = std::make_unique<Inflater>();
    inflater_->in = std::move(peeked_);
    peeked_.clear();
  }
}

std::size_t InputStream::read(char* buffer, std::size_t n) {
  if (!started_) start();
  if (n == 0) return 0;
  if (!gzip_) {
    std::size_t done = 0;
    if (!peeked_.empty()) {
      done = std::min(n, peeked_.size());
      std::memcpy(buffer, peeked_.data(), done);
      peeked_.erase(0, done);
    }
    while (done < n) {
      const std::size_t g = read_raw(buffer + done, n - done);
      if (g == 0) break;
      done += g;
    }
    return done;
  }
  Inflater& f = *inflater_;
  std::size_t done = 0;
  while (done < n) {
    if (f.ended) {
      // A member ended: another may follow (concatenated gzip files); anything else is an error.
      if (f.in.size() < 2 && !raw_eof_) {
        char more[1 << 16];
        f.in.append(more, read_raw(more, sizeof more));
        continue;
      }
      if (f.in.empty()) break;  // the end of the data
      if (static_cast<unsigned char>(f.in[0]) != 0x1f || f.in.size() < 2 || static_cast<unsigned char>(f.in[1]) != 0x8b)
        throw DataError(fmt::format("{}: unexpected bytes after the end of the gzip data", name_));
      inflateReset(&f.z);
      f.ended = false;
    }
    if (f.in.empty()) {
      char more[1 << 16];
      const std::size_t g = read_raw(more, sizeof more);
      if (g == 0)
        throw DataError(fmt::format("{}: the gzip data is truncated (the file ends inside the compressed stream)", name_));
      f.in.assign(more, g);
    }
    f.z.next_in = reinterpret_cast<Bytef*>(f.in.data());
    f.z.avail_in = static_cast<uInt>(f.in.size());
    f.z.next_out = reinterpret_cast<Bytef*>(buffer + done);
    f.z.avail_out = static_cast<uInt>(std::min<std::size_t>(n - done, 1u << 30));
    const int rc = inflate(&f.z, Z_NO_FLUSH);
    const std::size_t consumed = f.in.size() - f.z.avail_in;
    done = static_cast<std::size_t>(reinterpret_cast<char*>(f.z.next_out) - buffer);
    f.in.erase(0, consumed);
    if (rc == Z_STREAM_END) {
      f.ended = true;
    } else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
      throw DataError(fmt::format("{}: corrupt gzip data ({})", name_, f.z.msg ? f.z.msg : "invalid compressed data"));
    } else if (rc == Z_MEM_ERROR) {
      throw Error(fmt::format("{}: out of memory while inflating gzip data", name_));
    } else if (rc == Z_BUF_ERROR && f.z.avail_in == 0 && raw_eof_) {
      throw DataError(fmt::format("{}: the gzip data is truncated (the file ends inside the compressed stream)", name_));
    }
  }
  return done;
}

void InputStream::read_all(std::string& out) {
  std::size_t chunk = 1 << 16;
  while (true) {
    const std::size_t old = out.size();
    out.resize(old + chunk);
    const std::size_t got = read(out.data() + old, chunk);
    out.resize(old + got);
    if (got == 0) break;
    chunk = std::min<std::size_t>(chunk * 2, 1 << 24);
  }
}

std::string read_data(const std::string& spec) {
  InputStream in(spec);
  std::string text;
  in.read_all(text);
  return text;
}

std::string gzip_compress(std::string_view bytes, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error("zlib: cannot initialise deflate");
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw Error("zlib: deflate failed");
  return out;
}

// ---------------------------------------------------------------------------
// OutputStream
// ---------------------------------------------------------------------------

namespace {
constexpr std::size_t kOutputBuffer = 1 << 20;
}

struct OutputStream::Deflater {
  z_stream z{};
  Deflater() {
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw Error("zlib: cannot initialise deflate");
  }
  ~Deflater() { deflateEnd(&z); }
};

OutputStream::OutputStream(const std::string& spec) : name_(spec) {
  if (spec == "-") {
    stdout_ = true;
    name_ = "<stdout>";
  } else {
    file_ = std::make_unique<AtomicFile>(spec);
  }
  if (spec.size() > 3 && spec.compare(spec.size() - 3, 3, ".gz") == 0) deflater_ = std::make_unique<Deflater>();
  buffer_.reserve(kOutputBuffer);
}

OutputStream::~OutputStream() = default;

void OutputStream::emit(std::string_view bytes) {
  if (bytes.empty()) return;
  if (stdout_) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size())
      throw IoError(fmt::format("<stdout>: cannot write: {}", std::strerror(errno)));
  } else {
    file_->write(bytes);
  }
}

// Sends `data` through the deflater (or straight out without one); Z_FINISH also
// drains the gzip trailer.
void OutputStream::pass(std::string_view data, int mode) {
  if (!deflater_) {
    emit(data);
    return;
  }
  z_stream& z = deflater_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  char out[1 << 16];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(out);
    z.avail_out = sizeof out;
    rc = deflate(&z, mode);
    emit(std::string_view(out, sizeof out - z.avail_out));
  } while (z.avail_out == 0 || (mode == Z_FINISH && rc != Z_STREAM_END));
}

void OutputStream::write(std::string_view bytes) {
  if (buffer_.size() + bytes.size() <= kOutputBuffer) {
    buffer_.append(bytes);
    return;
  }
  pass(buffer_, Z_NO_FLUSH);
  buffer_.clear();
  if (bytes.size() >= kOutputBuffer)
    pass(bytes, Z_NO_FLUSH);
  else
    buffer_.append(bytes);
}

void OutputStream::commit() {
  pass(buffer_, Z_FINISH);
  buffer_.clear();
  if (stdout_) {
    if (std::fflush(stdout) != 0) throw IoError(fmt::format("<stdout>: cannot write: {}", std::strerror(errno)));
  } else {
    file_->commit();
  }
}

// ---------------------------------------------------------------------------
// CsvBlockReader
// ---------------------------------------------------------------------------

bool CsvBlockReader::fill(std::size_t at_least) {
  if (eof_) return false;
  if (pos_ > 0 && pos_ >= buffer_.size() / 2) {
    buffer_.erase(0, pos_);
    pos_ = 0;
  }
  const std::size_t want = std::max(at_least, read_chunk_);
  const std::size_t old = buffer_.size();
  buffer_.resize(old + want);
  std::size_t got = 0;
  while (got < want) {
    const std::size_t g = input_.read(buffer_.data() + old + got, want - got);
    if (g == 0) {
      eof_ = true;
      break;
    }
    got += g;
  }
  buffer_.resize(old + got);
  return got > 0;
}

CsvBlockReader::CsvBlockReader(const std::string& spec, CsvOptions options, std::size_t read_chunk)
    : input_(spec), options_(std::move(options)), read_chunk_(std::max<std::size_t>(read_chunk, 1)) {
  const std::string& name = input_.name();
  const io_detail::CsvHead head = io_detail::read_csv_head(
      buffer_, eof_, [this](std::size_t n) { fill(n); }, options_.delimiter, read_chunk_, name);
  const std::size_t bom = head.bom, end = head.header_end;
  delimiter_ = head.delimiter;
  const std::string_view header_text = std::string_view(buffer_).substr(0, end);
  // Invalid UTF-8 in the header: parse_csv reports it at its place.
  if (io_detail::find_invalid_utf8(header_text.substr(bom)) != std::string_view::npos) parse_csv(header_text, name, options_);
  header_ = io_detail::csv_header(header_text, bom, name, delimiter_, options_.header, 0);
  if (options_.header) {
    pos_ = end;
    line_base_ = static_cast<std::size_t>(std::count(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
  } else {
    pos_ = bom;
  }
  // The selection and the overrides name columns of the header: checked now, before any row.
  if (!options_.columns.empty()) resolve_columns(options_.columns, header_);
  for (const auto& [col, type] : options_.types)
    if (std::find(header_.begin(), header_.end(), col) == header_.end())
      throw ParameterError("types", fmt::format("no column named '{}' in {}", col, name));
}

CsvBlockReader::~CsvBlockReader() = default;

bool CsvBlockReader::next(std::size_t rows, Table& block) {
  if (rows == 0) rows = 1;
  if (options_.max_rows) {
    if (rows_read_ >= options_.max_rows) return false;
    rows = std::min(rows, options_.max_rows - rows_read_);
  }
  CsvOptions options = options_;
  options.header = false;
  options.max_rows = 0;
  io_detail::CsvSlice slice;
  slice.delimiter = delimiter_;
  slice.header = &header_;
  slice.line_base = line_base_;
  slice.max_records = rows;
  std::size_t consumed = 0;
  slice.consumed = &consumed;
  // Enough text for the block, by the bytes per row so far (rows may be longer than
  // that: the block is then split again with more text).
  const double per_row = rows_read_ ? static_cast<double>(bytes_read_) / static_cast<double>(rows_read_) : 128.0;
  const auto want = static_cast<std::size_t>(std::min(per_row * 1.05 * static_cast<double>(rows), 64.0 * (1 << 20))) + 1024;
  while (!eof_ && buffer_.size() - pos_ < want) fill(want - (buffer_.size() - pos_));
  while (true) {
    const std::string_view text = std::string_view(buffer_).substr(pos_);
    if (eof_ && text.find_first_not_of("\r\n") == std::string_view::npos) {
      if (rows_read_ == 0) {
        const std::size_t line = line_base_ + 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
        throw ParseError(input_.name(), line, 1, "no data rows after the header");
      }
      pos_ = buffer_.size();
      return false;
    }
    // Records are split as far as the text read goes; a last record whose line end
    // has not been read yet waits for more text.
    slice.partial = !eof_;
    block = io_detail::parse_csv_slice(text, input_.name(), options, slice);
    if (block.rows() == rows || eof_) break;
    // A short block before the end: read as much again (a very long record is then
    // split a bounded number of times) and split again.
    fill(std::max(read_chunk_, buffer_.size() - pos_));
  }
  const std::string_view done = std::string_view(buffer_).substr(pos_, consumed);
  rows_read_ += block.rows();
  bytes_read_ += consumed;
  line_base_ += static_cast<std::size_t>(std::count(done.begin(), done.end(), '\n'));
  pos_ += consumed;
  return true;
}

}  // namespace segmenta
