// Sources: a CSV file and standard input give the table parse_csv gives, and their
// provenance (kind, name, size, FNV-1a hash of the bytes).
#include <gtest/gtest.h>

#include <cstdio>

#include <fmt/format.h>

#include "segmenta/io.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

const std::string kCsv = "id;age;job\n1;30;admin.\n2;NA;\"blue;collar\"\n3;41;admin.\n";

void expect_table(const Table& t, const std::string& source) {
  EXPECT_EQ(t.source(), source);
  ASSERT_EQ(t.rows(), 3u);
  ASSERT_EQ(t.cols(), 3u);
  EXPECT_EQ(t.column(1).type, ColumnType::numeric);
  EXPECT_EQ(t.column(1).missing, 1u);
  EXPECT_EQ(t.column(2).levels, (std::vector<std::string>{"admin.", "blue;collar"}));
}

std::FILE* stream_of(const std::string& bytes) {
  std::FILE* f = std::tmpfile();
  if (f) {
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::rewind(f);
  }
  return f;
}

}  // namespace

TEST(Source, CsvFileWithProvenance) {
  const std::string path = test::temp_dir("source_file") + "/customers.csv";
  write_file_atomic(path, kCsv);
  CsvFileSource source(path);
  EXPECT_EQ(source.kind(), "file");
  EXPECT_EQ(source.name(), path);
  const SourceData d = source.read();
  expect_table(d.table, path);
  EXPECT_EQ(d.provenance.kind, "file");
  EXPECT_EQ(d.provenance.name, path);
  EXPECT_EQ(d.provenance.bytes, kCsv.size());
  EXPECT_EQ(d.provenance.fnv1a64, fnv1a64(kCsv));
  EXPECT_EQ(d.provenance.fnv1a64_hex(), fmt::format("{:016x}", fnv1a64(kCsv)));
  EXPECT_EQ(d.provenance.fnv1a64_hex().size(), 16u);
  EXPECT_TRUE(d.provenance.extra.empty());
  // A file can be read again.
  EXPECT_EQ(source.read().provenance.fnv1a64, d.provenance.fnv1a64);
}

TEST(Source, StandardInputWithProvenance) {
  std::FILE* in = stream_of(kCsv);
  ASSERT_NE(in, nullptr);
  StdinSource source({}, in);
  EXPECT_EQ(source.kind(), "stdin");
  EXPECT_EQ(source.name(), "<stdin>");
  const SourceData d = source.read();
  expect_table(d.table, "<stdin>");
  EXPECT_EQ(d.provenance.kind, "stdin");
  EXPECT_EQ(d.provenance.name, "<stdin>");
  EXPECT_EQ(d.provenance.bytes, kCsv.size());
  EXPECT_EQ(d.provenance.fnv1a64, fnv1a64(kCsv));
  EXPECT_THROW(source.read(), InvalidArgument);
  std::fclose(in);
}

TEST(Source, OptionsAndErrorsAreParseCsvs) {
  std::FILE* in = stream_of("a,b\n1,2\n3\n");
  ASSERT_NE(in, nullptr);
  StdinSource ragged({}, in);
  try {
    ragged.read();
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_STREQ(e.what(), "<stdin>:3:2: expected 2 fields (as in the header), found 1");
  }
  std::fclose(in);

  CsvOptions o;
  o.columns = "job,age";
  o.types = {{"age", ColumnType::categorical}};
  const std::string path = test::temp_dir("source_options") + "/c.csv";
  write_file_atomic(path, kCsv);
  const Table t = open_source(path, o)->read().table;
  ASSERT_EQ(t.cols(), 2u);
  EXPECT_EQ(t.column(0).name, "job");
  EXPECT_EQ(t.column(1).type, ColumnType::categorical);
  const Table same = parse_csv(kCsv, path, o);
  EXPECT_EQ(t.column(1).codes, same.column(1).codes);
  EXPECT_EQ(t.column(1).levels, same.column(1).levels);
}

TEST(Source, OpenSourceChoosesByTheSpec) {
  EXPECT_EQ(open_source("-")->kind(), "stdin");
  EXPECT_EQ(open_source("-")->name(), "<stdin>");
  EXPECT_EQ(open_source("data/customers.csv")->kind(), "file");
  EXPECT_EQ(open_source("data/customers.csv")->name(), "data/customers.csv");
  EXPECT_THROW(open_source(""), InvalidArgument);
  try {
    open_source("/nonexistent/customers.csv")->read();
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/customers.csv: cannot open: No such file or directory");
  }
}
