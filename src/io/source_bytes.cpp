// SourceData as bytes, and a source read on rank 0 for every rank (source_bytes.hpp).
#include "io/source_bytes.hpp"

#include <bit>
#include <cstring>
#include <limits>
#include <span>

#include <fmt/format.h>

namespace segmenta::io_detail {

namespace {

// "SGSD" and a version: what deserialise_source_data reads first.
constexpr std::string_view kMagic = "SGSD\x01";

class Writer {
 public:
  std::string out;

  void byte(std::uint8_t b) { out.push_back(static_cast<char>(b)); }
  void flag(bool b) { byte(b ? 1 : 0); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      byte(static_cast<std::uint8_t>(v) | 0x80);
      v >>= 7;
    }
    byte(static_cast<std::uint8_t>(v));
  }
  void fixed64(std::uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(static_cast<std::uint8_t>(v >> (8 * i)));
    out.append(b, 8);
  }
  void text(std::string_view s) {
    varint(s.size());
    out.append(s);
  }
  void texts(const std::vector<std::string>& v) {
    varint(v.size());
    for (const std::string& s : v) text(s);
  }
  // Each value's 8 bytes, little endian: the bits as they are (NaN payloads, -0.0).
  void doubles(std::span<const double> v) {
    varint(v.size());
    if constexpr (std::endian::native == std::endian::little) {
      const std::size_t at = out.size();
      out.resize(at + v.size() * sizeof(double));
      if (!v.empty()) std::memcpy(out.data() + at, v.data(), v.size() * sizeof(double));
    } else {
      for (double d : v) fixed64(std::bit_cast<std::uint64_t>(d));
    }
  }
  // The codes in the fewest bytes (1, 2 or 4, little endian, two's complement) that
  // hold every one of them.
  void codes(std::span<const std::int32_t> v) {
    varint(v.size());
    std::int32_t lo = 0, hi = 0;
    for (std::int32_t c : v) {
      lo = std::min(lo, c);
      hi = std::max(hi, c);
    }
    const int width = lo >= std::numeric_limits<std::int8_t>::min() && hi <= std::numeric_limits<std::int8_t>::max() ? 1
                      : lo >= std::numeric_limits<std::int16_t>::min() && hi <= std::numeric_limits<std::int16_t>::max()
                          ? 2
                          : 4;
    byte(static_cast<std::uint8_t>(width));
    append_codes(out, v, static_cast<std::size_t>(width));
  }
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  [[noreturn]] static void fail(std::string_view what) {
    throw Error(fmt::format("the table received from rank 0 cannot be read: {}", what));
  }
  const char* take(std::size_t n) {
    if (n > in_.size() - at_) fail("it is cut short");
    const char* p = in_.data() + at_;
    at_ += n;
    return p;
  }
  std::uint8_t byte() { return static_cast<std::uint8_t>(*take(1)); }
  bool flag() {
    const std::uint8_t b = byte();
    if (b > 1) fail("a flag is neither 0 nor 1");
    return b == 1;
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const std::uint8_t b = byte();
      if (shift == 63 && b > 1) fail("a count is too large");
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("a count is too large");
  }
  std::uint64_t fixed64() {
    const char* p = take(8);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(p[i])) << (8 * i);
    return v;
  }
  // A count of items of at least `unit` bytes each, checked against the bytes left so
  // that bad bytes cannot ask for a huge allocation.
  std::size_t count(std::size_t unit) {
    const std::uint64_t n = varint();
    if (unit && n > (in_.size() - at_) / unit) fail("a count exceeds the bytes left");
    return static_cast<std::size_t>(n);
  }
  std::string text() {
    const std::size_t n = count(1);
    return std::string(take(n), n);
  }
  std::vector<std::string> texts() {
    std::vector<std::string> v(count(1));
    for (std::string& s : v) s = text();
    return v;
  }
  std::vector<double> doubles() {
    std::vector<double> v(count(sizeof(double)));
    const char* p = take(v.size() * sizeof(double));
    if constexpr (std::endian::native == std::endian::little) {
      if (!v.empty()) std::memcpy(v.data(), p, v.size() * sizeof(double));
    } else {
      for (double& d : v) {
        std::uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(*p++)) << (8 * i);
        d = std::bit_cast<double>(u);
      }
    }
    return v;
  }
  std::vector<std::int32_t> codes() {
    const std::uint64_t n = varint();
    const int width = byte();
    if (width != 1 && width != 2 && width != 4) fail("a code width is not 1, 2 or 4");
    if (n > (in_.size() - at_) / static_cast<std::uint64_t>(width)) fail("a count exceeds the bytes left");
    std::vector<std::int32_t> v(static_cast<std::size_t>(n));
    const std::size_t bytes = v.size() * static_cast<std::size_t>(width);
    read_codes(std::string_view(take(bytes), bytes), static_cast<std::size_t>(width), v.data());
    return v;
  }
  bool done() const noexcept { return at_ == in_.size(); }

 private:
  std::string_view in_;
  std::size_t at_ = 0;
};

