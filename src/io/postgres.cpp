// PostgreSQL: URIs without passwords, the source (rows streamed with COPY TO STDOUT
// into typed columns) and the connection the database sink writes through.
#include "segmenta/postgres.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <unordered_map>

#include <fmt/format.h>

#ifdef SEGMENTA_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

namespace segmenta {

bool is_postgres_uri(std::string_view spec) noexcept {
  return spec.starts_with("postgresql://") || spec.starts_with("postgres://");
}

std::string redact_postgres_uri(std::string_view uri) {
  const std::size_t scheme = uri.find("://");
  if (scheme == std::string_view::npos) return std::string(uri);
  const std::size_t start = scheme + 3;
  std::size_t end = uri.find_first_of("/?", start);
  if (end == std::string_view::npos) end = uri.size();
  std::string out(uri.substr(0, start));
  const std::string_view authority = uri.substr(start, end - start);
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    out.append(userinfo.substr(0, userinfo.find(':')));
    out.append(authority.substr(at));
  } else {
    out.append(authority);
  }
  const std::size_t q = uri.find('?', end);
  out.append(uri.substr(end, (q == std::string_view::npos ? uri.size() : q) - end));
  if (q != std::string_view::npos) {
    // Parameters, without password=.
    std::string kept;
    std::string_view rest = uri.substr(q + 1);
    while (!rest.empty()) {
      const std::size_t amp = rest.find('&');
      const std::string_view item = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (item.starts_with("password=") || item == "password") continue;
      kept += (kept.empty() ? "" : "&") + std::string(item);
    }
    if (!kept.empty()) out += "?" + kept;
  }
  return out;
}

namespace {

[[noreturn, maybe_unused]] void unsupported(std::string_view uri) {
  throw InvalidArgument(fmt::format("{}: segmenta was built without PostgreSQL support (libpq); rebuild with "
                                    "libpq-dev installed and -DSEGMENTA_POSTGRES=ON",
                                    redact_postgres_uri(uri)));
}

}  // namespace

std::unique_ptr<Source> open_source(const std::string& spec, const CsvOptions& options, const PostgresQuery& what) {
  if (!is_postgres_uri(spec)) {
    if (!what.table.empty()) throw ParameterError("table", "only with a postgresql:// data argument");
    if (!what.query.empty()) throw ParameterError("query", "only with a postgresql:// data argument");
    return open_source(spec, options);
  }
  return std::make_unique<PostgresSource>(spec, what, options);
}

#ifndef SEGMENTA_HAVE_LIBPQ

bool postgres_supported() noexcept { return false; }
PostgresSource::PostgresSource(std::string uri, PostgresQuery, CsvOptions) { unsupported(uri); }
SourceData PostgresSource::read() { unsupported(uri_); }
struct PostgresConnection::Impl {};
PostgresConnection::PostgresConnection(const std::string& uri, std::string) { unsupported(uri); }
PostgresConnection::~PostgresConnection() = default;
void PostgresConnection::execute(const std::string&) {}
std::optional<std::string> PostgresConnection::value(const std::string&, const std::vector<std::string>&) { return {}; }
void PostgresConnection::copy_in(const std::string&, const std::function<bool(std::string&)>&) {}
std::string PostgresConnection::identifier(std::string_view name) const { return std::string(name); }
const std::string& PostgresConnection::name() const noexcept {
  static const std::string none;
  return none;
}
int PostgresConnection::backend_pid() const { return 0; }

#else

bool postgres_supported() noexcept { return true; }

namespace {

/// A libpq message on one line: lines joined, runs of blanks collapsed.
std::string one_line(const char* message) {
  std::string out;
  bool blank = false;
  for (const char* p = message ? message : ""; *p; ++p) {
    const char c = *p;
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      blank = !out.empty();
      continue;
    }
    if (blank) out += ' ';
    blank = false;
    out += c;
  }
  return out.empty() ? std::string("unknown error") : out;
}

