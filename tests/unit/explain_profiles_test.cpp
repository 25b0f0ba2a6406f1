// Segment profiles on a small hand-made table: hand-checked numbers for the
// statistics, naive computations as the oracle of the derived scores.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "segmenta/explain.hpp"
#include "support.hpp"

using namespace segmenta;

using test::categorical;
using test::numeric;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Rows (age, job, flag, city, id, label):
//  0: 30  b  yes  "x, y"  c0   0        6: 24  a  yes  z     c6   1
//  1: 40  a  no   z       c1   0        7: 99  c  no   z     c7  -1
//  2: NaN b  no   z       c2   0        8: 26  b  no   z     c8   1
//  3: 50  c  yes  z       c3   0        9: 60  b  yes  "x, y" c9   0
//  4: 20  b  no   z       c4   1       10: 28  a  yes  z     c10  1
//  5: 22  -  no   z       c5   1
Table sample_table() {
  std::vector<Column> cols;
  cols.push_back(numeric("age", {30, 40, kNaN, 50, 20, 22, 24, 99, 26, 60, 28}));
  cols.push_back(categorical("job", {"b", "a", "b", "c", "b", "", "a", "c", "b", "b", "a"}, ColumnType::categorical));
  cols.push_back(
      categorical("flag", {"yes", "no", "no", "yes", "no", "no", "yes", "no", "no", "yes", "yes"}, ColumnType::binary));
  cols.push_back(categorical("city", {"x, y", "z", "z", "z", "z", "z", "z", "z", "z", "x, y", "z"}, ColumnType::categorical));
  std::vector<std::string> ids;
  for (int i = 0; i < 11; ++i) {
    std::string id = "c";
    id += std::to_string(i);
    ids.push_back(id);
  }
  cols.push_back(categorical("id", ids, ColumnType::id));
  return Table("sample", std::move(cols));
}

const std::vector<std::int32_t> kLabels = {0, 0, 0, 0, 1, 1, 1, -1, 1, 0, 1};

const ColumnProfile& column(const SegmentProfile& s, const std::string& name) {
  for (const auto& c : s.columns)
    if (c.name == name) return c;
  throw std::runtime_error("no column " + name);
}

const LevelShare& level(const CategoricalSummary& s, const std::string& name) {
  for (const auto& l : s.levels)
    if (l.level == name) return l;
  throw std::runtime_error("no level " + name);
}

}  // namespace

TEST(Profiles, QuantileRuleIsNumpyLinear) {
  const std::vector<double> odd = {1, 2, 3, 4, 5};
  EXPECT_EQ(quantile_linear(odd, 0.25), 2.0);
  EXPECT_EQ(quantile_linear(odd, 0.5), 3.0);
  EXPECT_EQ(quantile_linear(odd, 0.75), 4.0);
  const std::vector<double> even = {30, 40, 50, 60};
  EXPECT_EQ(quantile_linear(even, 0.25), 37.5);  // h = 0.75
  EXPECT_EQ(quantile_linear(even, 0.75), 52.5);  // h = 2.25
  EXPECT_EQ(quantile_linear(even, 0.0), 30.0);
  EXPECT_EQ(quantile_linear(even, 1.0), 60.0);
  const std::vector<double> powers = {1, 2, 4, 8, 16, 32, 64};
  EXPECT_EQ(quantile_linear(powers, 0.25), 3.0);   // h = 1.5
  EXPECT_EQ(quantile_linear(powers, 0.9), 44.80000000000001);  // numpy.quantile, to the bit
  // numpy.quantile of these values at 0.1, 0.25, 0.9 (numpy 1.24, printed with repr).
  const std::vector<double> v = {-0.535669373161111, -0.1321048632913019, 0.10490011715303971, 0.1257302210933933,
                                 0.36159505490948474, 0.6404226504432821, 1.3040000451301372};
  EXPECT_EQ(quantile_linear(v, 0.1), -0.2935306672392255);
  EXPECT_EQ(quantile_linear(v, 0.25), -0.01360237306913109);
  EXPECT_EQ(quantile_linear(v, 0.9), 0.9058536083180244);
  EXPECT_TRUE(std::isnan(quantile_linear(std::vector<double>{}, 0.5)));
  EXPECT_EQ(quantile_linear(std::vector<double>{7}, 0.25), 7.0);
}

