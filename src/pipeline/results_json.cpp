// JSON views of the results shared by metrics.json and the report.
#include <cmath>

#include "context.hpp"

namespace segmenta::detail {
namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json segment_json(const SegmentProfile& s) {
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& c : s.columns) {
    nlohmann::json j{{"name", c.name}, {"type", std::string(to_string(c.type))}};
    if (c.type == ColumnType::numeric) {
      const auto& n = c.numeric;
      j["count"] = n.count;
      j["missing"] = n.missing;
      j["mean"] = num(n.mean);
      j["std"] = num(n.std);
      j["min"] = num(n.min);
      j["q1"] = num(n.q1);
      j["median"] = num(n.median);
      j["q3"] = num(n.q3);
      j["max"] = num(n.max);
    } else {
      const auto& k = c.categorical;
      j["count"] = k.count;
      j["missing"] = k.missing;
      j["mode"] = k.mode;
      j["mode_share"] = num(k.mode_share);
      nlohmann::json levels = nlohmann::json::array();
      for (const auto& l : k.levels)
        levels.push_back({{"level", l.level}, {"count", l.count}, {"share", num(l.share)}, {"lift", num(l.lift)}});
      j["levels"] = std::move(levels);
    }
    cols.push_back(std::move(j));
  }
  nlohmann::json dist = nlohmann::json::array();
  for (const auto& d : s.distinguishing)
    dist.push_back({{"column", d.name},
                    {"level", d.level},
                    {"score", num(d.score)},
                    {"segment_value", num(d.segment_value)},
                    {"population_value", num(d.population_value)}});
  return {{"segment", s.segment},     {"size", s.size},       {"share", num(s.share)}, {"columns", cols},
          {"distinguishing", dist},   {"representatives", s.representatives}};
}

}  // namespace

nlohmann::json profiles_json(const Profiles& p) {
  nlohmann::json segs = nlohmann::json::array();
  for (const auto& s : p.segments) segs.push_back(segment_json(s));
  nlohmann::json j{{"population", segment_json(p.population)}, {"segments", segs}};
  if (p.unassigned) j["unassigned"] = segment_json(*p.unassigned);
  return j;
}

nlohmann::json explanation_json(const SurrogateExplanation& e, const std::vector<std::string>& feature_names) {
  nlohmann::json mean_abs = nlohmann::json::array();
  for (std::size_t c = 0; c < e.mean_abs_shap.rows(); ++c)
    mean_abs.push_back(std::vector<double>(e.mean_abs_shap.row(c), e.mean_abs_shap.row(c) + e.mean_abs_shap.cols()));
  nlohmann::json j{{"model", "gradient-boosted trees (XGBoost hist, multi-class), TreeSHAP"},
                   {"features", feature_names},
                   {"classes", e.classes},
                   {"mean_abs_shap", mean_abs},
                   {"feature_importance", e.feature_importance},
                   {"feature_order", e.feature_order},
                   {"class_order", e.class_order},
                   {"bias", e.bias},
                   {"train_accuracy", e.train_accuracy},
                   {"additivity_max_abs_error", e.additivity_max_abs_error},
                   {"shap_rows", e.shap_rows.size()},
                   {"trained_rows", e.n_train},
                   {"fit_seconds", e.fit_seconds},
                   {"shap_seconds", e.shap_seconds}};
  if (e.holdout_accuracy) j["holdout_accuracy"] = *e.holdout_accuracy;
  if (e.shap_rows.size() < e.n_clustered || e.n_train < e.n_clustered) {
    j["clustered_rows"] = e.n_clustered;
    j["sampling"] = "training rows and SHAP rows: seeded samples stratified by segment; mean |SHAP| post-stratified";
  }
  return j;
}

nlohmann::json diagnostics_json(const Diagnostics& d) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& item : d.items())
    arr.push_back({{"level", item.level == Diagnostic::Level::warning ? "warning" : "info"},
                   {"stage", item.stage},
                   {"code", item.code},
                   {"message", item.message}});
  return arr;
}

std::vector<std::int32_t> number_by_size(MethodResult& r, MatrixD* centers) {
  const std::vector<std::int32_t> rename = order_by_size(r.labels, r.k);
  for (auto& l : r.labels) l = rename[static_cast<std::size_t>(l)];
  if (centers) {
    MatrixD c(centers->rows(), centers->cols());
    for (std::size_t old = 0; old < rename.size(); ++old)
      std::copy(centers->row(old), centers->row(old) + centers->cols(), c.row(static_cast<std::size_t>(rename[old])));
    *centers = std::move(c);
  }
  for (std::size_t i = 0; i < r.eval.points.size(); ++i) {
    if (r.eval.points[i].k != r.k) continue;
    SweepPoint& p = r.eval.points[i];
    std::vector<std::size_t> sizes(p.sizes.size());
    for (std::size_t old = 0; old < rename.size() && old < sizes.size(); ++old)
      sizes[static_cast<std::size_t>(rename[old])] = p.sizes[old];
    p.sizes = sizes;
    nlohmann::json& prof = r.eval.silhouette_profiles[i];
    if (prof.is_array()) {
      nlohmann::json renamed = prof;
      for (std::size_t old = 0; old < rename.size() && old < prof.size(); ++old) {
        nlohmann::json entry = prof[old];
        entry["cluster"] = rename[old];
        renamed[static_cast<std::size_t>(rename[old])] = std::move(entry);
      }
      prof = std::move(renamed);
    }
    r.final = p;
    if (r.eval.final_all_rows) {  // a sweep on a sample: the chosen k's criteria on all rows
      SweepPoint all = *r.eval.final_all_rows;
      std::vector<std::size_t> all_sizes(all.sizes.size());
      for (std::size_t old = 0; old < rename.size() && old < all_sizes.size(); ++old)
        all_sizes[static_cast<std::size_t>(rename[old])] = all.sizes[old];
      all.sizes = all_sizes;
      r.final = all;
    }
  }
  return rename;
}

}  // namespace segmenta::detail
