// Segment profiles: per-group summaries of the original columns, lifts, the most
// distinguishing columns and representative rows.
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "explain/representatives.hpp"
#include "segmenta/explain.hpp"
#include "segmenta/kernels.hpp"

namespace segmenta {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Groups of rows: 0 = the population (clustered rows), 1..k = the segments in
// ascending label order, k + 1 = the unassigned rows (label -1).
struct Groups {
  std::vector<std::int32_t> segments;             // labels, ascending
  std::vector<std::vector<std::size_t>> members;  // rows per group, ascending
  std::size_t unassigned() const noexcept { return segments.size() + 1; }
};

Groups make_groups(std::span<const std::int32_t> labels) {
  Groups g;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < -1)
      throw InvalidArgument(fmt::format("labels: {} at row {} (segments are >= 0, -1 = not clustered)", labels[i], i));
    if (labels[i] >= 0) g.segments.push_back(labels[i]);
  }
  std::sort(g.segments.begin(), g.segments.end());
  g.segments.erase(std::unique(g.segments.begin(), g.segments.end()), g.segments.end());
  if (g.segments.empty()) throw InvalidArgument("labels: no row belongs to a segment");
  g.members.resize(g.segments.size() + 2);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      g.members[g.unassigned()].push_back(i);
      continue;
    }
    const auto s = std::lower_bound(g.segments.begin(), g.segments.end(), labels[i]) - g.segments.begin();
    g.members[0].push_back(i);
    g.members[1 + static_cast<std::size_t>(s)].push_back(i);
  }
  return g;
}

NumericSummary summarize_numeric(const Column& c, const std::vector<std::size_t>& rows) {
  NumericSummary s;
  std::vector<double> v;
  v.reserve(rows.size());
  for (const std::size_t r : rows) {
    const double x = c.numbers[r];
    if (std::isnan(x))
      ++s.missing;
    else
      v.push_back(x);
  }
  s.count = v.size();
  if (v.empty()) {
    s.mean = s.std = s.min = s.q1 = s.median = s.q3 = s.max = kNaN;
    return s;
  }
  double sum = 0.0;
  for (const double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0.0;
    for (const double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(v.size() - 1));
  } else {
    s.std = kNaN;
  }
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  s.q1 = quantile_linear(v, 0.25);
  s.q3 = quantile_linear(v, 0.75);
  const std::size_t m = v.size();
  s.median = m % 2 == 1 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2.0;
  return s;
}

// Position of each level code in the sorted level order.
std::vector<std::size_t> sorted_position(const Column& c) {
  std::vector<std::size_t> order(c.levels.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return c.levels[a] < c.levels[b]; });
  std::vector<std::size_t> pos(c.levels.size());
  for (std::size_t r = 0; r < order.size(); ++r) pos[order[r]] = r;
  return pos;
}

CategoricalSummary summarize_categorical(const Column& c, const std::vector<std::size_t>& rows,
                                         const std::vector<std::string>& sorted_levels,
                                         const std::vector<std::size_t>& position,
                                         const CategoricalSummary* population) {
  CategoricalSummary s;
  std::vector<std::size_t> counts(sorted_levels.size(), 0);
  for (const std::size_t r : rows) {
    const std::int32_t code = c.codes[r];
    if (code < 0)
      ++s.missing;
    else
      ++counts[position[static_cast<std::size_t>(code)]];
  }
  s.count = rows.size() - s.missing;
  s.levels.resize(sorted_levels.size());
  std::size_t best = 0;
  for (std::size_t l = 0; l < sorted_levels.size(); ++l) {
    LevelShare& ls = s.levels[l];
    ls.level = sorted_levels[l];
    ls.count = counts[l];
    ls.share = s.count > 0 ? static_cast<double>(counts[l]) / static_cast<double>(s.count) : kNaN;
    const double base = population ? population->levels[l].share : ls.share;
    ls.lift = base > 0.0 ? ls.share / base : kNaN;
    if (counts[l] > counts[best]) best = l;  // strict: ties keep the level that sorts first
  }
  if (s.count > 0) {
    s.mode = sorted_levels[best];
    s.mode_share = s.levels[best].share;
  } else {
    s.mode_share = kNaN;
  }
  return s;
}

