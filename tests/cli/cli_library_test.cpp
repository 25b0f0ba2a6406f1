// The library core: segment() on a table built in memory gives the segments that
// `segmenta run` gives on the same table written as CSV, for every method, and the
// files rendered from the typed result are the command's files byte for byte (those
// that name neither the input nor the time).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "segmenta/core.hpp"
#include "segmenta/io.hpp"
#include "segmenta/pipeline.hpp"
#include "small_model.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

/// A customer table built cell by cell: skewed numbers, categories, a binary flag
/// and missing values in both kinds of column.
Table hand_made_table(std::size_t n) {
  Rng rng(17);
  std::vector<double> age(n), balance(n), visits(n);
  std::vector<std::string> job(n), region(n), member(n);
  const char* jobs[] = {"admin.", "technician", "services", "management", "retired"};
  const char* regions[] = {"north", "south", "east", "west"};
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t group = rng.below(3);
    age[i] = std::round(25 + 15 * static_cast<double>(group) + 8 * rng.normal());
    balance[i] = std::round(std::exp(5 + static_cast<double>(group) + rng.normal()));
    visits[i] = i % 37 == 5 ? std::nan("") : std::round(3 * static_cast<double>(group) + 2 * rng.uniform());
    job[i] = jobs[(group * 2 + rng.below(2)) % 5];
    region[i] = i % 29 == 3 ? "" : regions[(group + rng.below(2)) % 4];
    member[i] = group == 2 || rng.uniform() < 0.2 ? "yes" : "no";
  }
  std::vector<Column> cols;
  cols.push_back(test::numeric("age", age));
  cols.push_back(test::categorical("job", job));
  cols.push_back(test::numeric("balance", balance));
  cols.push_back(test::categorical("region", region));
  cols.push_back(test::numeric("visits", visits));
  cols.push_back(test::categorical("member", member, ColumnType::binary));
  return Table("in memory", std::move(cols));
}

/// The table as a comma-separated file, each cell as Column::text prints it.
void write_csv(const Table& t, const std::string& path) {
  std::string s;
  for (std::size_t j = 0; j < t.cols(); ++j) s += (j ? "," : "") + t.column(j).name;
  s += "\n";
  for (std::size_t i = 0; i < t.rows(); ++i) {
    for (std::size_t j = 0; j < t.cols(); ++j) s += (j ? "," : "") + t.column(j).text(i);
    s += "\n";
  }
  std::ofstream(path) << s;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const std::string& rendered(const OutputFiles& files, const std::string& name) {
  for (const auto& [n, content] : files.files)
    if (n == name) return content;
  throw std::runtime_error("not rendered: " + name);
}

void expect_same_as_command(const Table& table, Method method, const std::string& tag) {
  const std::string dir = test::temp_dir("cli_library_" + tag);
  const std::string csv = dir + "/customers.csv";
  write_csv(table, csv);
  const std::string out = dir + "/run";
  const auto cmd = test::run_command(test::cli() + " run " + csv + " --method " + std::string(to_string(method)) +
                                     " --k 2..5 --seed 3 --tsne-sample 200 --no-cache --model " +
                                     test::small_model_dir() + " --out " + out + " --quiet");
  ASSERT_EQ(cmd.exit_code, 0) << cmd.err;

  RunParams p;
  p.method = method;
  p.k = KSpec::parse("2..5");
  p.seed = 3;
  p.tsne_sample = 200;
  p.model = test::small_model_dir();
  p.quiet = true;
  const SegmentationResult r = segment(table, p);

  // The labels of every method, row by row.
  CsvOptions o;
  o.delimiter = ',';
  const Table segments = read_csv(out + "/segments.csv", o);
  ASSERT_EQ(segments.rows(), table.rows());
  const std::size_t expected_methods = method == Method::all ? clustering_methods().size() : 1;
  ASSERT_EQ(r.methods.size(), expected_methods);
  for (const auto& m : r.methods) {
    const Column& col = segments.column(segments.index_of(r.methods.size() == 1 ? "segment" : "segment_" + m.name));
    ASSERT_EQ(m.segment_of_row.size(), table.rows());
    std::size_t clustered = 0;
    for (std::size_t i = 0; i < table.rows(); ++i) {
      const std::int32_t cli = col.is_missing(i) ? -1 : static_cast<std::int32_t>(col.numbers[i]);
      ASSERT_EQ(m.segment_of_row[i], cli) << m.name << " row " << i;
      clustered += m.segment_of_row[i] >= 0;
    }
    EXPECT_EQ(clustered, r.rows.size());
    EXPECT_GE(m.k, 2u);
    EXPECT_LE(m.k, 5u);
    ASSERT_TRUE(m.model);
    EXPECT_EQ(m.model->k(), m.k);
  }

  // Files that name neither the input file nor the time are the command's, byte for byte.
  const OutputFiles files = render_outputs(r);
  for (const char* name : {"segments.csv", "model.json", "maps.csv"})
    EXPECT_EQ(rendered(files, name), read_text(out + "/" + name)) << name;
  for (const auto& m : r.methods) {
    const std::string name = r.methods.size() == 1 ? "profiles.csv" : "profiles_" + m.name + ".csv";
    EXPECT_EQ(rendered(files, name), read_text(out + "/" + name)) << name;
  }
}

}  // namespace

TEST(Library, SegmentKMeansInMemoryMatchesTheCommand) { expect_same_as_command(hand_made_table(700), Method::kmeans, "kmeans"); }

TEST(Library, SegmentKPrototypesInMemoryMatchesTheCommand) {
  expect_same_as_command(hand_made_table(700), Method::kprototypes, "kprototypes");
}

TEST(Library, SegmentEmbedInMemoryMatchesTheCommand) { expect_same_as_command(hand_made_table(300), Method::embed, "embed"); }

TEST(Library, SegmentAllMethodsInMemoryMatchesTheCommand) {
  expect_same_as_command(hand_made_table(300), Method::all, "all");
}

TEST(Library, FittedModelsAssignTheirOwnRowsAsTheFitDid) {
  // k-means' fitted model (Lloyd's algorithm ends with an assignment step) assigns
  // each clustered row to the segment the fit gave it.
  RunParams p;
  p.method = Method::kmeans;
  p.k = KSpec::parse("4");
  p.quiet = true;
  p.maps = false;
  p.explain = false;
  p.report = false;
  const Table t = hand_made_table(500);
  const SegmentationResult r = segment(t, p);
  const MethodSegmentation& m = r.method("kmeans");
  const MatrixD features = r.prep.transform(r.table);
  const std::vector<std::int32_t> again = m.model->predict({r.table, features.view(), ViewD()});
  for (std::size_t i = 0; i < r.rows.size(); ++i) ASSERT_EQ(again[r.rows[i]], m.labels[i]) << i;
  EXPECT_THROW(r.method("embed"), InvalidArgument);
}

TEST(Library, ParametersAreCheckedBeforeAnyWork) {
  RunParams p;
  p.contamination = 0.7;
  EXPECT_THROW(segment(hand_made_table(100), p), InvalidArgument);
}