TEST(Profiles, SizesSharesAndNumericStatistics) {
  const Table t = sample_table();
  const Profiles pr = profile_segments(t, kLabels);
  ASSERT_EQ(pr.segments.size(), 2u);
  EXPECT_EQ(pr.population.size, 10u);
  EXPECT_EQ(pr.population.share, 1.0);
  EXPECT_EQ(pr.segments[0].segment, 0);
  EXPECT_EQ(pr.segments[0].size, 5u);
  EXPECT_EQ(pr.segments[0].share, 0.5);
  EXPECT_EQ(pr.segments[1].size, 5u);
  ASSERT_TRUE(pr.unassigned.has_value());
  EXPECT_EQ(pr.unassigned->size, 1u);
  EXPECT_DOUBLE_EQ(pr.unassigned->share, 1.0 / 11.0);
  // id columns are not profiled.
  for (const auto& c : pr.population.columns) EXPECT_NE(c.name, "id");
  EXPECT_EQ(pr.population.columns.size(), 4u);

  // Segment 0: ages 30, 40, NaN, 50, 60 (even count, one missing).
  const NumericSummary& a0 = column(pr.segments[0], "age").numeric;
  EXPECT_EQ(a0.count, 4u);
  EXPECT_EQ(a0.missing, 1u);
  EXPECT_EQ(a0.mean, 45.0);
  EXPECT_EQ(a0.median, 45.0);
  EXPECT_EQ(a0.q1, 37.5);
  EXPECT_EQ(a0.q3, 52.5);
  EXPECT_EQ(a0.min, 30.0);
  EXPECT_EQ(a0.max, 60.0);
  EXPECT_DOUBLE_EQ(a0.std, std::sqrt(500.0 / 3.0));
  // Segment 1: ages 20, 22, 24, 26, 28 (odd count).
  const NumericSummary& a1 = column(pr.segments[1], "age").numeric;
  EXPECT_EQ(a1.count, 5u);
  EXPECT_EQ(a1.missing, 0u);
  EXPECT_EQ(a1.mean, 24.0);
  EXPECT_EQ(a1.median, 24.0);
  EXPECT_EQ(a1.q1, 22.0);
  EXPECT_EQ(a1.q3, 26.0);
  // Population: 20 22 24 26 28 30 40 50 60 (row 7 is unassigned, row 2 missing).
  const NumericSummary& ap = column(pr.population, "age").numeric;
  EXPECT_EQ(ap.count, 9u);
  EXPECT_EQ(ap.missing, 1u);
  EXPECT_EQ(ap.median, 28.0);
  EXPECT_EQ(ap.q1, 24.0);
  EXPECT_EQ(ap.q3, 40.0);
  EXPECT_DOUBLE_EQ(ap.mean, 300.0 / 9.0);
  // Unassigned: one value.
  const NumericSummary& au = column(*pr.unassigned, "age").numeric;
  EXPECT_EQ(au.median, 99.0);
  EXPECT_EQ(au.q1, 99.0);
  EXPECT_TRUE(std::isnan(au.std));
}

