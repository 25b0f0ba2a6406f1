// Input checks shared by the metrics' public entry points.
#pragma once

#include <cmath>
#include <string>
#include <string_view>

#include "segmenta/core.hpp"
#include "segmenta/metrics.hpp"

namespace segmenta::detail {

/// x (n, p) must have n >= 1 rows, p >= 1 columns, only finite values (as
/// scikit-learn's check_X_y), and as many rows as there are labels.
template <class T>
void check_data(MatrixView<T> x, Labels labels, std::string_view what) {
  // Messages name the parameter (x, labels), not the metric: `what` is kept for callers.
  (void)what;
  if (x.rows() != labels.size())
    throw InvalidArgument("labels: " + std::to_string(labels.size()) + " entries for the " + std::to_string(x.rows()) +
                          " rows of x");
  if (x.rows() == 0) throw InvalidArgument("x: no rows");
  if (x.cols() == 0) throw InvalidArgument("x: no columns");
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const T* r = x.row(i);
    for (std::size_t j = 0; j < x.cols(); ++j)
      if (!std::isfinite(r[j]))
        throw InvalidArgument("x: the value at row " + std::to_string(i) + ", column " + std::to_string(j) +
                              " is not finite");
  }
}

}  // namespace segmenta::detail
