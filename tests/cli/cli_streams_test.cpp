// Files and pipes: gzip input and output (checked against Python's gzip module),
// standard input and output, and `segmenta score` a block of rows at a time (small
// blocks against the whole table, for every method).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "segmenta/io.hpp"
#include "segmenta/streams.hpp"
#include "small_model.hpp"
#include "support.hpp"

using namespace segmenta;
namespace fs = std::filesystem;

namespace {

const std::string kPython = "/usr/bin/python3";

/// gzip-compresses `from` into `to` with Python's gzip module (the independent reference).
void python_gzip(const std::string& from, const std::string& to) {
  const auto r = test::run_command(
      kPython + " -c 'import gzip,shutil,sys\nwith open(sys.argv[1],\"rb\") as f, gzip.open(sys.argv[2],\"wb\") as g: "
                "shutil.copyfileobj(f,g)' " +
      from + " " + to);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

/// The bytes of a gzip file as Python's gzip module reads them.
std::string python_gunzip(const std::string& path) {
  const std::string out = path + ".python-plain";
  const auto r = test::run_command(kPython +
                                   " -c 'import gzip,sys\nopen(sys.argv[2],\"wb\").write(gzip.open(sys.argv[1]).read())' " +
                                   path + " " + out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string text = read_file(out);
  fs::remove(out);
  return text;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

/// A run's model.json (no maps, report or explanations).
std::string fit(const std::string& dir, const std::string& data, const std::string& args) {
  const auto r = test::run_command(test::cli() + " run " + data + " --quiet --no-explain --no-maps --no-report " + args +
                                   " --out " + dir + "/run");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir + "/run/model.json";
}

test::CommandResult score(const std::string& model, const std::string& data, const std::string& out,
                          std::size_t block_rows = 0, const std::string& prefix = "") {
  const std::string env = block_rows ? fmt::format("SEGMENTA_SCORE_BLOCK_ROWS={} ", block_rows) : "";
  return test::run_command(prefix + env + test::cli() + " score " + model + " " + data + " --out " + out);
}

/// bank.csv with holes: missing cells (empty and NA), levels the run never saw and
/// an age out of the run's range, every few rows.
std::string damaged_bank(const std::string& dir) {
  std::ifstream in(test::bank_small());
  std::string line, text;
  std::size_t i = 0;
  while (std::getline(in, line)) {
    if (i > 0) {
      std::vector<std::string> cells;
      std::size_t start = 0;
      for (std::size_t c; (c = line.find(';', start)) != std::string::npos; start = c + 1)
        cells.push_back(line.substr(start, c - start));
      cells.push_back(line.substr(start));
      if (i % 5 == 0) cells[1] = "\"astronaut\"";  // job: an unknown level
      if (i % 7 == 0) cells[0] = "";                // age missing
      if (i % 11 == 0) cells[2] = "NA";             // marital missing
      if (i % 13 == 0) cells[5] = "";               // balance missing
      if (i % 17 == 0) cells[3] = "\"doctorate\"";  // education: an unknown level
      if (i % 19 == 0) cells[0] = "140";            // age beyond the run's
      line.clear();
      for (std::size_t j = 0; j < cells.size(); ++j) line += (j ? ";" : "") + cells[j];
    }
    text += line + "\n";
    ++i;
  }
  const std::string path = dir + "/damaged.csv";
  write_text(path, text);
  return path;
}

/// Scores `data` whole (one block) and in blocks of 7 rows and checks the outputs are
/// the same text; returns the whole-table output.
std::string expect_blocks_match(const std::string& dir, const std::string& model, const std::string& data,
                                std::size_t min_rows) {
  const auto whole = score(model, data, dir + "/whole.csv", 1u << 30);
  EXPECT_EQ(whole.exit_code, 0) << whole.err;
  const auto blocks = score(model, data, dir + "/blocks.csv", 7);
  EXPECT_EQ(blocks.exit_code, 0) << blocks.err;
  const std::string a = read_file(dir + "/whole.csv"), b = read_file(dir + "/blocks.csv");
  EXPECT_GT(count_lines(a), min_rows);
  EXPECT_TRUE(a == b) << "blocks of 7 rows and the whole table differ for " << data;
  return a;
}

TEST(CliStreams, GzipInputReadsAsThePlainFileForRunMapAndScore) {
  const std::string dir = test::temp_dir("cli_streams_gzip_in");
  const std::string plain = test::bank_small();
  // Python writes the gzip file; a second copy has a name that does not say gzip.
  python_gzip(plain, dir + "/bank.csv.gz");
  fs::copy_file(dir + "/bank.csv.gz", dir + "/disguised.csv");
  for (const std::string& data : {dir + "/bank.csv.gz", dir + "/disguised.csv"}) {
    const auto a = test::run_command(test::cli() + " run " + plain +
                                     " --k 3 --quiet --no-explain --no-maps --no-report --out " + dir + "/plain");
    const auto b = test::run_command(test::cli() + " run " + data +
                                     " --k 3 --quiet --no-explain --no-maps --no-report --out " + dir + "/gz");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_EQ(read_file(dir + "/plain/segments.csv"), read_file(dir + "/gz/segments.csv"));
    // run.json records the CSV text's hash (the same) and that it was compressed.
    const auto pj = test::read_json(dir + "/plain/run.json"), gj = test::read_json(dir + "/gz/run.json");
    EXPECT_EQ(gj.at("input").at("fnv1a64"), pj.at("input").at("fnv1a64"));
    EXPECT_EQ(gj.at("input").at("bytes"), pj.at("input").at("bytes"));
    EXPECT_EQ(gj.at("input").value("compression", ""), "gzip");
    EXPECT_FALSE(pj.at("input").contains("compression"));
  }
  const auto m1 = test::run_command(test::cli() + " map " + plain + " -q --out " + dir + "/map_plain.csv");
  const auto m2 = test::run_command(test::cli() + " map " + dir + "/bank.csv.gz -q --out " + dir + "/map_gz.csv");
  ASSERT_EQ(m1.exit_code, 0) << m1.err;
  ASSERT_EQ(m2.exit_code, 0) << m2.err;
  EXPECT_EQ(read_file(dir + "/map_plain.csv"), read_file(dir + "/map_gz.csv"));

  const std::string model = fit(dir, plain, "--k 3");
  ASSERT_EQ(score(model, plain, dir + "/s_plain.csv").exit_code, 0);
  const auto s = score(model, dir + "/bank.csv.gz", dir + "/s_gz.csv");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(read_file(dir + "/s_plain.csv"), read_file(dir + "/s_gz.csv"));
  EXPECT_EQ(count_lines(read_file(dir + "/s_gz.csv")), 4522u);
}

TEST(CliStreams, ConcatenatedGzipMembersAndEveryDelimiter) {
  const std::string dir = test::temp_dir("cli_streams_gzip_members");
  // The same table with each sniffed delimiter, gzip-compressed in two members
  // (the header and first rows, then the rest), as `cat a.gz b.gz` makes them.
  Table want = read_csv(test::bank_small());
  const std::string text = read_file(test::bank_small());
  const std::size_t cut = text.find('\n', text.size() / 3) + 1;
  for (char d : {'\t', ';', ',', '|'}) {
    std::string t = text;
    for (char& c : t)
      if (c == ';') c = d;
    const std::string p1 = dir + "/part1.csv", p2 = dir + "/part2.csv";
    write_text(p1, t.substr(0, cut));
    write_text(p2, t.substr(cut));
    python_gzip(p1, p1 + ".gz");
    python_gzip(p2, p2 + ".gz");
    write_text(dir + "/two.csv.gz", read_file(p1 + ".gz") + read_file(p2 + ".gz"));
    const Table got = read_csv(dir + "/two.csv.gz");
    ASSERT_EQ(got.rows(), want.rows()) << int(d);
    ASSERT_EQ(got.cols(), want.cols()) << int(d);
    for (std::size_t j = 0; j < got.cols(); ++j) {
      EXPECT_EQ(got.column(j).name, want.column(j).name);
      EXPECT_EQ(got.column(j).numbers, want.column(j).numbers);
      EXPECT_EQ(got.column(j).levels, want.column(j).levels);
      EXPECT_EQ(got.column(j).codes, want.column(j).codes);
    }
  }
}

TEST(CliStreams, ScoreWritesGzipThatPythonReads) {
  const std::string dir = test::temp_dir("cli_streams_gzip_out");
  const std::string model = fit(dir, test::bank_small(), "--k 4");
  ASSERT_EQ(score(model, test::bank_full(), dir + "/plain.csv").exit_code, 0);
  const auto r = score(model, test::bank_full(), dir + "/scores.csv.gz", 1000);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string raw = read_file(dir + "/scores.csv.gz");
  ASSERT_GE(raw.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(raw[1]), 0x8b);
  const std::string plain = read_file(dir + "/plain.csv");
  EXPECT_EQ(count_lines(plain), 45212u);
  EXPECT_TRUE(python_gunzip(dir + "/scores.csv.gz") == plain);
  EXPECT_LT(raw.size(), plain.size() / 2);
  // Our reader reads it back too (what we write, we read).
  EXPECT_TRUE(read_data(dir + "/scores.csv.gz") == plain);
}

TEST(CliStreams, DamagedGzipIsADataErrorAndWritesNothing) {
  const std::string dir = test::temp_dir("cli_streams_gzip_bad");
  const std::string model = fit(dir, test::bank_small(), "--k 3");
  python_gzip(test::bank_small(), dir + "/good.csv.gz");
  const std::string gz = read_file(dir + "/good.csv.gz");
  write_text(dir + "/truncated.csv.gz", gz.substr(0, gz.size() * 2 / 3));
  std::string corrupt = gz;
  for (std::size_t i = gz.size() / 2; i < gz.size() / 2 + 64; ++i) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  write_text(dir + "/corrupt.csv.gz", corrupt);
  std::string bad_crc = gz;
  bad_crc[gz.size() - 6] = static_cast<char>(bad_crc[gz.size() - 6] ^ 1);  // the CRC-32 in the trailer
  write_text(dir + "/bad_crc.csv.gz", bad_crc);
  write_text(dir + "/trailing.csv.gz", gz + "garbage");
  for (const auto& [file, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"truncated.csv.gz", "the gzip data is truncated"},
           {"corrupt.csv.gz", "corrupt gzip data"},
           {"bad_crc.csv.gz", "corrupt gzip data (incorrect data check)"},
           {"trailing.csv.gz", "unexpected bytes after the end of the gzip data"}}) {
    const std::string path = dir + "/" + file;
    for (std::size_t block : {std::size_t{0}, std::size_t{7}}) {
      const auto r = score(model, path, dir + "/out.csv", block);
      EXPECT_EQ(r.exit_code, 3) << file << ": " << r.err;
      EXPECT_EQ(r.err.rfind("segmenta: error: " + path + ": ", 0), 0u) << r.err;
      EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
      EXPECT_EQ(count_lines(r.err), 1u) << r.err;
      EXPECT_FALSE(fs::exists(dir + "/out.csv")) << file;
    }
    const auto run = test::run_command(test::cli() + " run " + path + " -q --out " + dir + "/run_out");
    EXPECT_EQ(run.exit_code, 3) << run.err;
    EXPECT_NE(run.err.find(fragment), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(dir + "/run_out"));
  }
  // Nothing but the inputs and the model's run is left in the folder.
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    EXPECT_TRUE(n == "run" || n.find(".csv.gz") != std::string::npos) << n;
  }
}

TEST(CliStreams, StandardInputAndOutput) {
  const std::string dir = test::temp_dir("cli_streams_stdio");
  const std::string model = fit(dir, test::bank_small(), "--k 3");
  ASSERT_EQ(score(model, test::bank_full(), dir + "/file.csv").exit_code, 0);
  const std::string want = read_file(dir + "/file.csv");
  python_gzip(test::bank_full(), dir + "/full.csv.gz");
  // Plain and gzip text on standard input; the scores on standard output and nothing
  // else (the summary goes to standard error).
  for (const std::string& input : {test::bank_full(), dir + "/full.csv.gz"}) {
    const auto r = score(model, "-", "-", 1000, "cat " + input + " | ");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out == want) << input;
    EXPECT_NE(r.err.find("scored 45211 rows -> <stdout>"), std::string::npos) << r.err;
  }
  // A data error on standard input names <stdin>, with the line counted from the start.
  std::string text = read_file(test::bank_small());
  std::size_t at = 0;
  for (int i = 0; i < 3000; ++i) at = text.find('\n', at) + 1;
  text.insert(at, "1;2\n");  // line 3001
  write_text(dir + "/ragged.csv", text);
  const auto bad = score(model, "-", "-", 7, "cat " + dir + "/ragged.csv | ");
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_NE(bad.err.find("<stdin>:3001:4: expected 17 fields (as in the header), found 2"), std::string::npos)
      << bad.err;
  // run and map read standard input too.
  const auto run = test::run_command("cat " + dir + "/full.csv.gz | " + test::cli() +
                                     " run - --k 3 --quiet --no-explain --no-maps --no-report --out " + dir + "/r");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto run2 = test::run_command(test::cli() + " run " + test::bank_full() +
                                      " --k 3 --quiet --no-explain --no-maps --no-report --out " + dir + "/r2");
  ASSERT_EQ(run2.exit_code, 0) << run2.err;
  EXPECT_TRUE(read_file(dir + "/r/segments.csv") == read_file(dir + "/r2/segments.csv"));
  const auto map = test::run_command("cat " + test::bank_small() + " | " + test::cli() + " map - -q --out " + dir + "/m.csv");
  ASSERT_EQ(map.exit_code, 0) << map.err;
  const auto map2 = test::run_command(test::cli() + " map " + test::bank_small() + " -q --out " + dir + "/m2.csv");
  ASSERT_EQ(map2.exit_code, 0) << map2.err;
  EXPECT_EQ(read_file(dir + "/m.csv"), read_file(dir + "/m2.csv"));
}

TEST(CliStreams, ErrorsInALaterBlockKeepTheirPlaceAndLeaveNoOutput) {
  const std::string dir = test::temp_dir("cli_streams_late_error");
  const std::string model = fit(dir, test::bank_small(), "--k 3");
  std::string text = read_file(test::bank_small());
  // Line 4000: a balance that is not a number (the model says balance is numeric).
  std::size_t at = 0;
  for (int i = 0; i < 3999; ++i) at = text.find('\n', at) + 1;
  const std::size_t end = text.find('\n', at);
  std::string line = text.substr(at, end - at);
  std::size_t field = 0;
  for (int i = 0; i < 5; ++i) field = line.find(';', field) + 1;
  line.replace(field, line.find(';', field) - field, "lots");
  text.replace(at, end - at, line);
  write_text(dir + "/late.csv", text);
  python_gzip(dir + "/late.csv", dir + "/late.csv.gz");
  fs::copy_file(model, dir + "/keep.json");
  write_text(dir + "/old.csv", "an older output\n");
  for (const std::string& data : {dir + "/late.csv", dir + "/late.csv.gz"}) {
    std::string first;
    for (std::size_t block : {std::size_t{1} << 30, std::size_t{7}, std::size_t{1000}}) {
      const auto r = score(model, data, dir + "/old.csv", block);
      EXPECT_EQ(r.exit_code, 3) << r.err;
      EXPECT_NE(r.err.find(data + ":4000:"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("'lots' is not a number"), std::string::npos) << r.err;
      if (first.empty()) first = r.err;
      EXPECT_EQ(r.err, first);  // the same message, place included, whatever the blocks
      EXPECT_EQ(read_file(dir + "/old.csv"), "an older output\n");
      std::size_t files = 0;
      for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
      EXPECT_EQ(files, 4u);  // late.csv, late.csv.gz, keep.json, old.csv: no temporary left
    }
    // On standard output the rows before the error have gone out; the exit code says it failed.
    const auto r = score(model, data, "-", 1000);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_LT(count_lines(r.out), 4000u);
  }
}

TEST(CliStreams, BlocksScoreAsTheWholeTableKMeans) {
  const std::string dir = test::temp_dir("cli_streams_blocks_kmeans");
  const std::string model = fit(dir, test::bank_full(), "--preset blog --method kmeans");
  // The run's own rows (in-sample outlier scores) and new rows with holes.
  const std::string own = expect_blocks_match(dir, model, test::bank_full(), 45211);
  EXPECT_TRUE(own == read_file(dir + "/run/segments.csv"));
  expect_blocks_match(dir, model, test::bank_small(), 4521);
  // The blog preset cannot encode a level the run never saw: a data error at the
  // first such row, counted from the start of the input, whatever the blocks.
  const std::string damaged = damaged_bank(dir);
  for (std::size_t block : {std::size_t{1} << 30, std::size_t{7}}) {
    const auto r = score(model, damaged, dir + "/bad.csv", block);
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(r.err, "segmenta: error: " + damaged + ": data row 5: the model cannot score this row: job is 'astronaut', "
                     "a level the run never saw, which the blog preset cannot encode\n");
    EXPECT_FALSE(fs::exists(dir + "/bad.csv"));
  }
  // The standard preset imputes missing values and encodes unseen levels as none of the known ones.
  const std::string standard = fit(test::temp_dir("cli_streams_blocks_kmeans_standard"), test::bank_small(), "--method kmeans --k 4");
  expect_blocks_match(dir, standard, damaged, 4521);
  expect_blocks_match(dir, standard, test::bank_full(), 45211);
}

TEST(CliStreams, BlocksScoreAsTheWholeTableKPrototypes) {
  const std::string dir = test::temp_dir("cli_streams_blocks_kprototypes");
  const std::string model = fit(dir, test::bank_small(), "--method kprototypes --k 4");
  const std::string own = expect_blocks_match(dir, model, test::bank_small(), 4521);
  EXPECT_TRUE(own == read_file(dir + "/run/segments.csv"));
  expect_blocks_match(dir, model, test::bank_full(), 45211);
  expect_blocks_match(dir, model, damaged_bank(dir), 4521);
}

TEST(CliStreams, BlocksScoreAsTheWholeTableLca) {
  const std::string dir = test::temp_dir("cli_streams_blocks_lca");
  const std::string model = fit(dir, test::bank_small(), "--method lca --k 3");
  expect_blocks_match(dir, model, test::bank_small(), 4521);
  expect_blocks_match(dir, model, test::bank_full(), 45211);
  expect_blocks_match(dir, model, damaged_bank(dir), 4521);
}

// Embedded rows are scored all at once whatever the block size (the encoder's
// length-sorted batches make embeddings depend on the other rows in their last bits).
TEST(CliStreams, EmbedScoresTheWholeInputAtOnce) {
  const std::string dir = test::temp_dir("cli_streams_blocks_embed");
  const std::string model = fit(dir, test::bank_small(), "--method embed --k 3 --no-cache --model " + test::small_model_dir());
  const std::string own = expect_blocks_match(dir, model, test::bank_small(), 4521);
  EXPECT_TRUE(own == read_file(dir + "/run/segments.csv"));
  expect_blocks_match(dir, model, damaged_bank(dir), 4521);
}

}  // namespace