// Population mean and sd (ddof 0) of a numeric column over its non-missing values.
std::pair<double, double> population_moments(const Column& c, const std::vector<std::size_t>& rows) {
  double sum = 0.0;
  std::size_t n = 0;
  for (const std::size_t r : rows)
    if (!std::isnan(c.numbers[r])) {
      sum += c.numbers[r];
      ++n;
    }
  if (n == 0) return {kNaN, kNaN};
  const double mean = sum / static_cast<double>(n);
  double ss = 0.0;
  for (const std::size_t r : rows)
    if (!std::isnan(c.numbers[r])) ss += (c.numbers[r] - mean) * (c.numbers[r] - mean);
  return {mean, std::sqrt(ss / static_cast<double>(n))};
}

void validate_centres(ViewD x, std::span<const std::int32_t> labels, ViewD centers, const char* what) {
  if (x.rows() != labels.size())
    throw InvalidArgument(fmt::format("{}: {} rows for {} labels", what, x.rows(), labels.size()));
  if (centers.empty()) return;
  if (centers.cols() != x.cols())
    throw InvalidArgument(fmt::format("centers: {} columns, the features have {}", centers.cols(), x.cols()));
  for (const std::int32_t l : labels)
    if (l >= 0 && static_cast<std::size_t>(l) >= centers.rows())
      throw InvalidArgument(fmt::format("centers: {} rows do not cover segment {}", centers.rows(), l));
}

// The rows of a feature matrix: a view, or rows written on demand.
struct FeatureRows {
  ViewD view;
  const detail::FeatureRow* fill = nullptr;
  std::size_t q = 0;
  explicit FeatureRows(ViewD v) : view(v), q(v.cols()) {}
  FeatureRows(std::size_t cols, const detail::FeatureRow& f) : fill(&f), q(cols) {}
  std::size_t cols() const noexcept { return q; }
  const double* row(std::size_t i, double* scratch) const {
    if (!fill) return view.row(i);
    (*fill)(i, scratch);
    return scratch;
  }
};

std::vector<std::vector<std::size_t>> nearest_rows(const FeatureRows& x, const Groups& g, std::size_t count,
                                                   ViewD centers) {
  const std::size_t q = x.cols();
  std::vector<std::vector<std::size_t>> out(g.segments.size());
  parallel_for(g.segments.size(), [&](std::size_t s) {
    const auto& rows = g.members[1 + s];
    std::vector<double> centre(q, 0.0), scratch(q);
    if (!centers.empty()) {
      const double* c = centers.row(static_cast<std::size_t>(g.segments[s]));
      centre.assign(c, c + q);
    } else {
      for (const std::size_t r : rows) {
        const double* xr = x.row(r, scratch.data());
        for (std::size_t j = 0; j < q; ++j) centre[j] += xr[j];
      }
      for (double& v : centre) v /= static_cast<double>(rows.size());
    }
    std::vector<std::pair<double, std::size_t>> d;
    d.reserve(rows.size());
    for (const std::size_t r : rows) d.emplace_back(kernels::sq_dist(x.row(r, scratch.data()), centre.data(), q), r);
    const std::size_t k = std::min(count, d.size());
    std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(k), d.end());
    for (std::size_t i = 0; i < k; ++i) out[s].push_back(d[i].second);
  });
  return out;
}