void write_dates(Writer& w, const DateReadings& dates) {
  w.varint(dates.size());
  for (const auto& [name, reading] : dates) {
    w.text(name);
    w.byte(static_cast<std::uint8_t>(reading.order));
    w.fixed64(static_cast<std::uint64_t>(reading.reference));
  }
}

DateReadings read_dates(Reader& r) {
  DateReadings dates(r.count(10));
  for (auto& [name, reading] : dates) {
    name = r.text();
    const std::uint8_t order = r.byte();
    if (order > static_cast<std::uint8_t>(DateOrder::mdy)) Reader::fail("a date order is unknown");
    reading.order = static_cast<DateOrder>(order);
    reading.reference = static_cast<std::int64_t>(r.fixed64());
  }
  return dates;
}

}  // namespace

void append_codes(std::string& out, std::span<const std::int32_t> codes, std::size_t width) {
  const std::size_t at = out.size();
  out.resize(at + codes.size() * width);
  char* p = out.data() + at;
  for (std::int32_t c : codes) {
    const auto u = static_cast<std::uint32_t>(c);
    for (std::size_t i = 0; i < width; ++i) *p++ = static_cast<char>(static_cast<std::uint8_t>(u >> (8 * i)));
  }
}

void read_codes(std::string_view bytes, std::size_t width, std::int32_t* out) {
  const char* p = bytes.data();
  for (std::size_t k = 0, n = bytes.size() / width; k < n; ++k) {
    std::uint32_t u = 0;
    for (std::size_t i = 0; i < width; ++i) u |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(*p++)) << (8 * i);
    if (width < 4 && (u >> (8 * width - 1)) & 1) u |= ~std::uint32_t{0} << (8 * width);  // sign extension
    out[k] = static_cast<std::int32_t>(u);
  }
}

std::string serialise_source_data(const SourceData& data, const Diagnostics& diagnostics, const DateReadings& dates) {
  Writer w;
  std::size_t cells = 0;
  for (const Column& c : data.table.columns()) cells += c.numbers.size() * 8 + c.codes.size();
  w.out.reserve(kMagic.size() + cells + 1024);
  w.out.append(kMagic);

  const Table& t = data.table;
  w.text(t.source());
  w.varint(t.cols());
  for (const Column& c : t.columns()) {
    w.text(c.name);
    w.byte(static_cast<std::uint8_t>(c.type));
    w.flag(c.integral);
    w.byte(static_cast<std::uint8_t>(c.decimal));
    w.varint(c.missing);
    w.doubles(c.numbers);
    w.codes(c.codes);
    w.texts(c.levels);
  }

  const Provenance& p = data.provenance;
  w.text(p.kind);
  w.text(p.name);
  w.flag(p.bytes.has_value());
  if (p.bytes) w.fixed64(*p.bytes);
  w.flag(p.fnv1a64.has_value());
  if (p.fnv1a64) w.fixed64(*p.fnv1a64);
  w.varint(p.extra.size());
  for (const auto& [key, value] : p.extra) {
    w.text(key);
    w.text(value);
  }
  w.text(p.key_name);
  w.text(p.key_type);
  w.texts(p.keys);
  write_dates(w, p.dates);

  w.varint(diagnostics.size());
  for (const Diagnostic& d : diagnostics.items()) {
    w.byte(static_cast<std::uint8_t>(d.level));
    w.text(d.stage);
    w.text(d.code);
    w.text(d.message);
  }
  write_dates(w, dates);
  return std::move(w.out);
}

