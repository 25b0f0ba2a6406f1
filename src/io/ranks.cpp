// A CSV file read by the ranks of an MPI run: each rank reads the lines that start
// in its share of the bytes and checks them; the shares travel to every rank, and
// every rank parses the file's text as one process would.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "io/internal.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"
#include "segmenta/streams.hpp"

namespace segmenta {
namespace {

/// A file opened for reading at offsets; closed on every path.
class RangeFile {
 public:
  explicit RangeFile(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "rb")) {
    if (!f_) throw IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  ~RangeFile() { std::fclose(f_); }
  RangeFile(const RangeFile&) = delete;
  RangeFile& operator=(const RangeFile&) = delete;

  std::uint64_t size() {
    seek(0, SEEK_END);
    const off_t end = ::ftello(f_);
    if (end < 0) fail();
    return static_cast<std::uint64_t>(end);
  }
  /// Up to n bytes from `offset` (fewer at the end of the file).
  std::string read(std::uint64_t offset, std::size_t n) {
    seek(static_cast<off_t>(offset), SEEK_SET);
    std::string out(n, '\0');
    const std::size_t got = std::fread(out.data(), 1, n, f_);
    if (got < n && std::ferror(f_)) fail();
    out.resize(got);
    return out;
  }
  /// The first line start at or after `pos`: pos itself at 0 or after a '\n', else
  /// the byte after the next '\n' (the file's size when there is none).
  std::uint64_t line_start_from(std::uint64_t pos, std::uint64_t file_size) {
    if (pos == 0 || pos >= file_size) return std::min(pos, file_size);
    std::uint64_t at = pos - 1;
    constexpr std::size_t kChunk = 1 << 16;
    while (at < file_size) {
      const std::string chunk = read(at, kChunk);
      if (chunk.empty()) break;
      if (const void* nl = std::memchr(chunk.data(), '\n', chunk.size()))
        return at + static_cast<std::uint64_t>(static_cast<const char*>(nl) - chunk.data()) + 1;
      at += chunk.size();
    }
    return file_size;
  }

 private:
  void seek(off_t offset, int whence) {
    if (::fseeko(f_, offset, whence) != 0) fail();
  }
  [[noreturn]] void fail() { throw IoError(fmt::format("{}: cannot read: {}", path_, std::strerror(errno))); }

  const std::string& path_;
  std::FILE* f_;
};

bool is_gzip(const std::string& head) { return head.size() >= 2 && head[0] == '\x1f' && head[1] == '\x8b'; }

/// line:column (1-based, columns in code points) of `offset` in `part`, whose first
/// line is line `line_base + 1` of the file and starts at the part's first byte.
std::pair<std::size_t, std::size_t> place_in_part(std::string_view part, std::size_t offset, std::size_t line_base) {
  std::size_t line = line_base + 1, line_start = 0;
  for (std::size_t i = 0; i < offset; ++i)
    if (part[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  std::size_t column = 1;
  for (std::size_t i = line_start; i < offset; ++i)
    if ((static_cast<unsigned char>(part[i]) & 0xC0) != 0x80) ++column;
  return {line, column};
}

}  // namespace

SourceData read_csv_on_ranks(const std::string& path, const CsvOptions& options, const Communicator& comm) {
  const int rank = comm.rank(), size = comm.size();
  std::string part;
  bool whole = false;  // a gzip file: every rank reads all of it
  agree_on_failure(comm, [&] {
    RangeFile file(path);
    const std::uint64_t n = file.size();
    whole = is_gzip(file.read(0, 2));
    if (whole) return;
    const std::uint64_t begin = file.line_start_from(n * static_cast<std::uint64_t>(rank) / size, n);
    const std::uint64_t end = file.line_start_from(n * static_cast<std::uint64_t>(rank + 1) / size, n);
    if (end - begin > std::numeric_limits<std::size_t>::max() / 2) throw InvalidArgument(path + ": part too large");
    part = file.read(begin, static_cast<std::size_t>(end - begin));
    if (part.size() != end - begin) throw IoError(fmt::format("{}: cannot read: the file changed while read", path));
  });
  if (whole) {
    SourceData out;
    agree_on_failure(comm, [&] { out = CsvFileSource(path, options).read(); });
    return out;
  }
  // Where each part's lines start in the file, for messages about a part's bytes.
  const std::int64_t newlines = static_cast<std::int64_t>(std::count(part.begin(), part.end(), '\n'));
  const std::vector<std::int64_t> counts = comm.allgather(std::span<const std::int64_t>(&newlines, 1));
  std::size_t line_base = 0;
  for (int r = 0; r < rank; ++r) line_base += static_cast<std::size_t>(counts[static_cast<std::size_t>(r)]);
  agree_on_failure(comm, [&] {
    // The checks parse_csv makes first, each on its part (UTF-16 at the start of the file).
    if (rank == 0 && io_detail::looks_utf16(part))
      throw ParseError(path, 1, 1, "the file is UTF-16; save it as UTF-8 (segmenta reads UTF-8 text)");
    const std::size_t bad = io_detail::find_invalid_utf8(part);
    if (bad != std::string_view::npos) {
      const auto [line, column] = place_in_part(part, bad, line_base);
      throw ParseError(path, line, column, "invalid UTF-8 byte sequence");
    }
  });
  // The parts in rank order are the file's bytes.
  std::vector<std::string> parts = comm.allgather_bytes(part);
  part.clear();
  part.shrink_to_fit();
  std::string text;
  {
    std::size_t total = 0;
    for (const auto& p : parts) total += p.size();
    text.reserve(total);
    for (auto& p : parts) {
      text += p;
      std::string().swap(p);
    }
  }
  SourceData out;
  agree_on_failure(comm, [&] { out.table = parse_csv(text, path, options); });
  out.provenance.kind = "file";
  out.provenance.name = path;
  out.provenance.bytes = text.size();
  out.provenance.fnv1a64 = fnv1a64(text);
  out.provenance.extra.emplace_back("ranks", std::to_string(size));
  return out;
}

}  // namespace segmenta
