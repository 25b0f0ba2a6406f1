// Test support: locating ../shared, reading golden CSV/JSON files, small comparisons.
// A golden file that is missing fails the test loudly; it never passes silently.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "segmenta/core.hpp"
#include "segmenta/io.hpp"

namespace segmenta::test {

/// The shared directory: $SEGMENTA_SHARED if set, else the configured ../shared.
std::string shared_dir();
/// shared_dir() + "/" + relative; fails the current test (ADD_FAILURE + throw) if absent.
std::string shared_path(const std::string& relative);
/// A golden file path: shared/golden/<relative>.
std::string golden_path(const std::string& relative);
/// Parsed JSON of a golden file.
nlohmann::json golden_json(const std::string& relative);
/// A golden CSV as a typed table (comma separated, header).
Table golden_table(const std::string& relative);

/// A numeric column of `values` (NaN = missing), as the CSV reader builds it.
Column numeric(std::string name, std::vector<double> values);
/// A column of text values with levels in order of first appearance ("" = missing),
/// as the CSV reader builds it.
Column categorical(std::string name, const std::vector<std::string>& values,
                   ColumnType type = ColumnType::categorical);
/// The numeric columns `names` of a golden CSV as a matrix (rows, names.size()).
MatrixD golden_matrix(const std::string& relative, const std::vector<std::string>& names);
/// All columns but the first ("row") of a golden CSV as a matrix.
MatrixD golden_matrix_skip_first(const std::string& relative);
/// The bank data path (shared/data/bank-full.csv or bank.csv).
std::string bank_full();
std::string bank_small();
/// A fresh empty directory under the build tree for test outputs.
std::string temp_dir(const std::string& name);
/// Matrix from a JSON array of arrays.
MatrixD json_matrix(const nlohmann::json& j);
std::vector<double> json_vector(const nlohmann::json& j);

/// Result of running a shell command: exit code and captured stdout/stderr.
struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
/// Runs `command` through /bin/sh, capturing stdout and stderr separately.
CommandResult run_command(const std::string& command);
/// The segmenta executable built with the tests (fails the test if it was not built).
std::string cli();
/// Parsed JSON of any file.
nlohmann::json read_json(const std::string& path);
/// The Python of the reference scripts: $SEGMENTA_PYTHON, else Debian's /usr/bin/python3.
std::string python();
/// True when python() imports numpy and torch (the torch reference tests skip otherwise).
bool torch_available();
/// Cosine of a float vector with a double one, both of length n, summed in double.
double cosine(const float* a, const double* b, std::size_t n);

/// Two tables field by field (source, every column's name, type, flags, missing
/// count, decimal mark, levels and codes), every number bit for bit (NaN payloads,
/// -0.0); `what` names them in the failures.
void expect_same_table(const Table& got, const Table& want, const std::string& what);
/// Two lists of diagnostics, item by item: level, stage, code and message.
void expect_same_diagnostics(const Diagnostics& got, const Diagnostics& want);
/// Two lists of columns read from dates: name, order and reference day.
void expect_same_dates(const DateReadings& got, const DateReadings& want);

}  // namespace segmenta::test
