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
  const std::string w(what);
  if (x.rows() != labels.size())
    throw InvalidArgument(w + ": x has " + std::to_string(x.rows()) + " rows but labels has " +
                          std::to_string(labels.size()) + " entries");
  if (x.rows() == 0) throw InvalidArgument(w + ": x has no rows");
  if (x.cols() == 0) throw InvalidArgument(w + ": x has no columns");
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const T* r = x.row(i);
    for (std::size_t j = 0; j < x.cols(); ++j)
      if (!std::isfinite(r[j]))
        throw InvalidArgument(w + ": x(" + std::to_string(i) + ", " + std::to_string(j) + ") is not finite");
  }
}

}  // namespace segmenta::detail
