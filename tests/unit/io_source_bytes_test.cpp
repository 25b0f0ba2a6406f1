// What a read produced, as bytes (io_detail::serialise_source_data and its inverse,
// which carry a database source read by rank 0 to the other ranks of an MPI run):
// a round trip gives back every field, compared field by field: tables with every
// column type, missing values, NaN payloads and -0.0 bit for bit, empty levels and
// strings, unicode names, codes of every width, a Column holding numbers and codes at
// once, the provenance (optional fields set and unset, extras, keys, date readings),
// the diagnostics in order and the date readings; bytes that were not so written
// (cut short at every length, trailing bytes, a wrong tag) are an Error, not a table.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "io/source_bytes.hpp"
#include "segmenta/io.hpp"
#include "support.hpp"

using namespace segmenta;
using io_detail::deserialise_source_data;
using io_detail::serialise_source_data;

namespace {

void expect_same(const SourceData& a, const SourceData& b) {
  test::expect_same_table(a.table, b.table, a.table.source());
  const Provenance &p = a.provenance, &q = b.provenance;
  EXPECT_EQ(p.kind, q.kind);
  EXPECT_EQ(p.name, q.name);
  EXPECT_EQ(p.bytes, q.bytes);
  EXPECT_EQ(p.fnv1a64, q.fnv1a64);
  EXPECT_EQ(p.extra, q.extra);
  EXPECT_EQ(p.key_name, q.key_name);
  EXPECT_EQ(p.key_type, q.key_type);
  EXPECT_EQ(p.keys, q.keys);
  test::expect_same_dates(p.dates, q.dates);
}

double from_bits(std::uint64_t u) { return std::bit_cast<double>(u); }

Column numeric(std::string name, std::vector<double> numbers, bool integral = false, char decimal = 0) {
  Column c;
  c.name = std::move(name);
  c.type = ColumnType::numeric;
  c.numbers = std::move(numbers);
  for (double v : c.numbers) c.missing += std::isnan(v) ? 1 : 0;
  c.integral = integral;
  c.decimal = decimal;
  return c;
}

Column coded(std::string name, ColumnType type, std::vector<std::int32_t> codes, std::vector<std::string> levels) {
  Column c;
  c.name = std::move(name);
  c.type = type;
  c.codes = std::move(codes);
  c.levels = std::move(levels);
  for (std::int32_t v : c.codes) c.missing += v < 0 ? 1 : 0;
  return c;
}

/// A table of every column type, with the values a round trip could lose.
SourceData every_kind(std::size_t rows) {
  std::vector<Column> columns;
  std::vector<double> special = {0.0,
                                 -0.0,
                                 std::numeric_limits<double>::quiet_NaN(),
                                 from_bits(0xfff8000000000000ull),  // negative NaN
                                 from_bits(0x7ff0000000000123ull),  // signalling NaN with a payload
                                 from_bits(0x7ff8dead0000beefull),  // quiet NaN with a payload
                                 std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity(),
                                 std::numeric_limits<double>::denorm_min(),
                                 -std::numeric_limits<double>::max(),
                                 1e-300,
                                 0.1};
  std::vector<double> numbers(rows), integers(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    numbers[i] = special[i % special.size()] * (i < special.size() ? 1.0 : 1.0 + static_cast<double>(i));
    integers[i] = static_cast<double>(i) - 7.0;
  }
  columns.push_back(numeric("amount", numbers, false, ','));
  columns.push_back(numeric("âge \xF0\x9F\x91\xB6 年齢", integers, true, '.'));  // unicode name
  columns.push_back(
      numeric("", std::vector<double>(rows, std::numeric_limits<double>::quiet_NaN())));  // empty name, all missing

  // Categorical with an empty level, a level with a NUL and unicode, and missing cells.
  std::vector<std::int32_t> codes(rows);
  for (std::size_t i = 0; i < rows; ++i) codes[i] = i % 5 == 4 ? -1 : static_cast<std::int32_t>(i % 4);
  columns.push_back(coded("job", ColumnType::categorical, codes,
                          {"", std::string("nul\0inside", 10), "blue-collar", "caf\xC3\xA9 \xE2\x82\xAC"}));
  std::vector<std::int32_t> binary(rows);
  for (std::size_t i = 0; i < rows; ++i) binary[i] = static_cast<std::int32_t>(i % 2);
  columns.push_back(coded("yes/no", ColumnType::binary, binary, {"no", "yes"}));

  // id and text columns with as many levels as rows: codes need 2 bytes past 127 and
  // 4 past 32767.
  std::vector<std::int32_t> ids(rows);
  std::vector<std::string> id_levels(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    ids[i] = static_cast<std::int32_t>(i);
    id_levels[i] = "C" + std::to_string(i);
  }
  columns.push_back(coded("customer_id", ColumnType::id, ids, id_levels));
  std::vector<std::int32_t> text_codes(rows, -1);
  if (rows) text_codes[0] = 0;
  columns.push_back(coded("note", ColumnType::text, text_codes, {std::string(5000, 'x') + " long free text"}));

  // A column that holds numbers and codes at once (Column allows it): both travel.
  Column both = numeric("both", std::vector<double>(rows, 2.5));
  both.codes.assign(rows, 1);
  both.levels = {"a", "b"};
  columns.push_back(both);

  SourceData d;
  d.table = Table("postgresql://u@h:5432/db \xE2\x80\x94 query", std::move(columns));
  Provenance& p = d.provenance;
  p.kind = "postgresql";
  p.name = "postgresql://u@h:5432/db";
  p.bytes = 123456789012345ull;
  p.fnv1a64 = 0xcbf29ce484222325ull;
  p.extra = {{"server", "h:5432"}, {"database", "db"}, {"query", "SELECT * FROM t WHERE x = 'é'\n"}, {"empty", ""}};
  p.key_name = "customer_id";
  p.key_type = "bigint";
  for (std::size_t i = 0; i < rows; ++i) p.keys.push_back(std::to_string(1000 + i));
  p.dates = {{"born", {DateOrder::dmy, -25567}}, {"seen", {DateOrder::mdy, 19000}}};
  return d;
}

SourceData round_trip(const SourceData& d, const Diagnostics& diagnostics, const DateReadings& dates,
                      Diagnostics& diagnostics_out, DateReadings& dates_out, std::string* bytes_out = nullptr) {
  const std::string bytes = serialise_source_data(d, diagnostics, dates);
  if (bytes_out) *bytes_out = bytes;
  SourceData out;
  // Whatever the receiving side held before is replaced.
  out.provenance.kind = "stale";
  diagnostics_out.info("stale", "stale", "stale");
  dates_out = {{"stale", {}}};
  deserialise_source_data(bytes, out, diagnostics_out, dates_out);
  return out;
}

TEST(SourceBytes, RoundTripOfEveryColumnTypeIsFieldByFieldTheSame) {
  Diagnostics diagnostics;
  diagnostics.warn("load", "integer_codes", "column 'day' holds integer codes \xE2\x80\x94 treated as numbers");
  diagnostics.info("load", "date_column", "column 'born' read as dates (dmy)");
  diagnostics.warn("load", "", "");
  const DateReadings dates = {{"born", {DateOrder::ymd, 17000}}, {"日付", {DateOrder::dmy, -1}}};
  for (std::size_t rows : {1u, 12u, 200u, 40000u}) {
    SCOPED_TRACE(::testing::Message() << rows << " rows");
    const SourceData d = every_kind(rows);
    Diagnostics got_diagnostics;
    DateReadings got_dates;
    std::string bytes;
    const SourceData got = round_trip(d, diagnostics, dates, got_diagnostics, got_dates, &bytes);
    expect_same(got, d);
    test::expect_same_diagnostics(got_diagnostics, diagnostics);
    test::expect_same_dates(got_dates, dates);
    // Compact: the numbers' 8 bytes and codes in 1 byte where their values allow
    // (2 bytes for the id column beyond 127 levels, 4 beyond 32767), plus the strings.
    std::size_t strings = 0;
    for (const Column& c : d.table.columns())
      for (const std::string& l : c.levels) strings += l.size() + 3;
    for (const std::string& k : d.provenance.keys) strings += k.size() + 1;
    const std::size_t id_width = rows > 32768 ? 4 : rows > 128 ? 2 : 1;
    const std::size_t cells = rows * (4 * 8 + 4 * 1 + id_width);
    EXPECT_LE(bytes.size(), cells + strings + 2000);
    EXPECT_GE(bytes.size(), cells);
  }
}

TEST(SourceBytes, EmptyTableAndUnsetProvenance) {
  SourceData d;  // no columns, no rows, no optional fields
  Diagnostics diagnostics, got_diagnostics;
  DateReadings got_dates;
  const SourceData got = round_trip(d, diagnostics, {}, got_diagnostics, got_dates);
  expect_same(got, d);
  EXPECT_FALSE(got.provenance.bytes.has_value());
  EXPECT_FALSE(got.provenance.fnv1a64.has_value());
  EXPECT_TRUE(got_diagnostics.empty());
  EXPECT_TRUE(got_dates.empty());

  // Columns of zero rows, levels but no codes.
  std::vector<Column> columns;
  columns.push_back(numeric("x", {}));
  columns.push_back(coded("c", ColumnType::categorical, {}, {"", "never used"}));
  d.table = Table("empty", std::move(columns));
  expect_same(round_trip(d, diagnostics, {}, got_diagnostics, got_dates), d);
}

TEST(SourceBytes, CodesOfEveryWidthAndSign) {
  // Values at the edges of 1, 2 and 4 bytes, negative ones included.
  for (const std::vector<std::int32_t>& codes :
       {std::vector<std::int32_t>{-1, 0, 127, -128}, std::vector<std::int32_t>{-1, 128, 0},
        std::vector<std::int32_t>{-129, 5}, std::vector<std::int32_t>{32767, -32768, -1},
        std::vector<std::int32_t>{32768, -1}, std::vector<std::int32_t>{-32769, 0},
        std::vector<std::int32_t>{std::numeric_limits<std::int32_t>::max(), std::numeric_limits<std::int32_t>::min(),
                                  -1}}) {
    SourceData d;
    d.table = Table("codes", {coded("c", ColumnType::categorical, codes, {"a"})});
    Diagnostics got_diagnostics;
    DateReadings got_dates;
    expect_same(round_trip(d, {}, {}, got_diagnostics, got_dates), d);
  }
}

TEST(SourceBytes, BytesNotSoWrittenAreAnError) {
  const SourceData d = every_kind(30);
  Diagnostics diagnostics;
  diagnostics.warn("load", "w", "a warning");
  const std::string bytes = serialise_source_data(d, diagnostics, {{"born", {DateOrder::ymd, 3}}});
  SourceData out;
  Diagnostics got_diagnostics;
  DateReadings got_dates;
  // Cut short at every length: never a table.
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_THROW(deserialise_source_data(std::string_view(bytes).substr(0, n), out, got_diagnostics, got_dates), Error)
        << "cut at " << n;
  EXPECT_THROW(deserialise_source_data(bytes + "x", out, got_diagnostics, got_dates), Error);
  std::string wrong = bytes;
  wrong[0] = 'X';
  EXPECT_THROW(deserialise_source_data(wrong, out, got_diagnostics, got_dates), Error);
  try {
    deserialise_source_data(bytes.substr(0, bytes.size() / 2), out, got_diagnostics, got_dates);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the table received from rank 0 cannot be read"), std::string::npos)
        << e.what();
  }
  // The whole bytes still read (nothing above changed them).
  deserialise_source_data(bytes, out, got_diagnostics, got_dates);
  expect_same(out, d);
}

TEST(SourceBytes, ReadOnRootInOneProcessJustReads) {
  int calls = 0;
  Diagnostics diagnostics;
  DateReadings dates;
  const SourceData want = every_kind(20);
  const SourceData got = io_detail::read_on_root(
      [&] {
        ++calls;
        diagnostics.info("load", "n", "read once");
        return want;
      },
      single_process_communicator(), diagnostics, dates);
  EXPECT_EQ(calls, 1);
  expect_same(got, want);
  ASSERT_EQ(diagnostics.size(), 1u);
}

}  // namespace
