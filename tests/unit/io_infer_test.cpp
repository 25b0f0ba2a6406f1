// Type inference on string columns: hand-built columns type exactly as the CSV
// reader types the same cells, overrides and missing markers included.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "segmenta/io.hpp"

using namespace segmenta;

namespace {

using Cells = std::vector<std::pair<std::string, std::vector<std::string>>>;

StringTable strings_of(const Cells& cells, std::string source = "t.csv") {
  StringTable t;
  t.source = std::move(source);
  for (const auto& [name, values] : cells) {
    StringColumn& c = t.columns.emplace_back(name);
    for (const auto& v : values) c.push_back(v);
  }
  return t;
}

std::string csv_of(const Cells& cells) {
  std::string out;
  for (std::size_t j = 0; j < cells.size(); ++j) {
    if (j) out.push_back(',');
    out += csv_escape(cells[j].first);
  }
  out.push_back('\n');
  for (std::size_t r = 0; r < cells.front().second.size(); ++r) {
    for (std::size_t j = 0; j < cells.size(); ++j) {
      if (j) out.push_back(',');
      out += csv_escape(cells[j].second[r]);
    }
    out.push_back('\n');
  }
  return out;
}

void expect_same(const Table& a, const Table& b) {
  EXPECT_EQ(a.source(), b.source());
  ASSERT_EQ(a.cols(), b.cols());
  ASSERT_EQ(a.rows(), b.rows());
  for (std::size_t j = 0; j < a.cols(); ++j) {
    const Column &x = a.column(j), &y = b.column(j);
    SCOPED_TRACE(x.name);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.integral, y.integral);
    EXPECT_EQ(x.missing, y.missing);
    EXPECT_EQ(x.codes, y.codes);
    EXPECT_EQ(x.levels, y.levels);
    ASSERT_EQ(x.numbers.size(), y.numbers.size());
    for (std::size_t i = 0; i < x.numbers.size(); ++i)
      EXPECT_TRUE(x.numbers[i] == y.numbers[i] || (std::isnan(x.numbers[i]) && std::isnan(y.numbers[i]))) << i;
  }
}

/// 25 rows with a column of every kind the inference knows.
Cells mixed_cells() {
  Cells c{{"customer_id", {}}, {"age", {}},  {"balance", {}}, {"job", {}},   {"default", {}},
          {"note", {}},        {"code", {}}, {"big", {}},     {"empty", {}}, {"quoted, name", {}}};
  const char* jobs[] = {"admin.", "technician", "blue-collar", "NA", "retired"};
  for (int i = 0; i < 25; ++i) {
    c[0].second.push_back(std::to_string(1000 + i * 7));
    c[1].second.push_back(i % 6 == 0 ? "NA" : std::to_string(20 + i));
    c[2].second.push_back(i % 5 == 0 ? " " : fmt::format("{}.{}", i * 13 - 40, i % 10));
    c[3].second.push_back(jobs[i % 5]);
    c[4].second.push_back(i % 3 ? "no" : "yes");
    c[5].second.push_back(fmt::format("customer number {} asked about a \"mortgage\", twice, in {}", i, 2000 + i));
    c[6].second.push_back(fmt::format("c-{:03}", i));
    c[7].second.push_back(i % 2 ? "1e300" : "-2.5E-3");  // (an infinite 1e400 is an error: see below)
    c[8].second.push_back(i % 4 ? "" : "null");
    c[9].second.push_back(i % 7 ? "+3" : "n/a");
  }
  return c;
}

}  // namespace