/// The first line of a libpq message, without a severity prefix ("FATAL:  "): libpq
/// adds lines of advice ("This probably means...") after what happened.
std::string first_line(const char* message) {
  std::string_view m = message ? message : "";
  m = m.substr(0, m.find('\n'));
  for (std::string_view severity : {"FATAL:", "ERROR:", "PANIC:"})
    if (m.starts_with(severity)) m.remove_prefix(severity.size());
  return one_line(std::string(m).c_str());
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

/// A connection with its settings for reading and writing values as text the same
/// way everywhere: UTF-8, ISO dates, UTC, floats in full precision.
class Session {
 public:
  Session(const std::string& uri, std::string doing) : name_(redact_postgres_uri(uri)), doing_(std::move(doing)) {
    conn_ = PQconnectdb(uri.c_str());
    if (!conn_) fail("cannot allocate a connection");
    // A constructor that throws runs no destructor: a failed connection is closed here.
    try {
      if (PQstatus(conn_) != CONNECTION_OK) fail(first_line(PQerrorMessage(conn_)));
      execute("SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; "
              "SET extra_float_digits = 3; SET client_min_messages = warning");
    } catch (...) {
      PQfinish(conn_);
      conn_ = nullptr;
      throw;
    }
  }
  ~Session() {
    if (conn_) PQfinish(conn_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  PGconn* get() const noexcept { return conn_; }
  const std::string& name() const noexcept { return name_; }
  void set_doing(std::string doing) { doing_ = std::move(doing); }

  [[noreturn]] void fail(const std::string& message) const {
    throw IoError(fmt::format("{} {}: {}", doing_, name_, message));
  }
  /// The server's primary message of a failed result (libpq's message otherwise).
  [[noreturn]] void fail(const PGresult* r) const {
    const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    if (primary) fail(one_line(primary));
    // A lost connection: the connection's message says why (the server's FATAL first).
    if (PQstatus(conn_) == CONNECTION_BAD) fail(first_line(PQerrorMessage(conn_)));
    const char* message = r ? PQresultErrorMessage(r) : nullptr;
    fail(first_line(message && *message ? message : PQerrorMessage(conn_)));
  }
  void check(const Result& r, ExecStatusType want) const {
    if (!r || PQresultStatus(r.get()) != want) fail(r.get());
  }
  void execute(const std::string& sql) {
    Result r(PQexec(conn_, sql.c_str()));
    check(r, PGRES_COMMAND_OK);
  }
  Result query(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    Result r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0));
    check(r, PGRES_TUPLES_OK);
    return r;
  }
  std::string identifier(std::string_view name) const {
    char* q = PQescapeIdentifier(conn_, name.data(), name.size());
    if (!q) fail(one_line(PQerrorMessage(conn_)));
    std::string out(q);
    PQfreemem(q);
    return out;
  }

 private:
  PGconn* conn_ = nullptr;
  std::string name_, doing_;
};

// ---- values as the server writes them (text format, the settings above)

/// How a column's values are read.
enum class Kind { integer, number, boolean, date, timestamp, text };

/// Days from 1970-01-01 to a proleptic Gregorian date.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool read_int(std::string_view& s, std::size_t digits, int& out) {
  if (s.size() < digits) return false;
  out = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  s.remove_prefix(digits);
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

/// "YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM[:SS]]]" (ISO, years of four digits or more,
/// no BC) as seconds since 1970-01-01 UTC (days for a date); false if not one.
bool parse_datetime(std::string_view s, bool with_time, double& out) {
  std::size_t year_digits = 0;
  while (year_digits < s.size() && s[year_digits] >= '0' && s[year_digits] <= '9') ++year_digits;
  int y = 0, mo = 0, d = 0;
  if (year_digits < 4 || year_digits > 6 || !read_int(s, year_digits, y) || !expect(s, '-') || !read_int(s, 2, mo) ||
      !expect(s, '-') || !read_int(s, 2, d))
    return false;
  const double days = static_cast<double>(days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)));
  if (!with_time) {
    out = days;
    return s.empty();
  }
  int h = 0, mi = 0, sec = 0;
  if (!expect(s, ' ') || !read_int(s, 2, h) || !expect(s, ':') || !read_int(s, 2, mi) || !expect(s, ':') ||
      !read_int(s, 2, sec))
    return false;
  double fraction = 0.0;
  if (!s.empty() && s.front() == '.') {
    double scale = 0.1;
    s.remove_prefix(1);
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
      fraction += scale * (s.front() - '0');
      scale /= 10;
      s.remove_prefix(1);
    }
  }
  double offset = 0.0;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    const double sign = s.front() == '-' ? -1.0 : 1.0;
    s.remove_prefix(1);
    int oh = 0, om = 0, os = 0;
    if (!read_int(s, 2, oh)) return false;
    if (expect(s, ':') && !read_int(s, 2, om)) return false;
    if (expect(s, ':') && !read_int(s, 2, os)) return false;
    offset = sign * (oh * 3600.0 + om * 60.0 + os);
  }
  out = days * 86400.0 + h * 3600.0 + mi * 60.0 + sec + fraction - offset;
  return s.empty();
}

