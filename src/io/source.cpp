// Sources: a CSV file or standard input, each parsed by parse_csv, with provenance.
#include <fmt/format.h>

#include "io/internal.hpp"
#include "segmenta/io.hpp"
#include "segmenta/postgres.hpp"
#include "segmenta/streams.hpp"

namespace segmenta {
namespace {

/// Parses CSV bytes and records their size and hash; the bytes are dropped here.
SourceData parse_bytes(InputStream& in, std::string_view kind, const std::string& name, const CsvOptions& options) {
  std::string bytes;
  in.read_all(bytes);
  SourceData out{parse_csv(bytes, name, options), {}};
  out.provenance.kind = std::string(kind);
  out.provenance.name = name;
  out.provenance.bytes = bytes.size();
  out.provenance.fnv1a64 = fnv1a64(bytes);
  // Size and hash are those of the CSV text; the compressed size is recorded apart.
  if (in.compressed()) {
    out.provenance.extra.emplace_back("compression", "gzip");
    out.provenance.extra.emplace_back("compressed_bytes", std::to_string(in.raw_bytes()));
  }
  return out;
}

}  // namespace

std::string Provenance::fnv1a64_hex() const { return fnv1a64 ? fmt::format("{:016x}", *fnv1a64) : std::string(); }

CsvFileSource::CsvFileSource(std::string path, CsvOptions options)
    : path_(std::move(path)), options_(std::move(options)) {}

SourceData CsvFileSource::read() {
  if (options_.max_rows > 0 || !io_detail::is_regular_file(path_)) {
    InputStream in(path_);
    return parse_bytes(in, kind(), path_, options_);
  }
  // Read a block at a time, without a copy of the whole text (csv_stream.cpp).
  std::size_t bytes = 0, compressed = 0;
  std::uint64_t hash = 0;
  SourceData out{io_detail::read_csv_blocks(path_, options_, 0, &bytes, &hash, &compressed), {}};
  out.provenance.kind = std::string(kind());
  out.provenance.name = path_;
  out.provenance.bytes = bytes;
  out.provenance.fnv1a64 = hash;
  if (compressed > 0) {
    out.provenance.extra.emplace_back("compression", "gzip");
    out.provenance.extra.emplace_back("compressed_bytes", std::to_string(compressed));
  }
  return out;
}

StdinSource::StdinSource(CsvOptions options, std::FILE* stream) : options_(std::move(options)), stream_(stream) {}

SourceData StdinSource::read() {
  if (consumed_) throw InvalidArgument(name_ + ": standard input was read already; it can be read only once");
  consumed_ = true;
  InputStream in(stream_, name_);
  return parse_bytes(in, kind(), name_, options_);
}

std::unique_ptr<Source> open_source(const std::string& spec, const CsvOptions& options) {
  if (spec.empty()) throw InvalidArgument("data: empty; give a CSV file path, or - for standard input");
  if (spec == "-") return std::make_unique<StdinSource>(options);
  if (is_postgres_uri(spec)) return std::make_unique<PostgresSource>(spec, PostgresQuery{}, options);
  return std::make_unique<CsvFileSource>(spec, options);
}

}  // namespace segmenta
