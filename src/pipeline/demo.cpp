// Synthetic demo customers: five planted segments over the schema of the UCI bank
// data's first eight columns. The generator is documented in docs/DEMO.md; keep
// the two in step.
#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "segmenta/io.hpp"
#include "segmenta/pipeline.hpp"

namespace segmenta {
namespace {

struct Choice {
  const char* value;
  double weight;
};

struct SegmentSpec {
  const char* name;
  double share;
  double age_mean, age_sd, age_min, age_max;
  std::vector<Choice> job, marital, education;
  double p_default, p_housing, p_loan;
  // balance = sign * exp(normal(log_median, log_sd)) + shift
  double balance_log_median, balance_log_sd, balance_shift, p_negative;
};

const std::vector<SegmentSpec>& segments() {
  static const std::vector<SegmentSpec> specs = {
      {"young starters", 0.20, 26, 3.5, 18, 35,
       {{"student", 0.40}, {"services", 0.20}, {"admin.", 0.20}, {"technician", 0.10}, {"unemployed", 0.10}},
       {{"single", 0.85}, {"married", 0.15}},
       {{"secondary", 0.50}, {"tertiary", 0.40}, {"primary", 0.05}, {"unknown", 0.05}},
       0.02, 0.20, 0.15, std::log(300.0), 0.9, 0, 0.05},
      {"blue-collar families", 0.25, 40, 6, 25, 60,
       {{"blue-collar", 0.60}, {"technician", 0.20}, {"services", 0.15}, {"housemaid", 0.05}},
       {{"married", 0.85}, {"divorced", 0.10}, {"single", 0.05}},
       {{"primary", 0.35}, {"secondary", 0.60}, {"unknown", 0.05}},
       0.03, 0.85, 0.25, std::log(500.0), 0.8, 0, 0.08},
      {"affluent professionals", 0.20, 45, 7, 28, 65,
       {{"management", 0.60}, {"entrepreneur", 0.15}, {"self-employed", 0.15}, {"admin.", 0.10}},
       {{"married", 0.70}, {"single", 0.20}, {"divorced", 0.10}},
       {{"tertiary", 0.80}, {"secondary", 0.20}},
       0.005, 0.45, 0.10, std::log(4000.0), 0.9, 0, 0.01},
      {"retirees", 0.15, 68, 6, 58, 95,
       {{"retired", 0.85}, {"housemaid", 0.10}, {"unknown", 0.05}},
       {{"married", 0.65}, {"divorced", 0.20}, {"single", 0.15}},
       {{"primary", 0.45}, {"secondary", 0.40}, {"tertiary", 0.10}, {"unknown", 0.05}},
       0.01, 0.15, 0.05, std::log(2500.0), 0.8, 0, 0.01},
      {"stretched borrowers", 0.20, 37, 7, 21, 60,
       {{"services", 0.25}, {"blue-collar", 0.25}, {"admin.", 0.25}, {"technician", 0.15}, {"unemployed", 0.10}},
       {{"married", 0.50}, {"single", 0.30}, {"divorced", 0.20}},
       {{"secondary", 0.75}, {"primary", 0.15}, {"tertiary", 0.10}},
       0.25, 0.70, 0.80, std::log(150.0), 0.7, -150, 0.35},
  };
  return specs;
}

const char* pick(const std::vector<Choice>& choices, Rng& rng) {
  double total = 0;
  for (const auto& c : choices) total += c.weight;
  double u = rng.uniform() * total;
  for (const auto& c : choices) {
    if (u < c.weight) return c.value;
    u -= c.weight;
  }
  return choices.back().value;
}

/// Appends `value` to a categorical column, creating its level on first sight.
void push_level(Column& col, const std::string& value) {
  auto it = std::find(col.levels.begin(), col.levels.end(), value);
  if (it == col.levels.end()) {
    col.levels.push_back(value);
    it = col.levels.end() - 1;
  }
  col.codes.push_back(static_cast<std::int32_t>(it - col.levels.begin()));
}

}  // namespace

Table make_demo_table(const DemoParams& params, std::vector<std::int32_t>* truth) {
  if (params.rows < 50) throw ParameterError("rows", fmt::format("the demo needs at least 50 rows, got {}", params.rows));
  if (params.rows > 10'000'000) throw ParameterError("rows", fmt::format("at most 10000000 rows, got {}", params.rows));
  const auto& specs = segments();
  Rng rng(params.seed);

  // Segment of every row: exact shares (rounded), then shuffled, so that segment
  // sizes do not depend on chance and rows interleave.
  std::vector<std::int32_t> segment;
  segment.reserve(params.rows);
  for (std::size_t s = 0; s < specs.size(); ++s) {
    const std::size_t count = s + 1 == specs.size() ? params.rows - segment.size()
                                                    : static_cast<std::size_t>(std::llround(specs[s].share * static_cast<double>(params.rows)));
    segment.insert(segment.end(), count, static_cast<std::int32_t>(s));
  }
  for (std::size_t i = segment.size(); i > 1; --i) std::swap(segment[i - 1], segment[rng.below(i)]);

  auto make = [](const char* name, ColumnType type) {
    Column c;
    c.name = name;
    c.type = type;
    c.integral = type == ColumnType::numeric;
    return c;
  };
  Column age = make("age", ColumnType::numeric), balance = make("balance", ColumnType::numeric);
  Column job = make("job", ColumnType::categorical), marital = make("marital", ColumnType::categorical),
         education = make("education", ColumnType::categorical);
  Column dflt = make("default", ColumnType::binary), housing = make("housing", ColumnType::binary),
         loan = make("loan", ColumnType::binary);
  for (std::size_t i = 0; i < params.rows; ++i) {
    const SegmentSpec& s = specs[static_cast<std::size_t>(segment[i])];
    const double a = std::clamp(std::round(s.age_mean + s.age_sd * rng.normal()), s.age_min, s.age_max);
    age.numbers.push_back(a);
    push_level(job, pick(s.job, rng));
    push_level(marital, pick(s.marital, rng));
    push_level(education, pick(s.education, rng));
    push_level(dflt, rng.uniform() < s.p_default ? "yes" : "no");
    double b = std::exp(s.balance_log_median + s.balance_log_sd * rng.normal()) + s.balance_shift;
    if (rng.uniform() < s.p_negative) b = -std::abs(b) * 0.3;
    balance.numbers.push_back(std::round(b));
    push_level(housing, rng.uniform() < s.p_housing ? "yes" : "no");
    push_level(loan, rng.uniform() < s.p_loan ? "yes" : "no");
  }
  for (Column* c : {&job, &marital, &education}) c->type = c->levels.size() == 2 ? ColumnType::binary : ColumnType::categorical;
  if (truth) *truth = segment;
  std::vector<Column> cols;
  for (Column* c : {&age, &job, &marital, &education, &dflt, &balance, &housing, &loan}) cols.push_back(std::move(*c));
  return Table("demo.csv", std::move(cols));
}

std::string demo_csv(const Table& table) {
  std::string out;
  for (std::size_t j = 0; j < table.cols(); ++j) {
    if (j) out.push_back(';');
    out += '"' + table.column(j).name + '"';
  }
  out.push_back('\n');
  for (std::size_t i = 0; i < table.rows(); ++i) {
    for (std::size_t j = 0; j < table.cols(); ++j) {
      if (j) out.push_back(';');
      const Column& c = table.column(j);
      if (c.is_numeric())
        out += c.text(i);
      else
        out += '"' + c.text(i) + '"';
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace segmenta
