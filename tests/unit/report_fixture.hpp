// A small, complete set of run outputs for the report tests, built in code: metrics
// with a k sweep, silhouette profiles, profiles and an explanation per method,
// segments.csv and maps.csv text. Every name taken from the data can be replaced to
// test escaping.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "segmenta/io.hpp"
#include "segmenta/report.hpp"

namespace segmenta::test {

struct FixtureSpec {
  std::vector<std::string> methods{"kmeans"};
  std::size_t rows = 600;   // input rows; every 10th is a dropped outlier
  std::size_t k = 3;        // final k of every method (sweep 2..4)
  std::size_t profile_values = 101;  // silhouette values kept per cluster
  bool maps = true;
  std::size_t tsne_every = 2;  // t-SNE covers every tsne_every-th clustered row
  std::string column = "job";  // a categorical column name
  std::string level = "admin.";
  std::string feature = "balance";
  std::string file = "customers.csv";
  std::string id_prefix = "c";
  bool prefixed_map_columns = false;  // metrics lists maps.csv's prefixed names
};

struct Fixture {
  nlohmann::json metrics, manifest;
  std::string segments_csv, maps_csv;
  std::vector<std::vector<std::int32_t>> labels;  // per method, per input row (-1 = outlier)
};

/// Segment of input row i for method m: cyclic with unequal sizes (0 is the largest).
inline std::int32_t fixture_label(std::size_t i, std::size_t m, std::size_t k) {
  if (i % 10 == 9) return -1;
  const std::size_t r = (i * 7 + m) % 12;
  return static_cast<std::int32_t>(r < 6 ? 0 : r < 10 ? 1 % k : 2 % k);
}

inline Fixture make_fixture(const FixtureSpec& s) {
  using json = nlohmann::json;
  Fixture f;
  const std::size_t n = s.rows;
  std::size_t clustered = 0;
  for (std::size_t i = 0; i < n; ++i) clustered += i % 10 != 9;

  json columns = json::array({{{"name", "customer_id"}, {"type", "id"}, {"missing", 0}, {"distinct", n}},
                              {{"name", "age"}, {"type", "numeric"}, {"missing", 0}, {"distinct", nullptr}},
                              {{"name", s.column}, {"type", "categorical"}, {"missing", 2}, {"distinct", 2}}});
  std::vector<std::string> features{"age", s.feature, s.column + "_" + s.level, s.column + "_other"};
  json hist = json::array();
  for (int b = 0; b < 40; ++b) hist.push_back(b < 30 ? 10 + b : 2);
  f.metrics["segmenta"] = "0.1.0";
  f.metrics["input"] = {{"file", "/data/" + s.file}, {"rows", n}, {"preset", "standard"}, {"columns", columns},
                        {"features", features}};
  f.metrics["outliers"] = {{"method", "ecod"},
                           {"space", "encoded features (4 columns)"},
                           {"policy", "drop"},
                           {"contamination", 0.1},
                           {"flagged", n - clustered},
                           {"clustered_rows", clustered},
                           {"threshold", 12.5},
                           {"feature_contributions", json::array({{{"feature", s.feature}, {"mean_tail_score", 2.5}},
                                                                  {{"feature", "age"}, {"mean_tail_score", 1.25}}})},
                           {"score_histogram", {{"min", 3.0}, {"max", 20.0}, {"counts", hist}}}};
  f.metrics["method"] = s.methods.size() == 1 ? s.methods[0] : "all";
  f.metrics["methods"] = json::object();

  for (std::size_t m = 0; m < s.methods.size(); ++m) {
    std::vector<std::int32_t> lab(n);
    for (std::size_t i = 0; i < n; ++i) lab[i] = fixture_label(i, m, s.k);
    f.labels.push_back(lab);
    const std::string objective = s.methods[m] == "kprototypes" ? "cost" : "inertia";
    json per_k = json::array();
    for (std::size_t k = 2; k <= 4; ++k) {
      std::vector<std::size_t> sizes(k, 0);
      for (std::size_t i = 0; i < n; ++i)
        if (lab[i] >= 0) ++sizes[static_cast<std::size_t>(lab[i]) % k];
      json profile = json::array();
      for (std::size_t c = 0; c < k; ++c) {
        std::vector<double> v;
        const std::size_t count = std::min(s.profile_values, sizes[c]);
        for (std::size_t t = 0; t < count; ++t) v.push_back(0.8 - 0.9 * static_cast<double>(t) / static_cast<double>(count));
        profile.push_back({{"cluster", c}, {"size", sizes[c]}, {"mean", 0.35}, {"values_desc", v}});
      }
      per_k.push_back({{"k", k},
                       {objective, 1000.0 / static_cast<double>(k)},
                       {"silhouette", 0.1 * static_cast<double>(k)},
                       {"calinski_harabasz", 100.0 + static_cast<double>(k)},
                       {"davies_bouldin", 2.0 - 0.25 * static_cast<double>(k)},
                       {"n_iter", 5},
                       {"sizes", sizes},
                       {"seconds", 0.01},
                       {"silhouette_profile", profile}});
    }
    std::vector<std::size_t> sizes(s.k, 0);
    for (auto l : lab)
      if (l >= 0) ++sizes[static_cast<std::size_t>(l)];
    auto column_profile = [&](double mean) {
      return json::array(
          {{{"name", "age"}, {"type", "numeric"}, {"count", 10}, {"missing", 0}, {"mean", mean}, {"std", 3.0},
            {"min", 20.0}, {"q1", 30.0}, {"median", mean}, {"q3", 50.0}, {"max", 70.0}},
           {{"name", s.column}, {"type", "categorical"}, {"count", 10}, {"missing", 0}, {"mode", s.level},
            {"mode_share", 0.75},
            {"levels", json::array({{{"level", s.level}, {"count", 7}, {"share", 0.75}, {"lift", 1.5}},
                                    {{"level", "other"}, {"count", 3}, {"share", 0.25}, {"lift", 0.5}}})}}});
    };
    json segs = json::array();
    for (std::size_t c = 0; c < s.k; ++c) {
      std::vector<std::size_t> reps;
      for (std::size_t i = 0; i < n && reps.size() < 3; ++i)
        if (lab[i] == static_cast<std::int32_t>(c)) reps.push_back(i);
      segs.push_back({{"segment", c},
                      {"size", sizes[c]},
                      {"share", static_cast<double>(sizes[c]) / static_cast<double>(clustered)},
                      {"columns", column_profile(30.0 + 5.0 * static_cast<double>(c))},
                      {"distinguishing", json::array({{{"column", s.column}, {"level", s.level}, {"score", 1.2},
                                                       {"segment_value", 0.75}, {"population_value", 0.5}}})},
                      {"representatives", reps}});
    }
    json mean_abs = json::array();
    for (std::size_t c = 0; c < s.k; ++c)
      mean_abs.push_back(std::vector<double>{0.5 + 0.1 * static_cast<double>(c), 0.25, 1.0, 0.125});
    f.metrics["methods"][s.methods[m]] = {
        {"objective", objective},
        {"space", "encoded features (4 columns)"},
        {"sweep",
         {{"objective", objective},
          {"per_k", per_k},
          {"recommendation",
           {{"k", s.k}, {"reason", "elbow of the objective curve"}, {"elbow", s.k}, {"best_silhouette", 4},
            {"best_calinski_harabasz", 4}, {"best_davies_bouldin", 4}}}}},
        {"final",
         {{"k", s.k}, {objective, 333.0}, {"silhouette", 0.3}, {"calinski_harabasz", 103.0}, {"davies_bouldin", 1.25},
          {"n_iter", 5}, {"sizes", sizes}}},
        {"details", {{"n_init", 10}}},
        {"profiles", {{"population", {{"segment", -1}, {"size", clustered}, {"share", 1.0}, {"columns", column_profile(35.0)},
                                      {"distinguishing", json::array()}, {"representatives", json::array()}}},
                      {"segments", segs}}},
        {"explanation",
         {{"features", features},
          {"classes", std::vector<int>{0, 1, 2}},
          {"mean_abs_shap", mean_abs},
          {"feature_importance", std::vector<double>{1.8, 0.75, 3.0, 0.375}},
          {"feature_order", std::vector<int>{2, 0, 1, 3}},
          {"class_order", std::vector<int>{2, 1, 0}},
          {"train_accuracy", 0.99},
          {"trained_rows", clustered},
          {"shap_rows", clustered},
          {"additivity_max_abs_error", 1e-6}}}};
  }
  if (s.methods.size() > 1) {
    json per = json::array();
    for (const auto& m : s.methods)
      per.push_back({{"method", m},
                     {"k", s.k},
                     {"sizes", f.metrics["methods"][m]["final"]["sizes"]},
                     {"own_space", {{"space", "own"}, {"silhouette", 0.3}, {"calinski_harabasz", 100.0}, {"davies_bouldin", 1.0}}},
                     {"common_space", {{"silhouette", 0.25}, {"calinski_harabasz", 90.0}, {"davies_bouldin", 1.1}}}});
    json ari = json::array();
    for (std::size_t a = 0; a < s.methods.size(); ++a) {
      json row = json::array();
      for (std::size_t b = 0; b < s.methods.size(); ++b) row.push_back(a == b ? 1.0 : 0.5);
      ari.push_back(row);
    }
    f.metrics["comparison"] = {{"common_space", "encoded features (4 columns)"},
                               {"methods", per},
                               {"adjusted_rand_index", {{"methods", s.methods}, {"matrix", ari}}}};
  }
  f.metrics["diagnostics"] = json::array({{{"level", "warning"}, {"stage", "prep"}, {"code", "constant_column"},
                                           {"message", "column " + s.column + " is nearly constant"}}});
  f.metrics["timings"] = {{"load", 0.5}, {"kmeans", 1.5}, {"total", 2.0}};
  f.manifest = {{"segmenta", "0.1.0"},
                {"started", "2026-01-02T03:04:05Z"},
                {"command_line", {"segmenta", "run", s.file}},
                {"parameters", {{"seed", 3}, {"k", "auto"}}},
                {"files", {"segments.csv", "metrics.json"}}};

  // segments.csv
  const bool single = s.methods.size() == 1;
  f.segments_csv = "row,customer_id";
  for (const auto& m : s.methods) f.segments_csv += single ? ",segment" : ",segment_" + m;
  f.segments_csv += ",outlier,outlier_score\n";
  for (std::size_t i = 0; i < n; ++i) {
    f.segments_csv += fmt::format("{},{}", i, csv_escape(s.id_prefix + std::to_string(i)));
    for (const auto& lab : f.labels) f.segments_csv += lab[i] >= 0 ? fmt::format(",{}", lab[i]) : std::string(",");
    f.segments_csv += fmt::format(",{},{}\n", i % 10 == 9 ? 1 : 0, 5.0 + static_cast<double>(i % 10));
  }

  // maps.csv and the maps part of metrics
  if (s.maps) {
    json maps = json::object();
    std::string header = "row";
    for (const auto& m : s.methods) {
      const std::string prefix = single ? "" : m + "_";
      for (const char* c : {"pca1", "pca2", "pca3", "tsne1", "tsne2"}) header += "," + prefix + c;
      const std::string listed = s.prefixed_map_columns ? prefix : "";
      maps[m] = json::array({{{"name", "pca"}, {"columns", {listed + "pca1", listed + "pca2", listed + "pca3"}}, {"space", "encoded features"},
                              {"rows", clustered}, {"sample_rate", 1.0},
                              {"percent_of_variance", {40.0, 25.0, 10.0}}, {"cumulative_percent", {40.0, 65.0, 75.0}}},
                             {{"name", "tsne"}, {"columns", {listed + "tsne1", listed + "tsne2"}}, {"space", "encoded features"},
                              {"rows", (clustered + s.tsne_every - 1) / s.tsne_every},
                              {"sample_rate", 1.0 / static_cast<double>(s.tsne_every)}, {"perplexity", 30.0},
                              {"n_iter", 1000}, {"kl_divergence", 0.5}}});
    }
    f.metrics["maps"] = {{"methods", maps}};
    f.maps_csv = header + "\n";
    std::size_t c = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (i % 10 == 9) continue;
      f.maps_csv += std::to_string(i);
      for (std::size_t m = 0; m < s.methods.size(); ++m) {
        const double x = static_cast<double>(i) / 7.0;
        f.maps_csv += fmt::format(",{},{},{}", format_double(std::sin(x) + static_cast<double>(m)), format_double(std::cos(x)),
                                  format_double(x / 100.0));
        if (c % s.tsne_every == 0)
          f.maps_csv += fmt::format(",{},{}", format_double(x), format_double(-x));
        else
          f.maps_csv += ",,";
      }
      f.maps_csv += "\n";
      ++c;
    }
  }
  return f;
}

/// The report input of a fixture: its CSV text parsed as the pipeline parses it.
inline ReportInput fixture_input(const Fixture& f, bool with_maps = true) {
  CsvOptions o;
  o.delimiter = ',';
  o.na_values = {""};
  ReportInput in;
  in.metrics = f.metrics;
  in.manifest = f.manifest;
  in.segments = parse_csv(f.segments_csv, "segments.csv", o);
  if (with_maps && !f.maps_csv.empty()) in.maps = parse_csv(f.maps_csv, "maps.csv", o);
  return in;
}

}  // namespace segmenta::test