std::string csv_field(std::string_view s) {
  const bool quote = s.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  if (!quote) return std::string(s);
  std::string out = "\"";
  for (const char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

}  // namespace

double quantile_linear(std::span<const double> sorted, double q) noexcept {
  const std::size_t n = sorted.size();
  if (n == 0) return kNaN;
  // numpy's virtual index for the linear method: (n - 1) q. (The equivalent
  // n q + (1 - q) - 1 differs from it in the last bit for about one q in ten; it
  // matched numpy here only while the compiler fused its first multiply-add.)
  const double h = static_cast<double>(n - 1) * q;
  if (h >= static_cast<double>(n - 1)) return sorted[n - 1];
  if (h < 0.0) return sorted[0];
  const double lower = std::floor(h);
  const auto lo = static_cast<std::size_t>(lower);
  const double t = h - lower;
  const double a = sorted[lo], b = sorted[lo + 1];
  const double diff = b - a;
  // numpy's _lerp: from the upper value when t >= 0.5 (monotone and exact at t = 1).
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

std::vector<std::vector<std::size_t>> representative_rows(ViewD x, std::span<const std::int32_t> labels,
                                                          std::size_t count, ViewD centers) {
  validate_centres(x, labels, centers, "x");
  const Groups g = make_groups(labels);
  return nearest_rows(FeatureRows(x), g, count, centers);
}

namespace detail {

std::vector<std::vector<std::size_t>> representative_rows_of(std::size_t q, const FeatureRow& row,
                                                             std::span<const std::int32_t> labels, std::size_t count) {
  const Groups g = make_groups(labels);
  return nearest_rows(FeatureRows(q, row), g, count, {});
}

}  // namespace detail

Profiles profile_segments(const Table& table, std::span<const std::int32_t> labels, const ProfileParams& params,
                          ViewD features, ViewD centers) {
  if (labels.size() != table.rows())
    throw InvalidArgument(fmt::format("labels: {} labels for {} table rows", labels.size(), table.rows()));
  const Groups g = make_groups(labels);
  if (!features.empty() || !centers.empty()) validate_centres(features, labels, centers, "features");
  const std::size_t k = g.segments.size();
  const bool has_unassigned = !g.members[g.unassigned()].empty();
  const double population_size = static_cast<double>(g.members[0].size());

  Profiles out;
  auto init = [&](SegmentProfile& sp, std::int32_t label, const std::vector<std::size_t>& rows, double share) {
    sp.segment = label;
    sp.size = rows.size();
    sp.share = share;
  };
  init(out.population, -1, g.members[0], 1.0);
  out.segments.resize(k);
  for (std::size_t s = 0; s < k; ++s)
    init(out.segments[s], g.segments[s], g.members[1 + s],
         static_cast<double>(g.members[1 + s].size()) / population_size);
  if (has_unassigned) {
    out.unassigned.emplace();
    init(*out.unassigned, -1, g.members[g.unassigned()],
         static_cast<double>(g.members[g.unassigned()].size()) / static_cast<double>(table.rows()));
  }
  // Groups in the order of g.members, for uniform loops.
  std::vector<SegmentProfile*> profiles{&out.population};
  for (auto& sp : out.segments) profiles.push_back(&sp);
  if (has_unassigned) profiles.push_back(&*out.unassigned);

  for (std::size_t j = 0; j < table.cols(); ++j) {
    const Column& c = table.column(j);
    if (c.type == ColumnType::id || c.type == ColumnType::text) continue;
    if (c.is_numeric()) {
      const auto [mu, sigma] = population_moments(c, g.members[0]);
      for (std::size_t gi = 0; gi < profiles.size(); ++gi) {
        ColumnProfile cp;
        cp.column = j;
        cp.name = c.name;
        cp.type = c.type;
        cp.numeric = summarize_numeric(c, g.members[gi]);
        if (gi > 0 && sigma > 0.0 && cp.numeric.count > 0) {
          DistinguishingFeature f;
          f.column = j;
          f.name = c.name;
          f.segment_value = cp.numeric.mean;
          f.population_value = mu;
          f.score = (cp.numeric.mean - mu) / sigma;
          profiles[gi]->distinguishing.push_back(std::move(f));
        }
        profiles[gi]->columns.push_back(std::move(cp));
      }
    } else {
      auto levels = c.sorted_levels();
      for (auto& l : levels) l = shown_text(l);  // one 10 MB value is not repeated in every row
      const auto position = sorted_position(c);
      ColumnProfile pop;
      pop.column = j;
      pop.name = c.name;
      pop.type = c.type;
      pop.categorical = summarize_categorical(c, g.members[0], levels, position, nullptr);
      const CategoricalSummary& base = pop.categorical;
      profiles[0]->columns.push_back(pop);
      for (std::size_t gi = 1; gi < profiles.size(); ++gi) {
        ColumnProfile cp;
        cp.column = j;
        cp.name = c.name;
        cp.type = c.type;
        cp.categorical = summarize_categorical(c, g.members[gi], levels, position, &base);
        if (cp.categorical.count > 0) {
          // Standardised difference of each level's indicator; the largest in magnitude wins.
          bool found = false;
          DistinguishingFeature best;
          for (std::size_t l = 0; l < levels.size(); ++l) {
            const double p0 = base.levels[l].share;
            if (!(p0 > 0.0 && p0 < 1.0)) continue;
            const double p1 = cp.categorical.levels[l].share;
            const double score = (p1 - p0) / std::sqrt(p0 * (1.0 - p0));
            // The two levels of a binary column always tie in magnitude; prefer the
            // over-represented level, then the level that sorts first.
            const double a = std::fabs(score), b = std::fabs(best.score);
            const bool tie = found && std::fabs(a - b) <= 1e-12 * std::max(a, b);
            if (!found || (!tie && a > b) || (tie && score > 0.0 && best.score < 0.0)) {
              found = true;
              best.score = score;
              best.level = levels[l];
              best.segment_value = p1;
              best.population_value = p0;
            }
          }
          if (found) {
            best.column = j;
            best.name = c.name;
            profiles[gi]->distinguishing.push_back(std::move(best));
          }
        }
        profiles[gi]->columns.push_back(std::move(cp));
      }
    }
  }

  for (std::size_t gi = 1; gi < profiles.size(); ++gi) {
    auto& d = profiles[gi]->distinguishing;
    // Stable: equal magnitudes keep table order.
    std::stable_sort(d.begin(), d.end(), [](const DistinguishingFeature& a, const DistinguishingFeature& b) {
      return std::fabs(a.score) > std::fabs(b.score);
    });
    if (d.size() > params.top_features) d.resize(params.top_features);
  }

  if (!features.empty() && params.representatives > 0) {
    const auto reps = nearest_rows(FeatureRows(features), g, params.representatives, centers);
    for (std::size_t s = 0; s < k; ++s) out.segments[s].representatives = reps[s];
  }
  return out;
}

std::string profiles_to_csv(const Profiles& profiles) {
  std::string out = "segment,column,level,statistic,value\n";
  auto line = [&](const std::string& segment, std::string_view column, std::string_view level, std::string_view stat,
                  const std::string& value) {
    out += csv_field(segment);
    out += ',';
    out += csv_field(column);
    out += ',';
    out += csv_field(level);
    out += ',';
    out += stat;
    out += ',';
    out += csv_field(value);
    out += '\n';
  };
  auto num = [](double v) { return format_double(v); };
  auto count = [](std::size_t v) { return std::to_string(v); };
  auto write = [&](const SegmentProfile& sp, const std::string& name) {
    line(name, "", "", "size", count(sp.size));
    line(name, "", "", "share", num(sp.share));
    for (const ColumnProfile& cp : sp.columns) {
      if (cp.type == ColumnType::numeric) {
        const NumericSummary& s = cp.numeric;
        line(name, cp.name, "", "count", count(s.count));
        line(name, cp.name, "", "missing", count(s.missing));
        line(name, cp.name, "", "mean", num(s.mean));
        line(name, cp.name, "", "std", num(s.std));
        line(name, cp.name, "", "min", num(s.min));
        line(name, cp.name, "", "q1", num(s.q1));
        line(name, cp.name, "", "median", num(s.median));
        line(name, cp.name, "", "q3", num(s.q3));
        line(name, cp.name, "", "max", num(s.max));
      } else {
        const CategoricalSummary& s = cp.categorical;
        line(name, cp.name, "", "count", count(s.count));
        line(name, cp.name, "", "missing", count(s.missing));
        line(name, cp.name, "", "mode", s.mode);
        line(name, cp.name, "", "mode_share", num(s.mode_share));
        for (const LevelShare& l : s.levels) {
          line(name, cp.name, l.level, "count", count(l.count));
          line(name, cp.name, l.level, "share", num(l.share));
          line(name, cp.name, l.level, "lift", num(l.lift));
        }
      }
    }
    for (const DistinguishingFeature& f : sp.distinguishing)
      line(name, f.name, f.level, "distinguishing_score", num(f.score));
    for (const std::size_t r : sp.representatives) line(name, "", "", "representative", count(r));
  };
  write(profiles.population, "all");
  for (const SegmentProfile& sp : profiles.segments) write(sp, std::to_string(sp.segment));
  if (profiles.unassigned) write(*profiles.unassigned, "unassigned");
  return out;
}

}  // namespace segmenta
