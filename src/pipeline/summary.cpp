// The readable summary of a result: what the CLI prints after a run.
#include <algorithm>

#include <fmt/format.h>

#include "context.hpp"

namespace segmenta {
namespace {

std::string fmt_seconds(double s) { return s < 10 ? fmt::format("{:.2f}s", s) : fmt::format("{:.1f}s", s); }

}  // namespace

std::string summary_text(const SegmentationResult& r, const std::vector<std::string>& files, const std::string& dir,
                         const std::vector<std::pair<std::string, double>>& timings, double seconds) {
  using json = nlohmann::json;
  const RunParams& params = r.params;
  const bool single = r.methods.size() == 1;
  const std::string source = params.data.empty() ? r.input.name : params.data;
  std::string text = fmt::format("segmenta {} — {} on {} ({} rows, {} columns, preset {})\n", version(),
                                 to_string(params.method), source, r.table.rows(), r.table.cols(), to_string(params.preset));
  if (r.outliers.model)
    text += fmt::format("outliers  ECOD, contamination {}: {} flagged (threshold {:.4f}), {} rows clustered\n",
                        params.contamination, r.outliers.count(), r.outliers.model->threshold(), r.rows.size());
  if (!r.embedding.is_null()) {
    const json& e = r.embedding;
    text += fmt::format("embedded  {} sentences ({} distinct, {} from the cache, {} encoded) with {} on {} in {}: {:.0f} "
                        "sentences/s\n",
                        e["sentences"].get<std::size_t>(), e["unique"].get<std::size_t>(), e["cached"].get<std::size_t>(),
                        e["encoded"].get<std::size_t>(), e["precision"].get<std::string>(), e["kernel"].get<std::string>(),
                        fmt_seconds(e["seconds"].get<double>()), e["sentences_per_second"].get<double>());
  }
  for (const auto& m : r.methods) {
    if (!single) text += fmt::format("\n== {} ==\n", m.name);
    text += detail::sweep_table(m.sweep, m.objective);
    const std::string sil = m.final.silhouette_rows > 0
                                ? fmt::format("{:.4f} ± {:.4f} (estimated on {} rows)", m.final.silhouette,
                                              m.final.silhouette_se, m.final.silhouette_rows)
                                : fmt::format("{:.4f}", m.final.silhouette);
    text += fmt::format("segments  k = {} ({}): silhouette {}, Calinski-Harabasz {:.1f}, Davies-Bouldin {:.4f}\n", m.k,
                        m.sweep.recommendation.reason, sil, m.final.calinski_harabasz, m.final.davies_bouldin);
    std::string sizes;
    for (std::size_t c = 0; c < m.final.sizes.size(); ++c)
      sizes += fmt::format("{}{}: {} ({:.1f}%)", c ? ", " : "", c, m.final.sizes[c],
                           100.0 * static_cast<double>(m.final.sizes[c]) / static_cast<double>(r.rows.size()));
    text += "sizes     " + sizes + "\n";
    for (const auto& seg : m.profiles.segments) {
      std::string traits;
      for (std::size_t t = 0; t < std::min<std::size_t>(3, seg.distinguishing.size()); ++t) {
        const auto& d = seg.distinguishing[t];
        if (!traits.empty()) traits += ", ";
        if (d.level.empty())
          traits += fmt::format("{} {} ({:.4g} vs {:.4g})", d.name, d.score > 0 ? "high" : "low", d.segment_value,
                                d.population_value);
        else
          traits += fmt::format("{}={} {:.0f}% (vs {:.0f}%)", d.name, d.level, 100 * d.segment_value,
                                100 * d.population_value);
      }
      text += fmt::format("segment {} {}\n", seg.segment, traits);
    }
    if (m.explanation) {
      const SurrogateExplanation& e = *m.explanation;
      std::string top;
      for (std::size_t t = 0; t < std::min<std::size_t>(5, e.feature_order.size()); ++t)
        top += (t ? ", " : "") + r.prep.feature_names.at(e.feature_order[t]);
      text += fmt::format("explained surrogate accuracy {:.4f}; most important: {}\n", e.train_accuracy, top);
    }
    if (m.maps)
      for (const auto& i : m.maps->info) {
        const std::string name = i["name"].get<std::string>();
        if (i.contains("cumulative_percent") && !i["cumulative_percent"].empty())
          text += fmt::format("map       {}: {} components explain {:.1f}% of the variance\n", name,
                              i["columns"].size(), i["cumulative_percent"].back().get<double>());
        else if (name == "tsne")
          text += fmt::format("map       t-SNE {}D of {} rows: KL divergence {:.4f} after {} iterations\n",
                              i["columns"].size(), i["rows"].get<std::size_t>(), i["kl_divergence"].get<double>(),
                              i["n_iter"].get<std::size_t>());
      }
  }
  if (r.comparison) {
    const MethodComparison& c = *r.comparison;
    text += "\n== comparison (common space: encoded features) ==\n";
    for (const auto& e : c.methods)
      text += fmt::format("{:<12} k = {}  silhouette {:.4f}  Calinski-Harabasz {:.1f}  Davies-Bouldin {:.4f}\n", e.method,
                          e.k, e.common.silhouette, e.common.calinski_harabasz, e.common.davies_bouldin);
    for (std::size_t a = 0; a < c.methods.size(); ++a)
      for (std::size_t b = a + 1; b < c.methods.size(); ++b)
        text += fmt::format("ARI {} vs {}: {:.3f}\n", c.methods[a].method, c.methods[b].method,
                            c.adjusted_rand_index[a][b]);
  }
  for (const auto& d : r.diagnostics.items())
    if (d.level == Diagnostic::Level::warning) text += fmt::format("warning   [{}] {}\n", d.stage, d.message);
  std::string written;
  for (const auto& f : files) written += (written.empty() ? "" : ", ") + f;
  text += fmt::format("wrote     {}/: {}\n", dir, written);
  std::string times;
  for (const auto& [stage, s] : timings) times += fmt::format("{}{} {}", times.empty() ? "" : ", ", stage, fmt_seconds(s));
  text += fmt::format("time      {} ({})\n", fmt_seconds(seconds), times);
  // Which stages took the time: the slowest ones (a stage timed in parts summed) and
  // their share of the run.
  std::vector<std::pair<std::string, double>> per_stage;
  for (const auto& [stage, s] : timings) {
    auto it = std::find_if(per_stage.begin(), per_stage.end(), [&](const auto& e) { return e.first == stage; });
    if (it == per_stage.end())
      per_stage.emplace_back(stage, s);
    else
      it->second += s;
  }
  std::stable_sort(per_stage.begin(), per_stage.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string slowest;
  for (std::size_t i = 0; i < std::min<std::size_t>(3, per_stage.size()); ++i)
    if (seconds > 0)
      slowest += fmt::format("{}{} {} ({:.0f}%)", slowest.empty() ? "" : ", ", per_stage[i].first,
                             fmt_seconds(per_stage[i].second), 100.0 * per_stage[i].second / seconds);
  if (!slowest.empty()) text += fmt::format("slowest   {}\n", slowest);
  return text;
}

}  // namespace segmenta
