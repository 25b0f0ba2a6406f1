// Streams: the block reader against parse_csv of the whole text (the oracle), for
// every way of cutting the text into reads and rows into blocks; gzip round trips;
// errors at the place parse_csv reports them.
#include <gtest/gtest.h>

#include <filesystem>

#include "segmenta/io.hpp"
#include "segmenta/streams.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

/// Blocks read with `read_chunk` bytes per read and `rows` rows per block, glued back
/// into columns of text (each cell as the typed column shows it).
std::vector<std::vector<std::string>> cells_of(const Table& t) {
  std::vector<std::vector<std::string>> out(t.cols());
  for (std::size_t j = 0; j < t.cols(); ++j) {
    const Column& c = t.column(j);
    for (std::size_t i = 0; i < t.rows(); ++i)
      out[j].push_back(c.is_missing(i)       ? std::string("<NA>")
                       : c.is_numeric()      ? format_double(c.numbers[i])
                                             : c.levels[static_cast<std::size_t>(c.codes[i])]);
  }
  return out;
}

std::vector<std::vector<std::string>> read_blocks(const std::string& path, const CsvOptions& o, std::size_t chunk,
                                                  std::size_t rows, std::size_t* blocks = nullptr) {
  CsvBlockReader reader(path, o, chunk);
  std::vector<std::vector<std::string>> out;
  Table b;
  std::size_t n = 0;
  while (reader.next(rows, b)) {
    ++n;
    EXPECT_GE(b.rows(), 1u);
    EXPECT_LE(b.rows(), rows);
    const auto c = cells_of(b);
    if (out.empty()) out.resize(c.size());
    for (std::size_t j = 0; j < c.size(); ++j) out[j].insert(out[j].end(), c[j].begin(), c[j].end());
  }
  if (blocks) *blocks = n;
  return out;
}

// Quoted delimiters, doubled quotes, a line end inside quotes, CRLF and a lone CR,
// blank lines, a byte-order mark, multi-byte UTF-8 and no line end at the end.
const std::string kTricky =
    "\xEF\xBB\xBF" "name;age;note\r\n"
    "\"Ann\";30;\"likes \"\"tea\"\"\"\r\n"
    "\r\n"
    "Bob;41;\"two\nlines\"\n"
    "  \"Zo\xC3\xAB\"  ;NA;\"a;b\"\n"
    "\n\n"
    "Dee;;plain\r"
    "Eve;52;\"\xE2\x82\xAC 5\"\n"
    "Fay;61;\"x\"\n"
    "Gus;7;last";

TEST(CsvBlockReader, EveryCutOfReadsAndBlocksGivesTheWholeTable) {
  const std::string dir = test::temp_dir("io_streams_cuts");
  const std::string path = dir + "/tricky.csv";
  write_file_atomic(path, kTricky);
  CsvOptions o;
  o.delimiter = ';';  // (blank lines make the sniffer give up; sniffing is tested on bank data)
  o.types = {{"name", ColumnType::categorical}, {"age", ColumnType::numeric}, {"note", ColumnType::categorical}};
  const auto want = cells_of(parse_csv(kTricky, path, o));
  ASSERT_EQ(want[0].size(), 7u);
  EXPECT_EQ(want[2][1], "two\nlines");
  EXPECT_EQ(want[2][0], "likes \"tea\"");
  for (std::size_t chunk = 1; chunk <= kTricky.size() + 1; ++chunk)
    for (std::size_t rows : {1, 2, 3, 7, 100}) {
      std::size_t blocks = 0;
      EXPECT_EQ(read_blocks(path, o, chunk, rows, &blocks), want) << "chunk " << chunk << " rows " << rows;
      EXPECT_EQ(blocks, (7 + rows - 1) / rows) << "chunk " << chunk << " rows " << rows;
    }
  // gzip-compressed, read the same way.
  write_file_atomic(dir + "/tricky.gz", gzip_compress(kTricky));
  for (std::size_t chunk : {1, 5, 64, 1 << 20})
    EXPECT_EQ(read_blocks(dir + "/tricky.gz", o, chunk, 3), want) << chunk;
}

TEST(CsvBlockReader, ErrorsInALaterBlockAreWhereParseCsvPutsThem) {
  const std::string dir = test::temp_dir("io_streams_errors");
  CsvOptions o;
  o.types = {{"a", ColumnType::numeric}, {"b", ColumnType::categorical}};
  const std::string head = "a,b\n1,x\n2,y\n3,\"z\nz\"\n4,w\n5,v\n";
  for (const std::string& bad : {std::string("6,u,extra\n7,t\n"), std::string("6,\"open\n7,t\n"),
                                 std::string("six,u\n"), std::string("6,\"q\"x\n"), std::string("6,\xC3(\n")}) {
    const std::string text = head + bad;
    const std::string path = dir + "/bad.csv";
    write_file_atomic(path, text);
    std::string want;
    try {
      parse_csv(text, path, o);
    } catch (const ParseError& e) {
      want = e.what();
    }
    ASSERT_FALSE(want.empty()) << bad;
    for (std::size_t chunk : {1, 3, 8, 1 << 20})
      for (std::size_t rows : {1, 2, 100}) {
        std::string got;
        try {
          read_blocks(path, o, chunk, rows);
        } catch (const ParseError& e) {
          got = e.what();
        }
        EXPECT_EQ(got, want) << "chunk " << chunk << " rows " << rows;
      }
  }
}

TEST(Streams, GzipRoundTripAndDamage) {
  const std::string dir = test::temp_dir("io_streams_gzip");
  std::string text;
  for (int i = 0; i < 20000; ++i) text += std::to_string(i * 7919 % 10007) + ";row " + std::to_string(i) + "\n";
  {
    OutputStream out(dir + "/t.csv.gz");
    for (std::size_t at = 0; at < text.size(); at += 777) out.write(std::string_view(text).substr(at, 777));
    out.commit();
  }
  EXPECT_EQ(read_data(dir + "/t.csv.gz"), text);
  {
    OutputStream out(dir + "/plain.csv");
    out.write(text);
    out.commit();
  }
  EXPECT_EQ(read_file(dir + "/plain.csv"), text);
  // A plain file starting with one of the magic bytes is read as it is.
  write_file_atomic(dir + "/one.csv", "\x1f" "abc");
  EXPECT_EQ(read_data(dir + "/one.csv"), "\x1f" "abc");
  write_file_atomic(dir + "/empty.csv", "");
  EXPECT_EQ(read_data(dir + "/empty.csv"), "");
  // Not committed: nothing is left.
  {
    OutputStream out(dir + "/never.csv.gz");
    out.write(text);
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/never.csv.gz"));
  const std::string gz = read_file(dir + "/t.csv.gz");
  write_file_atomic(dir + "/cut.gz", gz.substr(0, gz.size() - 9));
  EXPECT_THROW(read_data(dir + "/cut.gz"), DataError);
  write_file_atomic(dir + "/header_only.gz", gz.substr(0, 10));
  EXPECT_THROW(read_data(dir + "/header_only.gz"), DataError);
  EXPECT_THROW(read_data(dir + "/missing.gz"), IoError);
}

}  // namespace
