// Segment profiles: per-group summaries of the original columns, lifts, the most
// distinguishing columns and representative rows.
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "core/block_share.hpp"
#include "core/order_select.hpp"

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
  std::vector<std::uint32_t> group_of_row;        // 1 + segment index, or unassigned()
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
  g.group_of_row.resize(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      g.members[g.unassigned()].push_back(i);
      g.group_of_row[i] = static_cast<std::uint32_t>(g.unassigned());
      continue;
    }
    const auto s = std::lower_bound(g.segments.begin(), g.segments.end(), labels[i]) - g.segments.begin();
    g.members[0].push_back(i);
    g.members[1 + static_cast<std::size_t>(s)].push_back(i);
    g.group_of_row[i] = static_cast<std::uint32_t>(1 + s);
  }
  return g;
}

// ---- The ranks' shares ------------------------------------------------------
// Row blocks of the one process (a function of n alone); rank r takes the r-th
// share in order (rank_blocks). Sums travel along the ranks by the ordered fold, so
// each is added in row order as one process adds it; integer counts are exact in any
// order. Order statistics are selected exactly among the ranks' rows
// (select_order_statistics: byte histograms of order keys added across the ranks).
constexpr std::size_t kRowBlock = 4096;

struct RowShare {
  detail::BlockShare share;
  std::size_t begin = 0, end = 0;  // this rank's rows
  RowShare(const Communicator* comm, std::size_t n) {
    const Blocks blocks{n, kRowBlock};
    share = detail::BlockShare::of(comm, blocks.count());
    begin = share.distributed() ? share.begin_row(blocks) : 0;
    end = share.distributed() ? share.end_row(blocks) : n;
  }
  /// add_mine(total) adds this rank's rows, in row order, to sums that hold the rows
  /// before them; every rank returns the total.
  void fold(std::span<double> total, const std::function<void(std::span<double>)>& add_mine) const {
    if (share.distributed())
      share.comm->fold_in_rank_order(total, add_mine);
    else
      add_mine(total);
  }
  void add_counts(std::vector<std::int64_t>& counts) const {
    if (share.distributed()) counts = share.comm->allreduce_sum(counts);
  }
};

/// The rows of `rows` (ascending) within [begin, end).
std::span<const std::size_t> rows_within(const std::vector<std::size_t>& rows, std::size_t begin, std::size_t end) {
  const auto lo = std::lower_bound(rows.begin(), rows.end(), begin);
  const auto hi = std::lower_bound(lo, rows.end(), end);
  return {rows.data() + (lo - rows.begin()), static_cast<std::size_t>(hi - lo)};
}

