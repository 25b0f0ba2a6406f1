// Knee detection: hand-worked curves and input validation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "segmenta/cluster.hpp"

using namespace segmenta;

TEST(Knee, HandWorkedCurveWithTwoElbows) {
  // x = 0..4, y = 4 2 2 0 0 (convex, decreasing). Normalised: x_n = i/4,
  // y' = 1 - y_n = 0 .5 .5 1 1, difference d = 0 .25 0 .25 0: maxima at 1 and 3,
  // minima at 0, 2 and 4, mean step 0.25. With S = 1 the thresholds are 0 and
  // nothing falls below them; with S = 0.5 they are 0.125: d[2] = 0 < 0.125 gives
  // the knee x = 1, and scanning on (after the minimum at 2 resets the threshold)
  // d[4] = 0 < 0.125 gives a second local knee at x = 3.
  const std::vector<double> x{0, 1, 2, 3, 4}, y{4, 2, 2, 0, 0};
  const KneeResult s1 = find_knee(x, y, CurveNature::convex, CurveDirection::decreasing);
  EXPECT_FALSE(s1.knee.has_value());
  EXPECT_TRUE(s1.all_knees.empty());
  EXPECT_TRUE(s1.local_knees.empty());
  const KneeResult s05 = find_knee(x, y, CurveNature::convex, CurveDirection::decreasing, 0.5);
  ASSERT_TRUE(s05.knee.has_value());
  EXPECT_EQ(*s05.knee, 1.0);
  EXPECT_EQ(s05.all_knees, std::vector<double>{1.0});
  EXPECT_EQ(s05.local_knees, (std::vector<double>{1.0, 3.0}));
  // The same curve mirrored (y reversed) as convex increasing: indices map back
  // through x[n - 1 - i].
  const std::vector<double> yr{0, 0, 2, 2, 4};
  const KneeResult inc = find_knee(x, yr, CurveNature::convex, CurveDirection::increasing, 0.5);
  ASSERT_TRUE(inc.knee.has_value());
  EXPECT_EQ(*inc.knee, 3.0);
  EXPECT_EQ(inc.local_knees, (std::vector<double>{1.0, 3.0}));
}

TEST(Knee, StraightLineAndTwoPointsHaveNoKnee) {
  // A line normalises onto the diagonal: the difference curve is 0 everywhere,
  // every point is both a maximum and a minimum and the threshold stays at 0.
  const std::vector<double> x{1, 2, 3, 4, 5, 6}, y{12, 10, 8, 6, 4, 2};
  EXPECT_FALSE(find_knee(x, y, CurveNature::convex, CurveDirection::decreasing).knee.has_value());
  EXPECT_FALSE(find_knee(std::vector<double>{1, 2}, std::vector<double>{1, 0}, CurveNature::convex,
                         CurveDirection::decreasing)
                   .knee.has_value());
}

TEST(Knee, ConstantCurveHasNoKnee) {
  // 0/0 in the normalisation gives NaNs, as in numpy: no extremum, no knee.
  const std::vector<double> x{2, 3, 4, 5}, y{7, 7, 7, 7};
  for (auto nature : {CurveNature::convex, CurveNature::concave})
    for (auto direction : {CurveDirection::increasing, CurveDirection::decreasing}) {
      const KneeResult r = find_knee(x, y, nature, direction);
      EXPECT_FALSE(r.knee.has_value());
      EXPECT_TRUE(r.all_knees.empty());
      EXPECT_TRUE(r.local_knees.empty());
    }
}

TEST(Knee, RejectsBadInput) {
  const std::vector<double> x{1, 2, 3}, y{3, 2, 1};
  const auto cv = CurveNature::convex;
  const auto dec = CurveDirection::decreasing;
  EXPECT_THROW(find_knee(x, std::vector<double>{3, 2}, cv, dec), InvalidArgument);
  EXPECT_THROW(find_knee(std::vector<double>{1}, std::vector<double>{1}, cv, dec), InvalidArgument);
  EXPECT_THROW(find_knee(std::vector<double>{1, 3, 2}, y, cv, dec), InvalidArgument);
  EXPECT_THROW(find_knee(std::vector<double>{1, 1, 2}, y, cv, dec), InvalidArgument);
  EXPECT_THROW(find_knee(x, std::vector<double>{3, std::nan(""), 1}, cv, dec), InvalidArgument);
  EXPECT_THROW(find_knee(std::vector<double>{1, 2, std::numeric_limits<double>::infinity()}, y, cv, dec),
               InvalidArgument);
  EXPECT_THROW(find_knee(x, y, cv, dec, std::nan("")), InvalidArgument);
}
