#include "support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace segmenta::test {

std::string shared_dir() {
  if (const char* env = std::getenv("SEGMENTA_SHARED")) return env;
  return SEGMENTA_SHARED_DIR;
}

std::string shared_path(const std::string& relative) {
  const std::string p = shared_dir() + "/" + relative;
  if (!std::filesystem::exists(p)) {
    ADD_FAILURE() << "required reference file is missing: " << p
                  << " (the shared directory must sit beside the project, or set SEGMENTA_SHARED)";
    throw std::runtime_error("missing reference file " + p);
  }
  return p;
}

std::string golden_path(const std::string& relative) { return shared_path("golden/" + relative); }

nlohmann::json golden_json(const std::string& relative) {
  return nlohmann::json::parse(read_file(golden_path(relative)));
}

Table golden_table(const std::string& relative) {
  CsvOptions o;
  o.delimiter = ',';
  return read_csv(golden_path(relative), o);
}

MatrixD golden_matrix(const std::string& relative, const std::vector<std::string>& names) {
  const Table t = golden_table(relative);
  std::vector<std::size_t> cols;
  for (const auto& n : names) cols.push_back(t.index_of(n));
  return t.numeric_matrix(cols);
}

MatrixD golden_matrix_skip_first(const std::string& relative) {
  const Table t = golden_table(relative);
  std::vector<std::size_t> cols;
  for (std::size_t j = 1; j < t.cols(); ++j) cols.push_back(j);
  return t.numeric_matrix(cols);
}

std::string bank_full() { return shared_path("data/bank-full.csv"); }
std::string bank_small() { return shared_path("data/bank.csv"); }

Column numeric(std::string name, std::vector<double> values) {
  Column c;
  c.name = std::move(name);
  c.type = ColumnType::numeric;
  c.numbers = std::move(values);
  for (const double x : c.numbers) c.missing += std::isnan(x) ? 1 : 0;
  return c;
}

Column categorical(std::string name, const std::vector<std::string>& values, ColumnType type) {
  Column c;
  c.name = std::move(name);
  c.type = type;
  for (const auto& v : values) {
    if (v.empty()) {
      c.codes.push_back(-1);
      ++c.missing;
      continue;
    }
    auto it = std::find(c.levels.begin(), c.levels.end(), v);
    if (it == c.levels.end()) {
      c.levels.push_back(v);
      it = c.levels.end() - 1;
    }
    c.codes.push_back(static_cast<std::int32_t>(it - c.levels.begin()));
  }
  return c;
}

std::string temp_dir(const std::string& name) {
  const std::string p = std::string(SEGMENTA_TEST_OUTPUT_DIR) + "/" + name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

MatrixD json_matrix(const nlohmann::json& j) {
  const std::size_t r = j.size(), c = r ? j[0].size() : 0;
  MatrixD m(r, c);
  for (std::size_t i = 0; i < r; ++i)
    for (std::size_t k = 0; k < c; ++k) m(i, k) = j[i][k].get<double>();
  return m;
}

std::vector<double> json_vector(const nlohmann::json& j) { return j.get<std::vector<double>>(); }

CommandResult run_command(const std::string& command) {
  static int counter = 0;
  const std::string dir = std::string(SEGMENTA_TEST_OUTPUT_DIR) + "/commands";
  std::filesystem::create_directories(dir);
  const std::string base = dir + "/" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const std::string full = command + " >" + base + ".out 2>" + base + ".err";
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(base + ".out");
  r.err = read_file(base + ".err");
  std::filesystem::remove(base + ".out");
  std::filesystem::remove(base + ".err");
  return r;
}

std::string cli() {
#ifdef SEGMENTA_CLI
  return SEGMENTA_CLI;
#else
  ADD_FAILURE() << "the segmenta executable is not part of this build";
  throw std::runtime_error("no segmenta executable");
#endif
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

std::string python() {
  if (const char* p = std::getenv("SEGMENTA_PYTHON")) return p;
  return "/usr/bin/python3";
}

bool torch_available() {
  const std::string cmd = python() + " -c 'import numpy, torch' > /dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

double cosine(const float* a, const double* b, std::size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += a[i] * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

void expect_same_table(const Table& got, const Table& want, const std::string& what) {
  EXPECT_EQ(got.source(), want.source()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  ASSERT_EQ(got.rows(), want.rows()) << what;
  for (std::size_t j = 0; j < want.cols(); ++j) {
    const Column &a = got.column(j), &b = want.column(j);
    const std::string where = what + ", column " + b.name;
    EXPECT_EQ(a.name, b.name) << where;
    EXPECT_EQ(a.type, b.type) << where;
    EXPECT_EQ(a.integral, b.integral) << where;
    EXPECT_EQ(a.missing, b.missing) << where;
    EXPECT_EQ(a.decimal, b.decimal) << where;
    EXPECT_EQ(a.levels, b.levels) << where;
    EXPECT_EQ(a.codes, b.codes) << where;
    ASSERT_EQ(a.numbers.size(), b.numbers.size()) << where;
    EXPECT_EQ(0, a.numbers.empty() ? 0 : std::memcmp(a.numbers.data(), b.numbers.data(), a.numbers.size() * sizeof(double)))
        << where;
  }
}

void expect_same_diagnostics(const Diagnostics& got, const Diagnostics& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    const Diagnostic &a = got.items()[i], &b = want.items()[i];
    EXPECT_EQ(a.level, b.level) << "diagnostic " << i;
    EXPECT_EQ(a.stage, b.stage) << "diagnostic " << i;
    EXPECT_EQ(a.code, b.code) << "diagnostic " << i;
    EXPECT_EQ(a.message, b.message) << "diagnostic " << i;
  }
}

void expect_same_dates(const DateReadings& got, const DateReadings& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    EXPECT_EQ(got[i].second.order, want[i].second.order) << want[i].first;
    EXPECT_EQ(got[i].second.reference, want[i].second.reference) << want[i].first;
  }
}

}  // namespace segmenta::test