/// A number as the server writes it; false if not one. "NaN" reads as NaN.
bool parse_server_number(std::string_view s, double& out, bool& integral) {
  if (s == "NaN") {
    out = std::nan("");
    integral = false;
    return true;
  }
  if (s == "Infinity" || s == "-Infinity") {
    out = s.front() == '-' ? -HUGE_VAL : HUGE_VAL;
    integral = false;
    return true;
  }
  std::string_view body = s;
  while (!body.empty() && (body.front() == ' ')) body.remove_prefix(1);
  while (!body.empty() && (body.back() == ' ')) body.remove_suffix(1);
  if (!body.empty() && body.front() == '+') body.remove_prefix(1);
  if (body.empty()) return false;
  const auto r = std::from_chars(body.data(), body.data() + body.size(), out);
  if (r.ec == std::errc::result_out_of_range) {
    out = std::strtod(std::string(body).c_str(), nullptr);
  } else if (r.ec != std::errc() || r.ptr != body.data() + body.size()) {
    return false;
  }
  integral = std::all_of(body.begin(), body.end(), [](char c) { return (c >= '0' && c <= '9') || c == '-'; });
  return true;
}

/// One column being filled row by row: numbers, or codes into levels.
struct ColumnBuilder {
  std::string name;
  Kind kind = Kind::text;
  std::optional<ColumnType> forced;
  bool numeric = false;   // filled as numbers
  bool keep_raw = false;  // a numeric column named like an identifier keeps its text
  std::vector<double> numbers;
  std::vector<std::string> raw;
  bool integral = true;
  std::vector<std::int32_t> codes;
  std::vector<std::string> levels;
  std::unordered_map<std::string, std::int32_t> index;
  std::size_t missing = 0, total_length = 0, blanks = 0;

  void push_null() {
    ++missing;
    if (numeric) {
      numbers.push_back(std::nan(""));
      if (keep_raw) raw.emplace_back();
    } else {
      codes.push_back(-1);
    }
  }

  /// Appends a value; returns a message when it cannot be read.
  std::optional<std::string> push(std::string_view text) {
    if (!numeric) {
      std::string_view v = text;
      if (kind == Kind::boolean && !forced) v = text == "t" ? "true" : text == "f" ? "false" : text;
      total_length += v.size();
      blanks += static_cast<std::size_t>(std::count(v.begin(), v.end(), ' '));
      auto [it, inserted] = index.try_emplace(std::string(v), static_cast<std::int32_t>(levels.size()));
      if (inserted) levels.emplace_back(v);
      codes.push_back(it->second);
      return std::nullopt;
    }
    double x = 0.0;
    bool is_integral = kind == Kind::integer;
    bool ok = false;
    if (kind == Kind::date || kind == Kind::timestamp) {
      ok = parse_datetime(text, kind == Kind::timestamp, x);
      is_integral = kind == Kind::date;
      if (!ok) return fmt::format("column '{}': '{}' is not a date the number of days can be taken of", name, text);
    } else {
      ok = parse_server_number(text, x, is_integral);
      if (!ok) return fmt::format("column '{}' is declared numeric but '{}' is not a number", name, text);
    }
    if (std::isinf(x)) return fmt::format("column '{}': '{}' is not a finite number", name, text);
    if (std::isnan(x)) {
      push_null();
      return std::nullopt;
    }
    integral = integral && is_integral;
    numbers.push_back(x);
    if (keep_raw) raw.emplace_back(text);
    return std::nullopt;
  }

  Column finish() {
    Column col;
    col.name = name;
    col.missing = missing;
    if (numeric) {
      const std::size_t n = numbers.size();
      bool id = false;
      if (keep_raw && missing == 0 && n > 0) {
        std::vector<double> sorted = numbers;
        std::sort(sorted.begin(), sorted.end());
        id = std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
      }
      if (!id) {
        col.type = ColumnType::numeric;
        col.integral = integral && missing < n;
        col.numbers = std::move(numbers);
        return col;
      }
      // An identifier: its text, never a feature (as infer_types does).
      col.type = ColumnType::id;
      col.codes.resize(n);
      col.levels = std::move(raw);
      for (std::size_t i = 0; i < n; ++i) col.codes[i] = static_cast<std::int32_t>(i);
      return col;
    }
    const std::size_t n = codes.size();
    col.codes = std::move(codes);
    std::size_t longest = 0;
    for (const auto& level : levels) longest = std::max(longest, level.size());
    col.type = forced ? *forced : classify_text_column(name, n, missing, levels.size(), total_length, blanks, longest);
    col.levels = std::move(levels);
    return col;
  }
};