TEST(Profiles, CategoricalSharesModesAndLifts) {
  const Profiles pr = profile_segments(sample_table(), kLabels);
  // Population jobs: a 3, b 5, c 1, one missing.
  const CategoricalSummary& jp = column(pr.population, "job").categorical;
  EXPECT_EQ(jp.count, 9u);
  EXPECT_EQ(jp.missing, 1u);
  EXPECT_EQ(jp.mode, "b");
  EXPECT_DOUBLE_EQ(jp.mode_share, 5.0 / 9.0);
  ASSERT_EQ(jp.levels.size(), 3u);
  EXPECT_EQ(jp.levels[0].level, "a");  // sorted order, not first appearance
  EXPECT_EQ(jp.levels[1].level, "b");
  EXPECT_EQ(jp.levels[2].level, "c");
  EXPECT_DOUBLE_EQ(level(jp, "a").share, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(level(jp, "b").lift, 1.0);

  // Segment 0 jobs: b a b c b.
  const CategoricalSummary& j0 = column(pr.segments[0], "job").categorical;
  EXPECT_EQ(j0.count, 5u);
  EXPECT_EQ(j0.mode, "b");
  EXPECT_DOUBLE_EQ(j0.mode_share, 0.6);
  EXPECT_EQ(level(j0, "a").count, 1u);
  EXPECT_DOUBLE_EQ(level(j0, "a").lift, 0.2 / (1.0 / 3.0));
  EXPECT_DOUBLE_EQ(level(j0, "b").lift, 0.6 / (5.0 / 9.0));
  EXPECT_DOUBLE_EQ(level(j0, "c").lift, 0.2 / (1.0 / 9.0));

  // Segment 1 jobs: b - a b a: a and b tie at 2; the level that sorts first wins
  // although b comes first in the data and in the column's level order.
  const CategoricalSummary& j1 = column(pr.segments[1], "job").categorical;
  EXPECT_EQ(j1.count, 4u);
  EXPECT_EQ(j1.missing, 1u);
  EXPECT_EQ(j1.mode, "a");
  EXPECT_DOUBLE_EQ(j1.mode_share, 0.5);
  EXPECT_DOUBLE_EQ(level(j1, "a").lift, 1.5);
  EXPECT_DOUBLE_EQ(level(j1, "b").lift, 0.5 / (5.0 / 9.0));
  EXPECT_EQ(level(j1, "c").count, 0u);
  EXPECT_EQ(level(j1, "c").lift, 0.0);

  // Binary column, and a level absent from the population (the unassigned row's "c" is
  // present; nothing is absent here, so check the unassigned group against the population).
  const CategoricalSummary& ju = column(*pr.unassigned, "job").categorical;
  EXPECT_EQ(ju.mode, "c");
  EXPECT_DOUBLE_EQ(level(ju, "c").lift, 9.0);
  const CategoricalSummary& f1 = column(pr.segments[1], "flag").categorical;
  EXPECT_EQ(f1.mode, "no");  // no 3 (rows 4, 5, 8), yes 2
  EXPECT_DOUBLE_EQ(level(f1, "yes").share, 0.4);
}

TEST(Profiles, DistinguishingFeaturesFollowTheStandardisedDifference) {
  const Table t = sample_table();
  const Profiles pr = profile_segments(t, kLabels, ProfileParams{10, 0});
  std::vector<std::size_t> population;
  for (std::size_t i = 0; i < kLabels.size(); ++i)
    if (kLabels[i] >= 0) population.push_back(i);

  for (std::size_t s = 0; s < 2; ++s) {
    SCOPED_TRACE(s);
    const auto& seg = pr.segments[s];
    // Naive oracle: age SMD against the population sd (ddof 0).
    double pm = 0, pn = 0;
    for (const std::size_t r : population)
      if (!std::isnan(t.column(0).numbers[r])) pm += t.column(0).numbers[r], ++pn;
    pm /= pn;
    double pv = 0;
    for (const std::size_t r : population)
      if (!std::isnan(t.column(0).numbers[r])) pv += std::pow(t.column(0).numbers[r] - pm, 2);
    const double sd = std::sqrt(pv / pn);
    double sm = 0, sn = 0;
    for (std::size_t r = 0; r < kLabels.size(); ++r)
      if (kLabels[r] == static_cast<std::int32_t>(s) && !std::isnan(t.column(0).numbers[r]))
        sm += t.column(0).numbers[r], ++sn;
    const double age_score = (sm / sn - pm) / sd;

    // Naive oracle for the categoricals: max |(p1 - p0) / sqrt(p0 (1 - p0))| over levels.
    auto cat_score = [&](std::size_t col) {
      const Column& c = t.column(col);
      double best = 0;
      for (std::size_t l = 0; l < c.levels.size(); ++l) {
        double n0 = 0, k0 = 0, n1 = 0, k1 = 0;
        for (std::size_t r = 0; r < kLabels.size(); ++r) {
          if (kLabels[r] < 0 || c.codes[r] < 0) continue;
          n0 += 1;
          k0 += c.codes[r] == static_cast<std::int32_t>(l);
          if (kLabels[r] == static_cast<std::int32_t>(s)) {
            n1 += 1;
            k1 += c.codes[r] == static_cast<std::int32_t>(l);
          }
        }
        const double p0 = k0 / n0, p1 = k1 / n1;
        if (p0 <= 0 || p0 >= 1) continue;
        const double sc = (p1 - p0) / std::sqrt(p0 * (1 - p0));
        if (std::fabs(sc) > std::fabs(best)) best = sc;
      }
      return best;
    };
    std::map<std::string, double> want = {{"age", age_score}, {"job", cat_score(1)}, {"flag", cat_score(2)},
                                          {"city", cat_score(3)}};
    ASSERT_EQ(seg.distinguishing.size(), 4u);
    for (std::size_t r = 0; r < seg.distinguishing.size(); ++r) {
      const auto& f = seg.distinguishing[r];
      EXPECT_NEAR(std::fabs(f.score), std::fabs(want.at(f.name)), 1e-12) << f.name;
      if (r > 0) {
        EXPECT_GE(std::fabs(seg.distinguishing[r - 1].score), std::fabs(f.score));
      }
    }
    EXPECT_EQ(seg.distinguishing[0].name, "age");
  }
  // Segment 0 is older than the population: positive score, values reported.
  const auto& top = pr.segments[0].distinguishing[0];
  EXPECT_GT(top.score, 0.0);
  EXPECT_EQ(top.segment_value, 45.0);
  EXPECT_DOUBLE_EQ(top.population_value, 300.0 / 9.0);
  // Two-level columns tie in magnitude; the over-represented level is reported.
  auto find = [&](std::size_t s, const std::string& name) {
    for (const auto& f : pr.segments[s].distinguishing)
      if (f.name == name) return f;
    throw std::runtime_error("not listed: " + name);
  };
  EXPECT_EQ(find(0, "city").level, "x, y");  // segment 0 holds both "x, y" rows
  EXPECT_DOUBLE_EQ(find(0, "city").score, (0.4 - 0.2) / std::sqrt(0.2 * 0.8));
  EXPECT_EQ(find(1, "city").level, "z");
  EXPECT_EQ(find(0, "flag").level, "yes");
  EXPECT_EQ(find(1, "flag").level, "no");
  EXPECT_EQ(find(1, "job").level, "a");  // a +0.354 and c -0.354 tie: the positive one
  EXPECT_EQ(profile_segments(t, kLabels, ProfileParams{2, 0}).segments[0].distinguishing.size(), 2u);
}

TEST(Profiles, RepresentativesAreNearestToTheCentreWithIndexTieBreak) {
  const Table t = sample_table();
  // Feature space (11, 2); segment 1 (rows 4 5 6 8 10) has mean (1, 1); rows 5 and 8 are
  // at the same distance from it, as are rows 4 and 10.
  MatrixD f(11, 2, 0.0);
  const double seg1[5][2] = {{0, 0}, {1, 0}, {1, 1}, {1, 2}, {2, 2}};
  const std::size_t rows1[5] = {4, 5, 6, 8, 10};
  for (int i = 0; i < 5; ++i) {
    f(rows1[i], 0) = seg1[i][0];
    f(rows1[i], 1) = seg1[i][1];
  }
  for (const std::size_t r : {0, 1, 2, 3, 9}) {
    f(r, 0) = 10.0 + static_cast<double>(r);
    f(r, 1) = -5.0;
  }
  const Profiles pr = profile_segments(t, kLabels, ProfileParams{5, 3}, f);
  EXPECT_EQ(pr.segments[1].representatives, (std::vector<std::size_t>{6, 5, 8}));
  // Segment 0: x = 10, 11, 12, 13, 19 -> mean 13: rows 3, then 2, then 1.
  EXPECT_EQ(pr.segments[0].representatives, (std::vector<std::size_t>{3, 2, 1}));
  EXPECT_TRUE(pr.population.representatives.empty());

  // Given centres: row c of `centers` is the centre of label c.
  MatrixD centers(2, 2);
  centers(0, 0) = 19.0;
  centers(0, 1) = -5.0;
  centers(1, 0) = 2.0;
  centers(1, 1) = 2.0;
  const auto reps = representative_rows(f, kLabels, 2, centers);
  EXPECT_EQ(reps[0], (std::vector<std::size_t>{9, 3}));
  EXPECT_EQ(reps[1], (std::vector<std::size_t>{10, 8}));
  EXPECT_EQ(representative_rows(f, kLabels, 99)[1].size(), 5u);
}

TEST(Profiles, TidyCsv) {
  const Profiles pr = profile_segments(sample_table(), kLabels, ProfileParams{1, 0});
  const std::string csv = profiles_to_csv(pr);
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "segment,column,level,statistic,value");
  auto has = [&](const std::string& l) { return std::find(lines.begin(), lines.end(), l) != lines.end(); };
  EXPECT_TRUE(has("all,,,size,10"));
  EXPECT_TRUE(has("0,,,share,0.5"));
  EXPECT_TRUE(has("0,age,,median,45.0"));
  EXPECT_TRUE(has("0,age,,q1,37.5"));
  EXPECT_TRUE(has("0,age,,missing,1"));
  EXPECT_TRUE(has("1,job,,mode,a"));
  EXPECT_TRUE(has("1,job,a,lift,1.5"));
  EXPECT_TRUE(has("0,city,\"x, y\",count,2"));
  EXPECT_TRUE(has("unassigned,,,size,1"));
  EXPECT_TRUE(has("unassigned,age,,std,nan"));
  // One line per statistic: header + per group (size, share) + age 9 + per categorical
  // (4 + 3 per level) + distinguishing (1 per segment group).
  const std::size_t per_group = 2 + 9 + (4 + 3 * 3) + (4 + 3 * 2) + (4 + 3 * 2);
  EXPECT_EQ(lines.size(), 1 + 4 * per_group + 3);
}