TEST(Infer, HandBuiltColumnsTypeAsTheCsvReaderDoes) {
  const Cells cells = mixed_cells();
  const Table from_csv = parse_csv(csv_of(cells), "t.csv");
  const Table inferred = infer_types(strings_of(cells));
  expect_same(inferred, from_csv);
  // The inference itself, spelled out.
  const std::vector<ColumnType> want{
      ColumnType::id,   ColumnType::numeric, ColumnType::numeric, ColumnType::categorical, ColumnType::binary,
      ColumnType::text, ColumnType::id,      ColumnType::numeric, ColumnType::numeric,     ColumnType::numeric};
  for (std::size_t j = 0; j < want.size(); ++j) EXPECT_EQ(inferred.column(j).type, want[j]) << inferred.column(j).name;
  EXPECT_TRUE(inferred.column(1).integral);
  EXPECT_EQ(inferred.column(1).missing, 5u);
  EXPECT_FALSE(inferred.column(2).integral);
  EXPECT_EQ(inferred.column(2).missing, 5u);
  EXPECT_EQ(inferred.column(3).missing, 5u);
  EXPECT_EQ(inferred.column(7).numbers[1], 1e300);
  EXPECT_EQ(inferred.column(8).missing, 25u);
  EXPECT_FALSE(inferred.column(8).integral);
}

TEST(Infer, OverridesAndMarkersAsTheCsvReader) {
  const Cells cells = mixed_cells();
  CsvOptions o;
  o.types = {{"age", ColumnType::categorical}, {"customer_id", ColumnType::numeric}, {"job", ColumnType::text}};
  o.na_values = {"NA", "?"};
  expect_same(infer_types(strings_of(cells), o.infer_options()), parse_csv(csv_of(cells), "t.csv", o));
  // Only the cells' text matters: a few shuffled rows of the same columns.
  Cells few = cells;
  for (auto& [name, values] : few) values = {values[3], values[0], values[24]};
  expect_same(infer_types(strings_of(few), o.infer_options()), parse_csv(csv_of(few), "t.csv", o));
  expect_same(infer_types(strings_of(few)), parse_csv(csv_of(few), "t.csv"));
}

TEST(Infer, MissingFlagsOverrideTheText) {
  StringTable t;
  t.source = "query";
  t.columns.reserve(3);  // the references below stay valid
  StringColumn& n = t.columns.emplace_back("amount");
  n.push_back("1");
  n.push_missing();
  n.push_back("2.5");
  StringColumn& s = t.columns.emplace_back("segment");
  s.push_back("NULL");  // text, but a marker: missing
  s.push_back("a");
  s.push_missing();
  StringColumn& flagged = t.columns.emplace_back("flagged");
  flagged.push_missing();
  flagged.push_back("7");
  flagged.push_back("8");
  EXPECT_TRUE(n.is_missing(1));
  EXPECT_FALSE(n.is_missing(0));
  EXPECT_EQ(n.cell(2), "2.5");
  EXPECT_EQ(n.cell(1), "");
  const Table typed = infer_types(t);
  ASSERT_EQ(typed.rows(), 3u);
  EXPECT_EQ(typed.column(0).type, ColumnType::numeric);
  EXPECT_TRUE(std::isnan(typed.column(0).numbers[1]));
  EXPECT_EQ(typed.column(0).missing, 1u);
  EXPECT_EQ(typed.column(1).codes, (std::vector<std::int32_t>{-1, 0, -1}));
  EXPECT_EQ(typed.column(1).missing, 2u);
  EXPECT_EQ(typed.column(2).type, ColumnType::numeric);
  EXPECT_TRUE(typed.column(2).integral);
  EXPECT_EQ(typed.column(2).missing, 1u);

  // A flagged cell is missing even when its text would be a number or a level.
  StringTable u;
  u.source = "frame";
  StringColumn& c = u.columns.emplace_back("x");
  c.push_back("3");
  c.push_missing();
  InferOptions none;
  none.na_values.clear();
  EXPECT_EQ(infer_types(u, none).column(0).missing, 1u);
}

