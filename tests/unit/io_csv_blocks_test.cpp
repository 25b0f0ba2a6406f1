// The block reader (read_csv on a file) against the whole-text parser: the same
// table, warnings and errors, whatever the block size, so that reading a file without
// holding its text changes nothing but memory.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/internal.hpp"
#include "segmenta/io.hpp"
#include "segmenta/streams.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

std::string write_file(const std::string& name, std::string_view bytes) {
  const std::string path = segmenta::test::temp_dir("csv_blocks") + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

/// Same columns, types, values (bit for bit), levels, missing counts and marks.
void expect_same(const Table& a, const Table& b, const std::string& what) {
  ASSERT_EQ(a.rows(), b.rows()) << what;
  ASSERT_EQ(a.cols(), b.cols()) << what;
  EXPECT_EQ(a.source(), b.source()) << what;
  for (std::size_t j = 0; j < a.cols(); ++j) {
    const Column& x = a.column(j);
    const Column& y = b.column(j);
    EXPECT_EQ(x.name, y.name) << what;
    EXPECT_EQ(x.type, y.type) << what << " column " << x.name;
    EXPECT_EQ(x.integral, y.integral) << what << " column " << x.name;
    EXPECT_EQ(x.missing, y.missing) << what << " column " << x.name;
    EXPECT_EQ(x.decimal, y.decimal) << what << " column " << x.name;
    EXPECT_EQ(x.codes, y.codes) << what << " column " << x.name;
    EXPECT_EQ(x.levels, y.levels) << what << " column " << x.name;
    ASSERT_EQ(x.numbers.size(), y.numbers.size()) << what << " column " << x.name;
    EXPECT_EQ(0, x.numbers.empty() ? 0 : std::memcmp(x.numbers.data(), y.numbers.data(), x.numbers.size() * sizeof(double)))
        << what << " column " << x.name;
  }
}

struct Outcome {
  Table table;
  std::string error;  // the error message, "" when read
  std::vector<std::string> messages;
};

Outcome whole(const std::string& path, CsvOptions o) {
  Outcome out;
  Diagnostics diag;
  o.diagnostics = &diag;
  try {
    out.table = parse_csv(read_data(path), path, o);
  } catch (const Error& e) {
    out.error = e.what();
  }
  for (const auto& d : diag.items()) out.messages.push_back(d.code + ": " + d.message);
  return out;
}

Outcome blocks(const std::string& path, CsvOptions o, std::size_t block) {
  Outcome out;
  Diagnostics diag;
  o.diagnostics = &diag;
  try {
    out.table = io_detail::read_csv_blocks(path, o, block);
  } catch (const Error& e) {
    out.error = e.what();
  }
  for (const auto& d : diag.items()) out.messages.push_back(d.code + ": " + d.message);
  return out;
}

/// Every block size from 1 to 40 bytes, and one larger than the file.
Outcome expect_alike(const std::string& name, std::string_view text, const CsvOptions& o = {}) {
  const std::string path = write_file(name, text);
  const Outcome ref = whole(path, o);
  for (std::size_t block : {1, 2, 3, 5, 7, 8, 11, 13, 16, 17, 23, 31, 40, 1 << 20}) {
    const std::string what = name + " block " + std::to_string(block);
    const Outcome got = blocks(path, o, block);
    EXPECT_EQ(got.error, ref.error) << what;
    EXPECT_EQ(got.messages, ref.messages) << what;
    if (ref.error.empty() && got.error.empty()) expect_same(got.table, ref.table, what);
  }
  return ref;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(CsvBlocks, BankFullIsReadAsTheWholeText) {
  const std::string path = segmenta::test::bank_full();
  const Table ref = parse_csv(read_data(path), path);
  ASSERT_EQ(ref.rows(), 45211u);
  // Blocks of 4 KiB (about 40 rows), of 64 KiB, and the default.
  for (std::size_t block : {4096, 65536, 0}) {
    std::size_t bytes = 0;
    std::uint64_t hash = 0;
    const Table t = io_detail::read_csv_blocks(path, {}, block, &bytes, &hash);
    expect_same(t, ref, "bank-full, block " + std::to_string(block));
    const std::string text = read_data(path);
    EXPECT_EQ(bytes, text.size());
    EXPECT_EQ(hash, fnv1a64(text));
  }
  // A selection and an override, as the blog preset reads it.
  CsvOptions o;
  o.columns = "0:8";
  o.types = {{"age", ColumnType::categorical}};
  expect_same(io_detail::read_csv_blocks(path, o, 1000), parse_csv(read_data(path), path, o), "bank-full 0:8");
  // read_csv on a file takes the block reader.
  expect_same(read_csv(path), ref, "read_csv");
}

TEST(CsvBlocks, TrickyTextAcrossBlockBoundaries) {
  // Quoted fields with line ends, delimiters and doubled quotes, a BOM, CRLF, lone CR,
  // blank lines, no final line end.
  expect_alike("quoted.csv",
               "\xEF\xBB\xBF\"name\",\"note\",n\r\n\"Smith, J\",\"said \"\"hi\"\"\",1\r\nAnn,\"multi\nline\r\nnote\",2\r\n"
               "\r\n\nBo,plain,3\rCy,\"\",4");
  expect_alike("trailing_delim.csv", "a,b\n1,x\n2,y\n3,");
  expect_alike("semicolons.csv", "\"a\";\"b\";\"c\"\n1;\"x;y\";2,5\n2;\"z\";3,25\n");
  expect_alike("utf8.csv", "név,város\nÁrpád,Győr\nÉva,\"Pécs\nbelváros\"\n");
  expect_alike("missing.csv", "a,b,c\n1,NA,x\n,2,\nnan,3,y\nNULL,4,z\n");
  expect_alike("grouped.csv", "amount,x\n\"1,234.5\",a\n\"12,000\",b\n7,c\n");
  expect_alike("dates.csv", "d,v\n2021-03-04,1\n2021-03-05,2\n2020-12-31,3\n");
  // A few non-numbers in a numeric column: a warning naming their places.
  std::string strays = "v,w\n";
  for (int i = 0; i < 60; ++i) strays += (i == 17 || i == 41 ? std::string("oops") : std::to_string(i)) + ",a\n";
  const Outcome s = expect_alike("strays.csv", strays);
  ASSERT_EQ(s.messages.size(), 1u);
  EXPECT_TRUE(has(s.messages[0], "'oops' at strays.csv:19:1, 'oops' at strays.csv:43:1") ||
              has(s.messages[0], "strays.csv:19:1"))
      << s.messages[0];
  // No header.
  CsvOptions no_header;
  no_header.header = false;
  expect_alike("no_header.csv", "1,\"a\nb\"\n2,c\n", no_header);
}

TEST(CsvBlocks, ErrorsNameTheSamePlace) {
  EXPECT_TRUE(has(expect_alike("short_row.csv", "a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n").error, ":4:4: expected 3 fields"));
  expect_alike("long_row.csv", "a,b\n1,2\n\"x\ny\",2,3\n");
  expect_alike("unterminated.csv", "a,b\n1,2\n3,\"open\n4,5\n");
  expect_alike("after_quote.csv", "a,b\n1,\"x\"y\n");
  expect_alike("empty.csv", "");
  expect_alike("blank.csv", " \r\n\n");
  expect_alike("header_only.csv", "a,b\n\n");
  expect_alike("utf16.csv", std::string("\xFF\xFE" "a\0,\0b\0", 8));
  // Invalid UTF-8 late in the file is reported before an earlier short row, as the
  // whole-text reader checks the text first.
  EXPECT_TRUE(has(expect_alike("utf8_late.csv", "a,b\n1,2\n3\n4,5\n6,\xC3\x28\n").error, ":5:3: invalid UTF-8"));
  expect_alike("utf8_header.csv", "a,\xFF\n1,2\n");
  // A cell that contradicts a declared type, at its line and column.
  CsvOptions declared;
  declared.types = {{"v", ColumnType::numeric}};
  EXPECT_TRUE(has(expect_alike("declared.csv", "k,v\nx,1\ny,\"2\n\"\nz,three\n", declared).error, ":3:4: column 'v' is declared numeric"));
  CsvOptions unknown;
  unknown.types = {{"nope", ColumnType::numeric}};
  expect_alike("unknown_override.csv", "a\n1\n", unknown);
}

TEST(CsvBlocks, GzipAndProvenance) {
  const std::string text = "a,b\n1,x\n2,\"y\nz\"\n3,w\n";
  const std::string path = write_file("g.csv.gz", gzip_compress(text));
  std::size_t bytes = 0, compressed = 0;
  std::uint64_t hash = 0;
  const Table t = io_detail::read_csv_blocks(path, {}, 3, &bytes, &hash, &compressed);
  expect_same(t, parse_csv(text, path), "gzip");
  EXPECT_EQ(bytes, text.size());
  EXPECT_EQ(hash, fnv1a64(text));
  EXPECT_EQ(compressed, std::filesystem::file_size(path));
  // A file source records the text's size and hash as before.
  const SourceData d = open_source(path)->read();
  EXPECT_EQ(d.provenance.bytes, text.size());
  EXPECT_EQ(d.provenance.fnv1a64, fnv1a64(text));
}