TEST(Profiles, RejectsBadInputs) {
  const Table t = sample_table();
  EXPECT_THROW(profile_segments(t, std::vector<std::int32_t>(5, 0)), InvalidArgument);
  std::vector<std::int32_t> bad = kLabels;
  bad[3] = -7;
  EXPECT_THROW(profile_segments(t, bad), InvalidArgument);
  EXPECT_THROW(profile_segments(t, std::vector<std::int32_t>(11, -1)), InvalidArgument);
  EXPECT_THROW(profile_segments(t, kLabels, {}, MatrixD(10, 2)), InvalidArgument);
  MatrixD f(11, 2, 0.0);
  EXPECT_THROW(profile_segments(t, kLabels, {}, f, MatrixD(1, 2)), InvalidArgument);  // no centre for label 1
  EXPECT_THROW(profile_segments(t, kLabels, {}, f, MatrixD(2, 3)), InvalidArgument);
  EXPECT_THROW(representative_rows(f, std::vector<std::int32_t>(3, 0), 2), InvalidArgument);
}

TEST(Profiles, LongLevelsAreShortenedForDisplay) {
  const std::string huge(1 << 20, 'x');  // a 1 MB text value
  const std::string accented = std::string(199, 'a') + "\xc3\xa9" + "tail";  // é straddles byte 200
  std::vector<std::string> values;
  for (int i = 0; i < 12; ++i) values.push_back(i % 3 == 0 ? huge : i % 3 == 1 ? accented : "short");
  std::vector<Column> cols;
  cols.push_back(test::categorical("note", values));
  const Table t("t", std::move(cols));
  const std::vector<std::int32_t> labels = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
  const Profiles pr = profile_segments(t, labels);
  const std::string csv = profiles_to_csv(pr);
  EXPECT_LT(csv.size(), 20000u);
  EXPECT_NE(csv.find(std::string(200, 'x') + "..."), std::string::npos);
  EXPECT_NE(csv.find(std::string(199, 'a') + "..."), std::string::npos);  // never half a character
  EXPECT_NE(csv.find("short"), std::string::npos);
}