TEST(Infer, ErrorsNameTheSourceColumnAndRow) {
  StringTable t = strings_of({{"a", {"1", "2"}}, {"b", {"x", "oops"}}}, "query");
  InferOptions o;
  o.types = {{"b", ColumnType::numeric}};
  try {
    infer_types(t, o);
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_STREQ(e.what(), "query:1:2: column 'b' is declared numeric but 'x' is not a number");
  }
  // The CSV reader points at the cell in the text instead.
  try {
    parse_csv("a,b\n1,x\n2,oops\n", "t.csv", [] {
      CsvOptions c;
      c.types = {{"b", ColumnType::numeric}};
      return c;
    }());
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_STREQ(e.what(), "t.csv:2:3: column 'b' is declared numeric but 'x' is not a number");
  }
  // A handler sees the column and row and throws its own error.
  EXPECT_THROW(infer_types(t, o,
                           [](std::size_t column, std::size_t row, const std::string& message) {
                             EXPECT_EQ(column, 1u);
                             EXPECT_EQ(row, 0u);
                             throw InvalidArgument(message);
                           }),
               InvalidArgument);

  o.types = {{"c", ColumnType::numeric}};
  try {
    infer_types(t, o);
    FAIL() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "types: no column named 'c' in query");
  }
  t.columns[1].push_back("3");
  EXPECT_THROW(infer_types(t), InvalidArgument);
}

TEST(Infer, AFewNonNumbersKeepAColumnNumericWithAWarning) {
  std::string csv = "age,job\n";
  for (int i = 0; i < 60; ++i) csv += std::to_string(20 + i) + ",admin\n";
  csv += "unknown,admin\n";  // line 62
  csv += "41,admin\n";
  csv += "\"n/k\",admin\n";  // line 64
  Diagnostics diag;
  CsvOptions o;
  o.diagnostics = &diag;
  const Table t = parse_csv(csv, "people.csv", o);
  const Column& age = t.column(t.index_of("age"));
  EXPECT_EQ(age.type, ColumnType::numeric);
  EXPECT_EQ(age.missing, 2u);
  EXPECT_TRUE(std::isnan(age.numbers[60]));
  EXPECT_EQ(age.numbers[61], 41.0);
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.items()[0].level, Diagnostic::Level::warning);
  EXPECT_EQ(diag.items()[0].message,
            "column 'age' is numeric but 2 cells are not numbers ('unknown' at people.csv:62:1, 'n/k' at "
            "people.csv:64:2); read as missing");  // (the quoted value starts at column 2)

  // More than 5 % of the cells: the column is not numeric (no stray-cell warning); its
  // 21 distinct values in 21 rows make it an identifier, which says so once.
  std::string mixed = "age\n";
  for (int i = 0; i < 19; ++i) mixed += std::to_string(20 + i) + "\n";
  mixed += "unknown\nelse\n";
  Diagnostics none;
  o.diagnostics = &none;
  EXPECT_EQ(parse_csv(mixed, "m.csv", o).column(0).type, ColumnType::id);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none.items()[0].code, "identifier_column");
}

TEST(Infer, AnInfiniteNumberIsAParseErrorAtItsCell) {
  for (const std::string cell : {"1e400", "inf", "-inf", "-1e999"}) {
    std::string csv = "name,balance\n";
    for (int i = 0; i < 30; ++i) csv += "a," + std::to_string(i) + "\n";
    csv += "b," + cell + "\n";  // line 32, column 3
    try {
      parse_csv(csv, "bank.csv");
      ADD_FAILURE() << cell << ": no ParseError";
    } catch (const ParseError& e) {
      EXPECT_EQ(std::string(e.what()), "bank.csv:32:3: column 'balance': '" + cell + "' is not a finite number") << cell;
    }
  }
  // "nan" is a missing-value marker, as in pandas.
  const Table t = parse_csv("x\n1\nnan\n3\n", "t.csv");
  EXPECT_EQ(t.column(0).type, ColumnType::numeric);
  EXPECT_EQ(t.column(0).missing, 1u);
}

