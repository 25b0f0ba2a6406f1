#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "segmenta/io.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {
Table parse(std::string_view text, CsvOptions o = {}) { return parse_csv(text, "t.csv", o); }

std::string parse_error(std::string_view text, CsvOptions o = {}) {
  try {
    parse(text, o);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(Csv, SniffsDelimiters) {
  EXPECT_EQ(sniff_delimiter("a,b,c\n1,2,3\n"), ',');
  EXPECT_EQ(sniff_delimiter("a;b;c\n1;2;3\n"), ';');
  EXPECT_EQ(sniff_delimiter("a\tb\n1\t2\n"), '\t');
  EXPECT_EQ(sniff_delimiter("a|b|c\n1|2|3\n"), '|');
  // A comma inside quotes does not count.
  EXPECT_EQ(sniff_delimiter("\"x,y\";b\n\"1,5\";2\n"), ';');
}

TEST(Csv, QuotingEscapesCrlfBom) {
  const Table t = parse("\xEF\xBB\xBF\"name\",\"note\",n\r\n\"Smith, J\",\"said \"\"hi\"\"\",1\r\nAnn,\"multi\nline\",2\r\n");
  ASSERT_EQ(t.rows(), 2u);
  ASSERT_EQ(t.cols(), 3u);
  EXPECT_EQ(t.column(0).name, "name");
  EXPECT_EQ(t.column(0).text(0), "Smith, J");
  EXPECT_EQ(t.column(1).text(0), "said \"hi\"");
  EXPECT_EQ(t.column(1).text(1), "multi\nline");
  EXPECT_TRUE(t.column(2).is_numeric());
  EXPECT_EQ(t.column(2).numbers[1], 2.0);
}

TEST(Csv, InfersTypesAndMissing) {
  const Table t = parse(
      "age,balance,job,flag,score\n"
      "30,100,admin.,yes,1.5\n"
      "NA,-20,,no,\n"
      "41,3e2,blue-collar,yes,NaN\n"
      "52,7,retired,no,2\n");
  EXPECT_EQ(t.column(0).type, ColumnType::numeric);
  EXPECT_TRUE(t.column(0).integral);
  EXPECT_TRUE(std::isnan(t.column(0).numbers[1]));
  EXPECT_EQ(t.column(0).missing, 1u);
  EXPECT_EQ(t.column(1).type, ColumnType::numeric);
  EXPECT_FALSE(t.column(1).integral);  // 3e2 has an exponent
  EXPECT_EQ(t.column(1).numbers[2], 300.0);
  EXPECT_EQ(t.column(2).type, ColumnType::categorical);
  EXPECT_EQ(t.column(2).missing, 1u);
  EXPECT_EQ(t.column(2).codes[1], -1);
  EXPECT_EQ(t.column(3).type, ColumnType::binary);
  EXPECT_EQ(t.column(4).missing, 2u);
  EXPECT_EQ(t.column(4).text(3), "2.0");  // a float column prints its integers as pandas does
  EXPECT_EQ(t.column(4).text(0), "1.5");
  EXPECT_EQ(t.column(0).text(0), "30");
}

TEST(Csv, DetectsIdColumns) {
  std::string text = "customer_id,code,x\n";
  for (int i = 0; i < 30; ++i) text += std::to_string(1000 + i) + ",C" + std::to_string(i) + "," + std::to_string(i % 3) + "\n";
  const Table t = parse(text);
  EXPECT_EQ(t.column(0).type, ColumnType::id);
  EXPECT_EQ(t.column(0).text(3), "1003");
  EXPECT_EQ(t.column(1).type, ColumnType::id);  // unique strings
  EXPECT_EQ(t.column(2).type, ColumnType::numeric);
}

TEST(Csv, TypeOverrides) {
  CsvOptions o;
  o.types = {{"zip", ColumnType::categorical}};
  const Table t = parse("zip,v\n01234,1\n98765,2\n01234,3\n", o);
  EXPECT_EQ(t.column(0).type, ColumnType::categorical);
  EXPECT_EQ(t.column(0).text(0), "01234");
  CsvOptions bad;
  bad.types = {{"v", ColumnType::numeric}};
  EXPECT_EQ(parse_error("v\n1\nx\n", bad), "t.csv:3:1: column 'v' is declared numeric but 'x' is not a number");
}

TEST(Csv, ColumnSelection) {
  const std::vector<std::string> h{"age", "job", "marital", "education", "default", "balance", "housing", "loan", "contact"};
  EXPECT_EQ(resolve_columns("0:8", h), (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(resolve_columns("age,job", h), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(resolve_columns("0:2, balance", h), (std::vector<std::size_t>{0, 1, 5}));
  EXPECT_EQ(resolve_columns("7:", h), (std::vector<std::size_t>{7, 8}));
  EXPECT_EQ(resolve_columns("-1", h), (std::vector<std::size_t>{8}));
  EXPECT_THROW(resolve_columns("nope", h), InvalidArgument);
  EXPECT_THROW(resolve_columns("0:20", h), InvalidArgument);
  EXPECT_THROW(resolve_columns("age,0", h), InvalidArgument);
  CsvOptions o;
  o.columns = "b";
  const Table t = parse("a,b\n1,x\n2,y\n", o);
  ASSERT_EQ(t.cols(), 1u);
  EXPECT_EQ(t.column(0).name, "b");
}

TEST(Csv, MalformedInputNamesLineAndColumn) {
  EXPECT_EQ(parse_error(""), "t.csv:1:1: the file is empty");
  EXPECT_EQ(parse_error("\n\n"), "t.csv:1:1: the file is empty");
  EXPECT_EQ(parse_error("a,b,c\n"), "t.csv:2:1: no data rows after the header");
  EXPECT_EQ(parse_error("a,b,c\n1,2,3\n4,5\n"), "t.csv:3:4: expected 3 fields (as in the header), found 2");
  EXPECT_EQ(parse_error("a,b\n1,2\n4,5,6\n"), "t.csv:3:5: expected 2 fields (as in the header), found 3");
  EXPECT_EQ(parse_error("a,b\n1,\"open\n2,3\n"),
            "t.csv:2:3: unterminated quoted field (the quote opened here is never closed)");
  EXPECT_EQ(parse_error("a,b\n1,\"x\"y\n"),
            "t.csv:2:6: unexpected character 'y' after a closing quote (expected the delimiter or the end of the line)");
  EXPECT_EQ(parse_error("a,b\n1,caf\xC3\n"), "t.csv:2:6: invalid UTF-8 byte sequence");
  EXPECT_EQ(parse_error("a,b\n1,\xC3\xA9t\xE9\n"), "t.csv:2:5: invalid UTF-8 byte sequence");
}

TEST(Csv, BankFullLoadsFastAndTyped) {
  const std::string path = test::bank_full();
  const std::string bytes = read_file(path);  // warm the page cache
  const auto start = std::chrono::steady_clock::now();
  const Table t = parse_csv(bytes, path);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("parse_seconds", std::to_string(seconds));
  ASSERT_EQ(t.rows(), 45211u);
  ASSERT_EQ(t.cols(), 17u);
  EXPECT_EQ(t.column(0).name, "age");
  EXPECT_EQ(t.column(0).type, ColumnType::numeric);
  EXPECT_EQ(t.column(1).type, ColumnType::categorical);
  EXPECT_EQ(t.column(4).type, ColumnType::binary);
  EXPECT_EQ(t.column(5).text(0), "2143");
  EXPECT_EQ(t.column(1).text(1), "technician");
  EXPECT_EQ(t.column(1).levels.size(), 12u);
  // job counts from the data's documentation
  std::size_t blue = 0;
  const auto& job = t.column(1);
  for (auto c : job.codes) blue += job.levels[static_cast<std::size_t>(c)] == "blue-collar";
  EXPECT_EQ(blue, 9732u);
  for (const auto& c : t.columns()) EXPECT_EQ(c.missing, 0u);
}

TEST(Writers, AtomicFileLeavesNothingOnFailure) {
  const std::string dir = test::temp_dir("atomic");
  const std::string path = dir + "/out.csv";
  {
    AtomicFile f(path);
    f << "partial";
    // no commit: destroyed as if an exception unwound
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 0);
  write_file_atomic(path, "a,b\n1,2\n");
  EXPECT_EQ(read_file(path), "a,b\n1,2\n");
}

TEST(Writers, CsvAndNpyRoundTrip) {
  MatrixD m(2, 2);
  m(0, 0) = 0.1;
  m(0, 1) = -3;
  m(1, 0) = 1e-7;
  m(1, 1) = 2.5;
  const std::string csv = matrix_to_csv(m, {"a", "b,c"});
  EXPECT_EQ(csv, "a,\"b,c\"\n0.1,-3.0\n1e-07,2.5\n");
  const std::string dir = test::temp_dir("npy");
  write_file_atomic(dir + "/m.npy", matrix_to_npy(m.view()));
  const MatrixD back = read_npy(dir + "/m.npy");
  ASSERT_EQ(back.rows(), 2u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(back.data()[i], m.data()[i]);
  EXPECT_EQ(csv_escape("plain"), "plain");
  EXPECT_EQ(csv_escape("q\"x"), "\"q\"\"x\"");
}