void deserialise_source_data(std::string_view bytes, SourceData& data, Diagnostics& diagnostics, DateReadings& dates) {
  Reader r(bytes);
  if (std::string_view(r.take(std::min(kMagic.size(), bytes.size())), std::min(kMagic.size(), bytes.size())) != kMagic)
    Reader::fail("it does not start as a serialised table does");

  SourceData out;
  std::string source = r.text();
  std::vector<Column> columns(r.count(1));
  for (Column& c : columns) {
    c.name = r.text();
    const std::uint8_t type = r.byte();
    if (type > static_cast<std::uint8_t>(ColumnType::text)) Reader::fail("a column type is unknown");
    c.type = static_cast<ColumnType>(type);
    c.integral = r.flag();
    c.decimal = static_cast<char>(r.byte());
    c.missing = static_cast<std::size_t>(r.varint());
    c.numbers = r.doubles();
    c.codes = r.codes();
    c.levels = r.texts();
  }
  try {
    out.table = Table(std::move(source), std::move(columns));
  } catch (const InvalidArgument& e) {
    Reader::fail(e.what());
  }

  Provenance& p = out.provenance;
  p.kind = r.text();
  p.name = r.text();
  if (r.flag()) p.bytes = r.fixed64();
  if (r.flag()) p.fnv1a64 = r.fixed64();
  p.extra.resize(r.count(2));
  for (auto& [key, value] : p.extra) {
    key = r.text();
    value = r.text();
  }
  p.key_name = r.text();
  p.key_type = r.text();
  p.keys = r.texts();
  p.dates = read_dates(r);

  Diagnostics diags;
  const std::size_t n_diagnostics = r.count(4);
  for (std::size_t i = 0; i < n_diagnostics; ++i) {
    Diagnostic d;
    const std::uint8_t level = r.byte();
    if (level > static_cast<std::uint8_t>(Diagnostic::Level::warning)) Reader::fail("a diagnostic's level is unknown");
    d.level = static_cast<Diagnostic::Level>(level);
    d.stage = r.text();
    d.code = r.text();
    d.message = r.text();
    diags.add(std::move(d));
  }
  DateReadings read = read_dates(r);
  if (!r.done()) Reader::fail("bytes are left over after it");
  data = std::move(out);
  diagnostics = std::move(diags);
  dates = std::move(read);
}

SourceData read_on_root(const std::function<SourceData()>& read, const Communicator& comm, Diagnostics& diagnostics,
                        DateReadings& dates, std::size_t* broadcast_bytes) {
  if (broadcast_bytes) *broadcast_bytes = 0;
  if (comm.size() == 1) return read();
  SourceData data;
  std::string bytes;
  // The other ranks wait, sleeping, while rank 0 reads; its error is theirs.
  agree_on_root_outcome(comm, 0, [&] {
    data = read();
    bytes = serialise_source_data(data, diagnostics, dates);
  });
  comm.broadcast(bytes, 0);
  if (broadcast_bytes) *broadcast_bytes = bytes.size();
  agree_on_failure(comm, [&] {
    if (comm.rank() != 0) deserialise_source_data(bytes, data, diagnostics, dates);
  });
  return data;
}

}  // namespace segmenta::io_detail