// Numbers written with thousands separators or a decimal comma: read as numbers when
// the whole column reads that way, with a note naming the column; not, before, a
// silent categorical column.
TEST(Infer, ThousandsSeparatorsAndDecimalCommasAreReadWhenTheColumnAgrees) {
  Diagnostics diag;
  CsvOptions o;
  o.diagnostics = &diag;
  // Thousands separators with a decimal point (quoted in a comma-separated file).
  const Table a = parse_csv("name,balance\na,\"1,234.5\"\nb,12\nc,\"-2,000,000\"\nd,0.25\n", "a.csv", o);
  const Column& balance = a.column(1);
  ASSERT_EQ(balance.type, ColumnType::numeric);
  EXPECT_EQ(balance.numbers, (std::vector<double>{1234.5, 12.0, -2000000.0, 0.25}));
  EXPECT_FALSE(balance.integral);
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.items()[0].level, Diagnostic::Level::info);
  EXPECT_EQ(diag.items()[0].message, "column 'balance' is read with a comma as thousands separator (as in '1,234.5')");

  // Decimal commas with a semicolon delimiter, points as thousands separators.
  diag = {};
  const Table b = parse_csv("name;price;weight\na;3,14;1.234,5\nb;2;7\nc;-0,5;12,25\n", "b.csv", o);
  ASSERT_EQ(b.column(1).type, ColumnType::numeric);
  EXPECT_EQ(b.column(1).numbers, (std::vector<double>{3.14, 2.0, -0.5}));
  ASSERT_EQ(b.column(2).type, ColumnType::numeric);
  EXPECT_EQ(b.column(2).numbers, (std::vector<double>{1234.5, 7.0, 12.25}));
  ASSERT_EQ(diag.size(), 2u);
  EXPECT_EQ(diag.items()[0].message, "column 'price' is read with a decimal comma (as in '3,14')");

  // Ambiguous (every comma has three digits after it): thousands, with a warning.
  diag = {};
  const Table c = parse_csv("n;x\na;1,234\nb;5\nc;12,500\n", "c.csv", o);
  EXPECT_EQ(c.column(1).numbers, (std::vector<double>{1234.0, 5.0, 12500.0}));
  EXPECT_TRUE(c.column(1).integral);
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.items()[0].level, Diagnostic::Level::warning);
  EXPECT_NE(diag.items()[0].message.find("pass --decimal ,"), std::string::npos) << diag.items()[0].message;
  // ...which --decimal , settles.
  diag = {};
  o.decimal = ',';
  const Table d = parse_csv("n;x\na;1,234\nb;5\nc;12,500\n", "c.csv", o);
  EXPECT_EQ(d.column(1).numbers, (std::vector<double>{1.234, 5.0, 12.5}));
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.items()[0].level, Diagnostic::Level::info);
  // With --decimal , a point is only a thousands separator: 2.5 is not a number.
  diag = {};
  const Table e = parse_csv("n;x\na;2.5\nb;two\n", "e.csv", o);
  EXPECT_NE(e.column(1).type, ColumnType::numeric);
  o.decimal = 0;

  // Mixed ways of writing in one column are not read as numbers: each reading
  // leaves too many cells out.
  const Table f = parse_csv("n;x\na;1,5\nb;2.5\nc;1.234,5\nd;1,234.5\n", "f.csv", o);
  EXPECT_NE(f.column(1).type, ColumnType::numeric);
  // A column of comma lists is no number.
  const Table g = parse_csv("n;x\na;1,2,3\nb;4,5,6\n", "g.csv", o);
  EXPECT_NE(g.column(1).type, ColumnType::numeric);

  // A column declared numeric accepts the separators too; a bad cell is still an error.
  o.types = {{"x", ColumnType::numeric}};
  EXPECT_EQ(parse_csv("n;x\na;3,5\nb;4\n", "h.csv", o).column(1).numbers, (std::vector<double>{3.5, 4.0}));
  try {
    parse_csv("n;x\na;3,5\nb;4\nc;x1\n", "h.csv", o);
    ADD_FAILURE() << "no ParseError";
  } catch (const ParseError& e) {
    EXPECT_EQ(std::string(e.what()), "h.csv:4:3: column 'x' is declared numeric but 'x1' is not a number");
  }
  // An unknown decimal mark is refused.
  o.types.clear();
  o.decimal = ';';
  EXPECT_THROW(parse_csv("x\n1\n", "i.csv", o), InvalidArgument);
}