// numpy's "linear" quantile of n sorted values, value_at(i) the i-th smallest.
template <class At>
double quantile_at(std::size_t n, double q, At&& value_at) {
  if (n == 0) return kNaN;
  // numpy's virtual index for the linear method: (n - 1) q. (The equivalent
  // n q + (1 - q) - 1 differs from it in the last bit for about one q in ten; it
  // matched numpy here only while the compiler fused its first multiply-add.)
  const double h = static_cast<double>(n - 1) * q;
  if (h >= static_cast<double>(n - 1)) return value_at(n - 1);
  if (h < 0.0) return value_at(0);
  const double lower = std::floor(h);
  const auto lo = static_cast<std::size_t>(lower);
  const double t = h - lower;
  const double a = value_at(lo), b = value_at(lo + 1);
  const double diff = b - a;
  // numpy's _lerp: from the upper value when t >= 0.5 (monotone and exact at t = 1).
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

/// The positions, ascending and distinct, that the order statistics of `m` sorted
/// values read: the extremes, the middle one or two, and the neighbours of the
/// quartiles' fractional positions (numpy's linear rule).
std::vector<std::uint64_t> order_positions(std::size_t, std::uint64_t m) {
  if (m == 0) return {};
  std::vector<std::uint64_t> at{0, m - 1, (m - 1) / 2, m / 2};
  auto record = [&](std::size_t i) {
    at.push_back(i);
    return 0.0;
  };
  quantile_at(static_cast<std::size_t>(m), 0.25, record);
  quantile_at(static_cast<std::size_t>(m), 0.75, record);
  std::sort(at.begin(), at.end());
  at.erase(std::unique(at.begin(), at.end()), at.end());
  return at;
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

/// A categorical summary from the group's level counts (sorted level order) and
/// missing count.
CategoricalSummary summarize_categorical(const std::int64_t* counts, std::int64_t missing, std::size_t rows,
                                         const std::vector<std::string>& sorted_levels,
                                         const CategoricalSummary* population) {
  CategoricalSummary s;
  s.missing = static_cast<std::size_t>(missing);
  s.count = rows - s.missing;
  s.levels.resize(sorted_levels.size());
  std::size_t best = 0;
  for (std::size_t l = 0; l < sorted_levels.size(); ++l) {
    LevelShare& ls = s.levels[l];
    ls.level = sorted_levels[l];
    ls.count = static_cast<std::size_t>(counts[l]);
    ls.share = s.count > 0 ? static_cast<double>(ls.count) / static_cast<double>(s.count) : kNaN;
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

/// Numeric summaries of every (numeric column, group): counts and sums by row blocks
/// on the ranks (ordered folds), order statistics selected among the same rows. Summary [u * G + g] for the u-th numeric column of `columns`, and each
/// column's population sd (ddof 0).
struct NumericColumns {
  std::vector<NumericSummary> summary;
  std::vector<double> sigma;
};

NumericColumns numeric_summaries(const Table& table, const std::vector<std::size_t>& columns, const Groups& g,
                                 const std::vector<std::uint32_t>& group_of_row, const RowShare& rs,
                                 detail::ProfileWork* work) {
  const std::size_t U = columns.size(), G = g.members.size(), unassigned = g.unassigned();
  NumericColumns result;
  std::vector<NumericSummary>& out = result.summary;
  out.resize(U * G);
  if (U == 0) return result;
  // Sums, non-missing and missing counts, each added in row order.
  std::vector<double> acc(U * G * 3, 0.0);
  rs.fold(acc, [&](std::span<double> running) {
    parallel_for(U, [&](std::size_t u) {
      const double* x = table.column(columns[u]).numbers.data();
      double* a = running.data() + u * G * 3;
      for (std::size_t i = rs.begin; i < rs.end; ++i) {
        const std::size_t gi = group_of_row[i];
        const double v = x[i];
        if (std::isnan(v)) {
          a[gi * 3 + 2] += 1.0;
          if (gi != unassigned) a[2] += 1.0;
        } else {
          a[gi * 3] += v;
          a[gi * 3 + 1] += 1.0;
          if (gi != unassigned) {
            a[0] += v;
            a[1] += 1.0;
          }
        }
      }
    });
  });
  if (work) work->summed_rows += rs.end - rs.begin;
  for (std::size_t t = 0; t < U * G; ++t) {
    NumericSummary& s = out[t];
    s.count = static_cast<std::size_t>(acc[t * 3 + 1]);
    s.missing = static_cast<std::size_t>(acc[t * 3 + 2]);
    s.mean = s.count > 0 ? acc[t * 3] / static_cast<double>(s.count) : kNaN;
  }
  // Squared deviations from the means, in row order.
  std::vector<double> ss(U * G, 0.0);
  rs.fold(ss, [&](std::span<double> running) {
    parallel_for(U, [&](std::size_t u) {
      const double* x = table.column(columns[u]).numbers.data();
      double* a = running.data() + u * G;
      const NumericSummary* s = out.data() + u * G;
      for (std::size_t i = rs.begin; i < rs.end; ++i) {
        const double v = x[i];
        if (std::isnan(v)) continue;
        const std::size_t gi = group_of_row[i];
        const double d = v - s[gi].mean;
        a[gi] += d * d;
        if (gi != unassigned) {
          const double d0 = v - s[0].mean;
          a[0] += d0 * d0;
        }
      }
    });
  });
  for (std::size_t t = 0; t < U * G; ++t) {
    NumericSummary& s = out[t];
    s.std = s.count > 1 ? std::sqrt(ss[t] / static_cast<double>(s.count - 1)) : kNaN;
  }
  for (std::size_t u = 0; u < U; ++u) {
    const std::size_t n = out[u * G].count;
    result.sigma.push_back(n > 0 ? std::sqrt(ss[u * G] / static_cast<double>(n)) : kNaN);
  }
  // Order statistics: an exact selection among the ranks' rows (the rows of the sums
  // above). Each rank lays out its rows' present values of a column by group
  // (segments 1..k, then the unassigned rows, each in row order), so the population's
  // values (the segments') are one span; select_order_statistics finds, for every
  // (column, group) at once, the values a sort of the group's whole column holds at the
  // positions the statistics read.
  const std::size_t k = G - 2;
  std::vector<std::vector<double>> values(U);
  std::vector<std::size_t> offset(U * (G + 1), 0);  // per column: the start of groups 1..k+1, then the end
  parallel_for(U, [&](std::size_t u) {
    const double* x = table.column(columns[u]).numbers.data();
    std::size_t* at = offset.data() + u * (G + 1);
    for (std::size_t i = rs.begin; i < rs.end; ++i)
      if (!std::isnan(x[i])) ++at[group_of_row[i] + 1];
    for (std::size_t gi = 2; gi <= G; ++gi) at[gi] += at[gi - 1];
    std::vector<std::size_t> next(at, at + G);
    std::vector<double>& v = values[u];
    v.resize(at[G]);
    for (std::size_t i = rs.begin; i < rs.end; ++i)
      if (!std::isnan(x[i])) v[next[group_of_row[i]]++] = x[i];
  });
  std::vector<std::span<const double>> parts(U * G);
  for (std::size_t u = 0; u < U; ++u) {
    const std::size_t* at = offset.data() + u * (G + 1);
    const double* v = values[u].data();
    parts[u * G] = {v + at[1], at[k + 1] - at[1]};
    for (std::size_t gi = 1; gi < G; ++gi) parts[u * G + gi] = {v + at[gi], at[gi + 1] - at[gi]};
  }
  if (work) {
    for (const auto& p : parts) work->ordered_values += p.size();
    work->ordered_rows += rs.end - rs.begin;
  }
  const std::vector<std::vector<double>> at_positions =
      detail::select_order_statistics(rs.share.distributed() ? rs.share.comm : nullptr, parts, order_positions);
  for (std::size_t t = 0; t < U * G; ++t) {
    const std::size_t m = out[t].count;
    NumericSummary& s = out[t];
    if (m == 0) {
      s.min = s.q1 = s.median = s.q3 = s.max = kNaN;
      continue;
    }
    const std::vector<std::uint64_t> at = order_positions(t, m);
    const std::vector<double>& found = at_positions[t];
    if (found.size() != at.size()) throw Error("profiles: the order statistics' positions differ");
    auto value = [&](std::size_t i) {
      return found[static_cast<std::size_t>(std::lower_bound(at.begin(), at.end(), i) - at.begin())];
    };
    s.min = value(0);
    s.max = value(m - 1);
    s.q1 = quantile_at(m, 0.25, value);
    s.q3 = quantile_at(m, 0.75, value);
    s.median = m % 2 == 1 ? value(m / 2) : (value(m / 2 - 1) + value(m / 2)) / 2.0;
  }
  return result;
}

/// Level counts of every (categorical column, group), by row blocks on the ranks:
/// per column G * (levels + 1) counts, the last of each group its missing values,
/// levels in sorted order.
std::vector<std::vector<std::int64_t>> level_counts(const Table& table, const std::vector<std::size_t>& columns,
                                                    const std::vector<std::vector<std::size_t>>& positions,
                                                    const Groups& g, const std::vector<std::uint32_t>& group_of_row,
                                                    const RowShare& rs) {
  const std::size_t G = g.members.size(), unassigned = g.unassigned();
  std::vector<std::vector<std::int64_t>> out(columns.size());
  parallel_for(columns.size(), [&](std::size_t u) {
    const Column& c = table.column(columns[u]);
    const std::vector<std::size_t>& position = positions[u];
    const std::size_t w = position.size() + 1;
    std::vector<std::int64_t>& counts = out[u];
    counts.assign(G * w, 0);
    for (std::size_t i = rs.begin; i < rs.end; ++i) {
      const std::size_t gi = group_of_row[i];
      const std::int32_t code = c.codes[i];
      const std::size_t l = code < 0 ? w - 1 : position[static_cast<std::size_t>(code)];
      ++counts[gi * w + l];
      if (gi != unassigned) ++counts[l];
    }
  });
  if (rs.share.distributed()) {
    std::vector<std::int64_t> all;
    for (const auto& c : out) all.insert(all.end(), c.begin(), c.end());
    rs.add_counts(all);
    std::size_t at = 0;
    for (auto& c : out) {
      std::copy(all.begin() + static_cast<std::ptrdiff_t>(at), all.begin() + static_cast<std::ptrdiff_t>(at + c.size()),
                c.begin());
      at += c.size();
    }
  }
  return out;
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

// The `count` rows of each segment nearest its centre, nearest first, ties to the
// lower row (the order of (distance, row) pairs). Centres summed by an ordered fold
// over the row blocks; each rank keeps its rows' nearest per segment, and the nearest
// of the ranks' candidates are those of all rows.
std::vector<std::vector<std::size_t>> nearest_rows(const FeatureRows& x, const Groups& g, std::size_t count,
                                                   ViewD centers, const Communicator* comm, detail::ProfileWork* work) {
  const std::size_t q = x.cols(), k = g.segments.size();
  const RowShare rs(comm, g.group_of_row.size());
  std::vector<double> centre(k * q, 0.0);
  if (!centers.empty()) {
    for (std::size_t s = 0; s < k; ++s) {
      const double* c = centers.row(static_cast<std::size_t>(g.segments[s]));
      std::copy(c, c + q, centre.begin() + static_cast<std::ptrdiff_t>(s * q));
    }
  } else {
    rs.fold(centre, [&](std::span<double> running) {
      parallel_for(k, [&](std::size_t s) {
        std::vector<double> scratch(q);
        double* c = running.data() + s * q;
        for (const std::size_t r : rows_within(g.members[1 + s], rs.begin, rs.end)) {
          const double* xr = x.row(r, scratch.data());
          for (std::size_t j = 0; j < q; ++j) c[j] += xr[j];
        }
      });
    });
    for (std::size_t s = 0; s < k; ++s)
      for (std::size_t j = 0; j < q; ++j) centre[s * q + j] /= static_cast<double>(g.members[1 + s].size());
  }
  using Candidate = std::pair<double, std::size_t>;
  std::vector<std::vector<Candidate>> best(k);
  parallel_for(k, [&](std::size_t s) {
    const auto rows = rows_within(g.members[1 + s], rs.begin, rs.end);
    std::vector<double> scratch(q);
    std::vector<Candidate>& d = best[s];
    d.reserve(rows.size());
    for (const std::size_t r : rows)
      d.emplace_back(kernels::sq_dist(x.row(r, scratch.data()), centre.data() + s * q, q), r);
    const std::size_t keep = std::min(count, d.size());
    std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(keep), d.end());
    d.resize(keep);
  });
  if (work)
    for (std::size_t s = 0; s < k; ++s) work->searched_rows += rows_within(g.members[1 + s], rs.begin, rs.end).size();
  if (rs.share.distributed()) {
    // Each rank's candidates as (segment, distance, row) triples; rows are below 2^53.
    std::vector<double> mine;
    for (std::size_t s = 0; s < k; ++s)
      for (const Candidate& c : best[s]) {
        mine.push_back(static_cast<double>(s));
        mine.push_back(c.first);
        mine.push_back(static_cast<double>(c.second));
      }
    const std::vector<double> all = rs.share.comm->allgather(mine);
    if (all.size() % 3 != 0) throw Error("profiles: the ranks' representatives are malformed");
    for (auto& b : best) b.clear();
    for (std::size_t i = 0; i < all.size(); i += 3) {
      const auto s = static_cast<std::size_t>(all[i]);
      if (s >= k) throw Error("profiles: the ranks' representatives are malformed");
      best[s].emplace_back(all[i + 1], static_cast<std::size_t>(all[i + 2]));
    }
    for (auto& d : best) {
      const std::size_t keep = std::min(count, d.size());
      std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(keep), d.end());
      d.resize(keep);
    }
  }
  std::vector<std::vector<std::size_t>> out(k);
  for (std::size_t s = 0; s < k; ++s)
    for (const Candidate& c : best[s]) out[s].push_back(c.second);
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
  return quantile_at(sorted.size(), q, [&](std::size_t i) { return sorted[i]; });
}

std::vector<std::vector<std::size_t>> representative_rows(ViewD x, std::span<const std::int32_t> labels,
                                                          std::size_t count, ViewD centers) {
  validate_centres(x, labels, centers, "x");
  const Groups g = make_groups(labels);
  return nearest_rows(FeatureRows(x), g, count, centers, nullptr, nullptr);
}

namespace detail {

std::vector<std::vector<std::size_t>> representative_rows_of(std::size_t q, const FeatureRow& row,
                                                             std::span<const std::int32_t> labels, std::size_t count,
                                                             const Communicator* comm, ProfileWork* work) {
  const Groups g = make_groups(labels);
  return nearest_rows(FeatureRows(q, row), g, count, {}, comm, work);
}

}  // namespace detail

namespace detail {

Profiles profile_segments_counted(const Table& table, std::span<const std::int32_t> labels, const ProfileParams& params,
                                  ViewD features, ViewD centers, ProfileWork* work) {
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

  // The columns' counts and statistics (shared by the ranks), then the profiles
  // assembled from them in table order.
  const RowShare rs(params.comm, table.rows());
  std::vector<std::size_t> numeric, categorical, slot(table.cols());
  std::vector<std::vector<std::size_t>> positions;
  for (std::size_t j = 0; j < table.cols(); ++j) {
    const Column& c = table.column(j);
    if (c.type == ColumnType::id || c.type == ColumnType::text) continue;
    if (c.is_numeric()) {
      slot[j] = numeric.size();
      numeric.push_back(j);
    } else {
      slot[j] = categorical.size();
      categorical.push_back(j);
      positions.push_back(sorted_position(c));
    }
  }
  const std::size_t G = g.members.size();
  const NumericColumns summaries = numeric_summaries(table, numeric, g, g.group_of_row, rs, work);
  const std::vector<std::vector<std::int64_t>> counts =
      level_counts(table, categorical, positions, g, g.group_of_row, rs);
  if (work && numeric.empty() && !categorical.empty()) work->summed_rows += rs.end - rs.begin;

  for (std::size_t j = 0; j < table.cols(); ++j) {
    const Column& c = table.column(j);
    if (c.type == ColumnType::id || c.type == ColumnType::text) continue;
    if (c.is_numeric()) {
      const NumericSummary* column = summaries.summary.data() + slot[j] * G;
      const double mu = column[0].mean;
      const double sigma = summaries.sigma[slot[j]];
      for (std::size_t gi = 0; gi < profiles.size(); ++gi) {
        ColumnProfile cp;
        cp.column = j;
        cp.name = c.name;
        cp.type = c.type;
        cp.numeric = column[gi];
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
      const std::vector<std::int64_t>& cc = counts[slot[j]];
      const std::size_t w = levels.size() + 1;
      ColumnProfile pop;
      pop.column = j;
      pop.name = c.name;
      pop.type = c.type;
      pop.categorical = summarize_categorical(cc.data(), cc[w - 1], g.members[0].size(), levels, nullptr);
      const CategoricalSummary& base = pop.categorical;
      profiles[0]->columns.push_back(pop);
      for (std::size_t gi = 1; gi < profiles.size(); ++gi) {
        ColumnProfile cp;
        cp.column = j;
        cp.name = c.name;
        cp.type = c.type;
        cp.categorical =
            summarize_categorical(cc.data() + gi * w, cc[gi * w + w - 1], g.members[gi].size(), levels, &base);
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
    const auto reps = nearest_rows(FeatureRows(features), g, params.representatives, centers, params.comm, work);
    for (std::size_t s = 0; s < k; ++s) out.segments[s].representatives = reps[s];
  }
  return out;
}

}  // namespace detail

Profiles profile_segments(const Table& table, std::span<const std::int32_t> labels, const ProfileParams& params,
                          ViewD features, ViewD centers) {
  return detail::profile_segments_counted(table, labels, params, features, centers, nullptr);
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