Kind kind_of(const std::string& type_name, char type_type) {
  if (type_name == "int2" || type_name == "int4" || type_name == "int8" || type_name == "oid") return Kind::integer;
  if (type_name == "numeric" || type_name == "float4" || type_name == "float8") return Kind::number;
  if (type_name == "bool") return Kind::boolean;
  if (type_name == "date") return Kind::date;
  if (type_name == "timestamp" || type_name == "timestamptz") return Kind::timestamp;
  (void)type_type;  // enums ('e') and every other type: text
  return Kind::text;
}

/// Splits one COPY text-format row (without its newline) into fields, decoding
/// backslash escapes; a field of exactly \N is NULL.
void split_copy_row(std::string_view line, std::vector<std::string>& fields, std::vector<bool>& nulls) {
  std::size_t f = 0;
  auto field = [&]() -> std::string& {
    if (f == fields.size()) {
      fields.emplace_back();
      nulls.push_back(false);
    }
    fields[f].clear();
    nulls[f] = false;
    return fields[f];
  };
  std::string* cur = &field();
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\t') {
      ++f;
      cur = &field();
      continue;
    }
    if (c != '\\' || i + 1 >= line.size()) {
      cur->push_back(c);
      continue;
    }
    const char e = line[++i];
    switch (e) {
      case 'N':
        nulls[f] = true;
        break;
      case 'b': cur->push_back('\b'); break;
      case 'f': cur->push_back('\f'); break;
      case 'n': cur->push_back('\n'); break;
      case 'r': cur->push_back('\r'); break;
      case 't': cur->push_back('\t'); break;
      case 'v': cur->push_back('\v'); break;
      case 'x': {
        int v = 0, k = 0;
        while (k < 2 && i + 1 < line.size() && std::isxdigit(static_cast<unsigned char>(line[i + 1]))) {
          const char h = line[++i];
          v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
          ++k;
        }
        cur->push_back(static_cast<char>(v));
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', k = 1;
          while (k < 3 && i + 1 < line.size() && line[i + 1] >= '0' && line[i + 1] <= '7') {
            v = v * 8 + (line[++i] - '0');
            ++k;
          }
          cur->push_back(static_cast<char>(v));
        } else {
          cur->push_back(e);
        }
    }
  }
  fields.resize(f + 1);
  nulls.resize(f + 1);
}

}  // namespace

PostgresSource::PostgresSource(std::string uri, PostgresQuery what, CsvOptions options)
    : uri_(std::move(uri)), name_(redact_postgres_uri(uri_)), what_(std::move(what)), options_(std::move(options)) {
  if (what_.table.empty() && what_.query.empty())
    throw ParameterError("table", fmt::format("{}: give the table to read (--table) or a query (--query)", name_));
  if (!what_.table.empty() && !what_.query.empty())
    throw ParameterError("query", "give either --table or --query, not both");
}