namespace {

std::size_t count_code(const Diagnostics& d, const std::string& code) {
  std::size_t n = 0;
  for (const auto& item : d.items()) n += item.code == code;
  return n;
}

std::size_t warnings_naming(const Diagnostics& d, const std::string& column) {
  std::size_t n = 0;
  for (const auto& item : d.items())
    n += item.level == Diagnostic::Level::warning && item.message.find("'" + column + "'") != std::string::npos;
  return n;
}

}  // namespace

TEST(Infer, TheCalendarMatchesKnownDayCounts) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);  // date -d 2000-03-01 +%s / 86400
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
  EXPECT_EQ(format_day(11017), "2000-03-01");
  EXPECT_EQ(format_day(-1), "1969-12-31");
  // Years 0000 to 9999, every 997th day.
  for (std::int64_t d = days_from_civil(0, 1, 1); d <= days_from_civil(9999, 12, 31); d += 997)
    EXPECT_EQ(parse_day(format_day(d)), d);
  EXPECT_TRUE(parse_day("2000-02-29"));
  EXPECT_FALSE(parse_day("1900-02-29"));  // not a leap year
  EXPECT_FALSE(parse_day("2021-04-31"));
  EXPECT_FALSE(parse_day("2021-4-3"));
}

TEST(Infer, DatesAreDaysSinceTheEarliestDateInTheOrderTheValuesShow) {
  const Cells cells{{"iso", {"2021-03-04", "2021-03-01", "", "2020-12-31"}},
                    {"dmy", {"31/01/2022", "01/02/2022", "05/01/2022", "NA"}},
                    {"mdy", {"01/31/2022", "02/01/2022", "01/30/2022", "01/31/2022"}},
                    {"either", {"03/04/2021", "04/03/2021", "04/03/2021", "03/04/2021"}},
                    {"stamp", {"2021-03-04T12:00:00", "2021-03-04 18:00", "2021-03-05T00:00:00+02:00", ""}},
                    {"dotted", {"24.12.2020", "1.1.2021", "24.12.2020", "31.12.2020"}},
                    {"no_day", {"2021-02-30", "2021-03-01", "2021-03-02", "2021-03-03"}},
                    {"mixed", {"2021-03-04", "04/03/2021", "2021-03-05", "2021-03-06"}},
                    {"both", {"13/01/2021", "01/13/2021", "02/02/2021", "03/03/2021"}}};
  Diagnostics diag;
  DateReadings read;
  InferOptions o;
  o.diagnostics = &diag;
  o.dates_read = &read;
  const Table t = infer_types(strings_of(cells), o);
  auto reading = [](const DateReadings& r, const std::string& name) -> std::optional<DateReading> {
    for (const auto& [column, d] : r)
      if (column == name) return d;
    return std::nullopt;
  };
  auto expect_days = [&](const std::string& name, DateOrder order, const std::string& reference,
                         const std::vector<double>& days) {
    SCOPED_TRACE(name);
    const Column& c = t.column(t.index_of(name));
    ASSERT_EQ(c.type, ColumnType::numeric);
    const auto date = reading(read, name);
    ASSERT_TRUE(date.has_value());
    EXPECT_EQ(date->order, order);
    EXPECT_EQ(format_day(date->reference), reference);
    ASSERT_EQ(c.numbers.size(), days.size());
    for (std::size_t i = 0; i < days.size(); ++i) {
      if (std::isnan(days[i]))
        EXPECT_TRUE(std::isnan(c.numbers[i])) << i;
      else
        EXPECT_NEAR(c.numbers[i], days[i], 1e-9) << i;
    }
  };
  const double nan = std::nan("");
  expect_days("iso", DateOrder::ymd, "2020-12-31", {63, 60, nan, 0});
  EXPECT_TRUE(t.column(0).integral);
  EXPECT_EQ(t.column(0).missing, 1u);
  expect_days("dmy", DateOrder::dmy, "2022-01-05", {26, 27, 0, nan});
  expect_days("mdy", DateOrder::mdy, "2022-01-30", {1, 2, 0, 1});
  expect_days("either", DateOrder::dmy, "2021-03-04", {30, 0, 0, 30});
  expect_days("stamp", DateOrder::ymd, "2021-03-04", {0.5, 0.75, 1.0 - 2.0 / 24.0, nan});
  EXPECT_FALSE(t.column(4).integral);
  expect_days("dotted", DateOrder::dmy, "2020-12-24", {0, 8, 0, 7});
  // Not dates: an impossible day, two ways of writing, day and month first both seen.
  for (const char* name : {"no_day", "mixed", "both"}) {
    EXPECT_EQ(t.column(t.index_of(name)).type, ColumnType::categorical) << name;
    EXPECT_FALSE(reading(read, name).has_value()) << name;
  }
  // One warning per date column; the ambiguous one names the override.
  EXPECT_EQ(count_code(diag, "date_column"), 5u);
  EXPECT_EQ(count_code(diag, "date_order_ambiguous"), 1u);
  for (const char* name : {"iso", "dmy", "mdy", "either", "stamp", "dotted"}) EXPECT_EQ(warnings_naming(diag, name), 1u) << name;
  for (const auto& item : diag.items())
    if (item.code == "date_order_ambiguous") EXPECT_NE(item.message.find("--types either=date-mdy"), std::string::npos);

  // Declared: the order and the reference as given (a fitted model's), no warning.
  Diagnostics quiet;
  DateReadings declared_read;
  InferOptions declared;
  declared.diagnostics = &quiet;
  declared.dates_read = &declared_read;
  declared.dates = {{"either", DateSpec{DateOrder::mdy, std::nullopt}},
                    {"iso", DateSpec{std::nullopt, days_from_civil(2021, 1, 1)}}};
  declared.types = {{"iso", ColumnType::numeric}};  // as a model file lists it: the date reading wins
  const Table d = infer_types(strings_of({cells[0], cells[3]}), declared);
  EXPECT_EQ(reading(declared_read, "either")->order, DateOrder::mdy);
  EXPECT_EQ(format_day(reading(declared_read, "either")->reference), "2021-03-04");
  EXPECT_EQ(format_day(reading(declared_read, "iso")->reference), "2021-01-01");
  EXPECT_EQ(d.column(1).numbers, (std::vector<double>{0, 30, 30, 0}));
  EXPECT_EQ(d.column(0).numbers[3], -1.0);  // 2020-12-31 is a day before the given reference
  EXPECT_EQ(warnings_naming(quiet, "iso"), 0u);
  // A declared date column with a cell that is no date is an error at that cell.
  InferOptions bad;
  bad.dates = {{"mixed", DateSpec{}}};
  try {
    infer_types(strings_of({cells[7]}), bad);
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.line(), 2u);  // the second data row
    EXPECT_NE(std::string(e.what()).find("'04/03/2021' is not one"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(parse_date_type("date-dmy"));
  EXPECT_EQ(*parse_date_type("date-mdy")->order, DateOrder::mdy);
  EXPECT_FALSE(parse_date_type("date")->order);
  EXPECT_FALSE(parse_date_type("dates"));
}

// A column of a few whole numbers too large for a 64-bit integer (found by the CSV
// fuzzer: converting a 93-digit integer to long long is undefined) is announced with
// the numbers as they are.
TEST(Infer, IntegerCodesBeyondALongLongAreShownAsNumbers) {
  Cells c{{"code", {}}};
  const std::string values[] = {"6" + std::string(92, '0'), "-1" + std::string(300, '0'), "3", "9007199254740993",
                                "1" + std::string(19, '0')};
  for (int i = 0; i < 60; ++i) c[0].second.push_back(values[i % 5]);
  Diagnostics diag;
  InferOptions o;
  o.diagnostics = &diag;
  const Table t = infer_types(strings_of(c), o);
  EXPECT_EQ(t.column(0).type, ColumnType::numeric);
  ASSERT_EQ(count_code(diag, "integer_codes"), 1u);
  for (const auto& item : diag.items())
    if (item.code == "integer_codes")
      EXPECT_NE(item.message.find("(-1e+300, 3, 9007199254740992.0, 1e+19, 6e+92)"), std::string::npos) << item.message;
}

TEST(Infer, CodesIdentifiersAndFreeTextAreAnnouncedOnceAndKeepTheirTypeWhenDeclared) {
  Cells c{{"region", {}}, {"amount", {}}, {"name", {}}, {"mostly_unique", {}}, {"comment", {}},
          {"job", {}},    {"customer_id", {}}, {"flag", {}}};
  const char* words[] = {"late", "delivery", "great", "service", "price", "too", "high", "thanks"};
  for (int i = 0; i < 60; ++i) {
    c[0].second.push_back(std::to_string(1 + i % 3));
    c[1].second.push_back(std::to_string(i * 37 % 1000));
    c[2].second.push_back(fmt::format("Customer{}", i * 13));
    c[3].second.push_back(fmt::format("K{}", i < 2 ? 0 : i));  // 59 distinct of 60
    c[4].second.push_back(fmt::format("{} {} {} {}", words[i % 8], words[(i / 8) % 8], words[(i + 3) % 8], i));
    c[5].second.push_back(i % 4 ? "admin." : "retired");
    c[6].second.push_back(std::to_string(5000 + i));
    c[7].second.push_back(std::to_string(i % 2));
  }
  Diagnostics diag;
  InferOptions o;
  o.diagnostics = &diag;
  const Table t = infer_types(strings_of(c), o);
  const std::vector<ColumnType> want{ColumnType::numeric, ColumnType::numeric, ColumnType::id,     ColumnType::id,
                                     ColumnType::text,    ColumnType::binary,  ColumnType::id,     ColumnType::numeric};
  for (std::size_t j = 0; j < want.size(); ++j) EXPECT_EQ(t.column(j).type, want[j]) << t.column(j).name;
  EXPECT_EQ(count_code(diag, "integer_codes"), 1u);
  EXPECT_EQ(count_code(diag, "identifier_column"), 3u);
  EXPECT_EQ(count_code(diag, "text_column"), 1u);
  for (const char* name : {"region", "name", "mostly_unique", "comment", "customer_id"})
    EXPECT_EQ(warnings_naming(diag, name), 1u) << name;
  for (const char* name : {"amount", "job", "flag"}) EXPECT_EQ(warnings_naming(diag, name), 0u) << name;
  for (const auto& item : diag.items())
    if (item.code == "integer_codes") EXPECT_NE(item.message.find("--types region=categorical"), std::string::npos);
  // Declared types are the user's decision: no warning.
  Diagnostics quiet;
  InferOptions declared;
  declared.diagnostics = &quiet;
  declared.types = {{"region", ColumnType::numeric}, {"name", ColumnType::categorical}, {"comment", ColumnType::text}};
  const Table d = infer_types(strings_of({c[0], c[2], c[4]}), declared);
  EXPECT_EQ(d.column(1).type, ColumnType::categorical);
  EXPECT_TRUE(quiet.items().empty());
}