// The quartiles come from selecting the values at the ranks they need, not from a
// sort: compared with a naive summary (sort, numpy's rule on the sorted values, sums
// in row order) on every group size from 1 to 60 and a few large ones, with ties,
// missing values and rows outside the segments.
TEST(Profiles, NumericSummariesMatchSortingEveryValue) {
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> u(-5.0, 5.0);
  std::vector<std::size_t> sizes;
  for (std::size_t m = 1; m <= 60; ++m) sizes.push_back(m);
  for (const std::size_t m : {257, 1000, 4099}) sizes.push_back(m);
  for (const std::size_t m : sizes) {
    SCOPED_TRACE(::testing::Message() << "segment 0 of " << m << " rows");
    // Segment 0 has m rows, segment 1 about m / 2 + 1; every 7th row is unassigned.
    const std::size_t n = std::max<std::size_t>(8, m + m / 2 + 1 + (m + m / 2 + 1) / 6 + 1);
    std::vector<std::int32_t> labels(n);
    std::vector<double> x(n);
    std::size_t in0 = 0;
    for (std::size_t i = 0; i < n; ++i) {
      labels[i] = i % 7 == 6 ? -1 : (in0 < m && i % 3 != 2 ? 0 : 1);
      if (labels[i] == 0) ++in0;
      const double r = u(rng);
      x[i] = i % 11 == 5 ? kNaN : (i % 4 == 0 ? std::round(r) : r);  // ties among the rounded
    }
    std::vector<Column> cols;
    cols.push_back(numeric("v", x));
    const Table t("t", std::move(cols));
    const Profiles pr = profile_segments(t, labels);
    auto naive = [&](auto keep) {
      std::vector<double> v;
      double sum = 0.0;
      std::size_t missing = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (!keep(labels[i])) continue;
        if (std::isnan(x[i])) {
          ++missing;
          continue;
        }
        v.push_back(x[i]);
        sum += x[i];
      }
      NumericSummary s;
      s.count = v.size();
      s.missing = missing;
      if (v.empty()) return s;
      s.mean = sum / static_cast<double>(v.size());
      double ss = 0.0;
      for (const double a : v) ss += (a - s.mean) * (a - s.mean);
      s.std = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : kNaN;
      std::sort(v.begin(), v.end());
      s.min = v.front();
      s.max = v.back();
      s.q1 = quantile_linear(v, 0.25);
      s.q3 = quantile_linear(v, 0.75);
      const std::size_t k = v.size();
      s.median = k % 2 == 1 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2.0;
      return s;
    };
    auto same = [](const NumericSummary& a, const NumericSummary& b) {
      EXPECT_EQ(a.count, b.count);
      EXPECT_EQ(a.missing, b.missing);
      if (a.count == 0) return;
      for (const auto f : {&NumericSummary::mean, &NumericSummary::min, &NumericSummary::q1, &NumericSummary::median,
                           &NumericSummary::q3, &NumericSummary::max})
        EXPECT_EQ(a.*f, b.*f);
      if (a.count > 1) EXPECT_EQ(a.std, b.std);
    };
    same(column(pr.population, "v").numeric, naive([](std::int32_t l) { return l >= 0; }));
    same(column(pr.segments[0], "v").numeric, naive([](std::int32_t l) { return l == 0; }));
    same(column(pr.segments[1], "v").numeric, naive([](std::int32_t l) { return l == 1; }));
    same(column(*pr.unassigned, "v").numeric, naive([](std::int32_t l) { return l == -1; }));
  }
}