SourceData PostgresSource::read() {
  Session s(uri_, "connecting to");
  s.set_doing("reading");
  SourceData out;
  Provenance& prov = out.provenance;
  prov.kind = "postgresql";
  prov.name = name_;
  const char* host = PQhost(s.get());
  const char* port = PQport(s.get());
  prov.extra.emplace_back("server", fmt::format("{}:{}", host ? host : "", port ? port : ""));
  prov.extra.emplace_back("database", PQdb(s.get()) ? PQdb(s.get()) : "");

  // What to run: the table (in primary-key order when it has a one-column key) or the query.
  std::string sql;
  std::string key_column;
  if (!what_.table.empty()) {
    const Result rel = s.query("SELECT $1::regclass::oid::text, $1::regclass::text", {what_.table});
    const std::string oid = PQgetvalue(rel.get(), 0, 0);
    const std::string relation = PQgetvalue(rel.get(), 0, 1);
    const Result pk = s.query(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = $1::oid AND i.indisprimary",
        {oid});
    sql = "SELECT * FROM " + relation;
    if (PQntuples(pk.get()) == 1) {
      key_column = PQgetvalue(pk.get(), 0, 0);
      sql += " ORDER BY " + s.identifier(key_column);
    }
    prov.extra.emplace_back("table", relation);
  } else {
    sql = what_.query;
    while (!sql.empty() && (sql.back() == ';' || std::isspace(static_cast<unsigned char>(sql.back())))) sql.pop_back();
    prov.extra.emplace_back("query", what_.query);
  }

  // The result's columns and their types, without running it.
  Result prepared(PQprepare(s.get(), "", sql.c_str(), 0, nullptr));
  s.check(prepared, PGRES_COMMAND_OK);
  Result described(PQdescribePrepared(s.get(), ""));
  s.check(described, PGRES_COMMAND_OK);
  const int n_fields = PQnfields(described.get());
  if (n_fields == 0) s.fail("the query returns no columns");
  std::vector<std::string> header;
  std::vector<Oid> oids;
  std::vector<int> mods;
  for (int j = 0; j < n_fields; ++j) {
    header.emplace_back(PQfname(described.get(), j));
    oids.push_back(PQftype(described.get(), j));
    mods.push_back(PQfmod(described.get(), j));
  }
  std::string oid_list;
  for (Oid o : oids) oid_list += (oid_list.empty() ? "{" : ",") + std::to_string(o);
  oid_list += "}";
  // Domains read as their base types.
  const Result types = s.query(
      "SELECT t.oid::text, coalesce(b.typname, t.typname), coalesce(b.typtype, t.typtype) FROM pg_type t "
      "LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype WHERE t.oid = ANY($1::oid[])",
      {oid_list});
  std::unordered_map<std::string, std::pair<std::string, char>> type_of;
  for (int i = 0; i < PQntuples(types.get()); ++i)
    type_of[PQgetvalue(types.get(), i, 0)] = {PQgetvalue(types.get(), i, 1), PQgetvalue(types.get(), i, 2)[0]};

  // The selected columns, their builders, and the key.
  const std::vector<std::size_t> selected = options_.columns.empty()
                                                ? [&] {
                                                    std::vector<std::size_t> all(header.size());
                                                    for (std::size_t j = 0; j < all.size(); ++j) all[j] = j;
                                                    return all;
                                                  }()
                                                : resolve_columns(options_.columns, header, "columns");
  for (const auto& override_type : options_.types) {
    const std::string& name = override_type.first;  // (clang 14 cannot capture a structured binding)
    if (std::none_of(selected.begin(), selected.end(), [&](std::size_t j) { return header[j] == name; }))
      throw ParameterError("types", fmt::format("no column named '{}' in {}", name, name_));
  }
  std::vector<ColumnBuilder> builders(selected.size());
  for (std::size_t c = 0; c < selected.size(); ++c) {
    ColumnBuilder& b = builders[c];
    const std::size_t j = selected[c];
    b.name = header[j];
    const auto t = type_of.find(std::to_string(oids[j]));
    b.kind = t == type_of.end() ? Kind::text : kind_of(t->second.first, t->second.second);
    for (const auto& [name, type] : options_.types)
      if (name == b.name) b.forced = type;
    const bool numeric_kind = b.kind == Kind::integer || b.kind == Kind::number || b.kind == Kind::date ||
                              b.kind == Kind::timestamp;
    b.numeric = b.forced ? *b.forced == ColumnType::numeric : numeric_kind;
    if (b.numeric && !numeric_kind) b.kind = Kind::number;  // a text column declared numeric: parse its values
    b.keep_raw = b.numeric && !b.forced && b.kind == Kind::integer && named_like_identifier(b.name);
  }
  std::optional<std::size_t> key;
  if (!key_column.empty()) {
    key = std::find(header.begin(), header.end(), key_column) - header.begin();
  } else {
    for (std::size_t j = 0; j < header.size() && !key; ++j)
      if (named_like_identifier(header[j])) key = j;
  }
  std::vector<std::string> keys;
  bool keys_usable = key.has_value();

  // The rows, one COPY row at a time.
  const std::string copy = "COPY (" + sql + ") TO STDOUT";
  Result started(PQexec(s.get(), copy.c_str()));
  s.check(started, PGRES_COPY_OUT);
  std::vector<std::string> fields;
  std::vector<bool> nulls;
  std::size_t rows = 0;
  std::optional<std::string> bad;
  std::size_t bad_row = 0;
  for (;;) {
    char* line = nullptr;
    const int n = PQgetCopyData(s.get(), &line, 0);
    if (n == -1) break;
    if (n < 0) s.fail(first_line(PQerrorMessage(s.get())));
    std::string_view row(line, static_cast<std::size_t>(n));
    if (!row.empty() && row.back() == '\n') row.remove_suffix(1);
    split_copy_row(row, fields, nulls);
    PQfreemem(line);
    if (fields.size() != header.size())
      s.fail(fmt::format("row {} has {} values, the result {} columns", rows + 1, fields.size(), header.size()));
    if (!bad)
      for (std::size_t c = 0; c < selected.size(); ++c) {
        const std::size_t j = selected[c];
        if (nulls[j]) {
          builders[c].push_null();
        } else if (auto message = builders[c].push(fields[j])) {
          bad = std::move(message);
          bad_row = rows + 1;
          break;
        }
      }
    if (keys_usable) {
      if (nulls[*key])
        keys_usable = false;
      else
        keys.push_back(fields[*key]);
    }
    ++rows;
  }
  Result finished(PQgetResult(s.get()));
  s.check(finished, PGRES_COMMAND_OK);
  while (Result extra{PQgetResult(s.get())}) {
  }
  if (bad) throw DataError(fmt::format("{}: row {}: {}", name_, bad_row, *bad));
  if (rows == 0) throw DataError(fmt::format("{}: the {} returned no rows", name_, what_.table.empty() ? "query" : "table"));

  if (keys_usable) {
    std::vector<std::string_view> sorted(keys.begin(), keys.end());
    std::sort(sorted.begin(), sorted.end());
    keys_usable = std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
  }
  if (keys_usable) {
    prov.key_name = header[*key];
    const Result t = s.query("SELECT format_type($1::oid, $2::int)",
                             {std::to_string(oids[*key]), std::to_string(mods[*key])});
    prov.key_type = PQgetvalue(t.get(), 0, 0);
    prov.keys = std::move(keys);
  }
  prov.extra.emplace_back("rows", std::to_string(rows));
  prov.extra.emplace_back("read_at", utc_now_iso8601());

  std::vector<Column> columns;
  columns.reserve(builders.size());
  for (auto& b : builders) columns.push_back(b.finish());
  out.table = Table(name_, std::move(columns));
  return out;
}

