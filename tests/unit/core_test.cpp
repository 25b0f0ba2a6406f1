#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numeric>
#include <set>

#include "segmenta/core.hpp"
#include "segmenta/kernels.hpp"

using namespace segmenta;

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    differs |= x != c.next_u64();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, StreamsDiffer) {
  Rng a = Rng::stream(7, 0), b = Rng::stream(7, 1);
  int equal = 0;
  for (int i = 0; i < 64; ++i) equal += a.next_u64() == b.next_u64();
  EXPECT_EQ(equal, 0);
}

TEST(Rng, UniformAndBelowRanges) {
  Rng r(1);
  std::vector<int> hist(10, 0);
  for (int i = 0; i < 100000; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    const auto k = r.below(10);
    ASSERT_LT(k, 10u);
    ++hist[k];
  }
  for (int h : hist) EXPECT_NEAR(h, 10000, 500);  // ~5 sigma
}

TEST(Rng, NormalMoments) {
  Rng r(3);
  const int n = 200000;
  double s = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    s += z;
    s2 += z * z;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.02);
}

TEST(Rng, PermutationAndSample) {
  Rng r(5);
  auto p = r.permutation(1000);
  std::set<std::size_t> sp(p.begin(), p.end());
  EXPECT_EQ(sp.size(), 1000u);
  EXPECT_EQ(*sp.rbegin(), 999u);
  auto s = r.sample_without_replacement(100000, 500);
  std::set<std::size_t> ss(s.begin(), s.end());
  EXPECT_EQ(ss.size(), 500u);
  EXPECT_LT(*ss.rbegin(), 100000u);
  EXPECT_THROW(r.sample_without_replacement(3, 4), InvalidArgument);
}

TEST(Parallel, EveryTaskRunsOnceAndErrorsPropagate) {
  for (int threads : {1, 2, 4}) {
    set_num_threads(threads);
    std::vector<std::atomic<int>> hits(1000);
    parallel_for(hits.size(), [&](std::size_t t) { hits[t]++; });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    EXPECT_THROW(parallel_for(100, [&](std::size_t t) {
                   if (t == 37) throw InvalidArgument("boom");
                 }),
                 InvalidArgument);
  }
  set_num_threads(0);
}

TEST(Parallel, BlocksDoNotDependOnThreads) {
  Blocks b{1000, 256};
  EXPECT_EQ(b.count(), 4u);
  EXPECT_EQ(b.begin(3), 768u);
  EXPECT_EQ(b.end(3), 1000u);
  EXPECT_EQ(b.size(3), 232u);
}

TEST(FormatDouble, MatchesPythonRepr) {
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(100.0), "100.0");
  EXPECT_EQ(format_double(-2.5), "-2.5");
  EXPECT_EQ(format_double(1e-5), "1e-05");
  EXPECT_EQ(format_double(0.0001), "0.0001");
  EXPECT_EQ(format_double(1e16), "1e+16");
  EXPECT_EQ(format_double(1e15), "1000000000000000.0");
  EXPECT_EQ(format_double(123456789012345680.0), "1.2345678901234568e+17");
  EXPECT_EQ(format_double(10.162566350235474), "10.162566350235474");
  EXPECT_EQ(format_double(0.0), "0.0");
  EXPECT_EQ(format_double(std::nan("")), "nan");
  for (double v : {3.14159, 1.0 / 3.0, 2.2250738585072014e-308, 1.7976931348623157e308, -7e-300})
    EXPECT_EQ(std::stod(format_double(v)), v);
}

TEST(Matrix, ViewsAndTakeRows) {
  MatrixD m(3, 2);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 2; ++j) m(i, j) = static_cast<double>(10 * i + j);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m.data()) % 64, 0u);
  auto v = m.view().rows_view(1, 2);
  EXPECT_EQ(v(0, 1), 11.0);
  std::vector<int> rows{2, 0};
  MatrixD t = take_rows<double, int>(m.view(), rows);
  EXPECT_EQ(t(0, 0), 20.0);
  EXPECT_EQ(t(1, 1), 1.0);
}

TEST(Kernels, GemmDistancesMatchNaive) {
  // Small integers: every product and sum is exact in double.
  MatrixD x(7, 3), y(5, 3);
  for (std::size_t i = 0; i < 7; ++i)
    for (std::size_t j = 0; j < 3; ++j) x(i, j) = static_cast<double>((i * 3 + j * 5) % 7) - 3.0;
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 3; ++j) y(i, j) = static_cast<double>((i * 2 + j) % 5) - 2.0;
  std::vector<double> xn(7), yn(5);
  kernels::row_sq_norms(x, xn.data());
  kernels::row_sq_norms(y, yn.data());
  MatrixD d(7, 5);
  kernels::sq_distances_gemm(x, xn.data(), y, yn.data(), d.data(), 5);
  for (std::size_t i = 0; i < 7; ++i)
    for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(d(i, j), kernels::sq_dist(x.row(i), y.row(j), 3));
  std::vector<double> means(3);
  kernels::column_means(x, means.data());
  for (std::size_t j = 0; j < 3; ++j) {
    double s = 0;
    for (std::size_t i = 0; i < 7; ++i) s += x(i, j);
    EXPECT_DOUBLE_EQ(means[j], s / 7);
  }
}

TEST(Errors, ParseErrorFormatsLocation) {
  ParseError e("data.csv", 12, 5, "expected 3 fields, found 2");
  EXPECT_STREQ(e.what(), "data.csv:12:5: expected 3 fields, found 2");
  EXPECT_EQ(e.line(), 12u);
}