struct PostgresConnection::Impl {
  Session session;
  Impl(const std::string& uri, std::string doing) : session(uri, doing) { session.set_doing(std::move(doing)); }
};

PostgresConnection::PostgresConnection(const std::string& uri, std::string doing)
    : impl_(std::make_unique<Impl>(uri, std::move(doing))) {}
PostgresConnection::~PostgresConnection() = default;

void PostgresConnection::execute(const std::string& sql) { impl_->session.execute(sql); }

std::optional<std::string> PostgresConnection::value(const std::string& sql, const std::vector<std::string>& params) {
  const Result r = impl_->session.query(sql, params);
  if (PQntuples(r.get()) == 0 || PQnfields(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
  return std::string(PQgetvalue(r.get(), 0, 0));
}

void PostgresConnection::copy_in(const std::string& copy, const std::function<bool(std::string&)>& next) {
  Session& s = impl_->session;
  Result started(PQexec(s.get(), copy.c_str()));
  s.check(started, PGRES_COPY_IN);
  std::string buffer;
  bool more = true;
  while (more) {
    buffer.clear();
    more = next(buffer);
    if (!buffer.empty() && PQputCopyData(s.get(), buffer.data(), static_cast<int>(buffer.size())) != 1) {
      // The connection broke (or the server ended the COPY): its result says why.
      Result r(PQgetResult(s.get()));
      s.fail(r && PQresultStatus(r.get()) == PGRES_FATAL_ERROR ? r.get() : nullptr);
    }
  }
  if (PQputCopyEnd(s.get(), nullptr) != 1) s.fail(first_line(PQerrorMessage(s.get())));
  Result done(PQgetResult(s.get()));
  s.check(done, PGRES_COMMAND_OK);
  while (Result extra{PQgetResult(s.get())}) {
  }
}

std::string PostgresConnection::identifier(std::string_view name) const { return impl_->session.identifier(name); }
const std::string& PostgresConnection::name() const noexcept { return impl_->session.name(); }
int PostgresConnection::backend_pid() const { return PQbackendPID(impl_->session.get()); }

#endif

}  // namespace segmenta
