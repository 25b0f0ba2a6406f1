// Rows of a (rows, cols) matrix read one at a time: a matrix view, or rows made on
// demand from a compact form (the k-prototypes space of the mixed methods is built
// from numeric columns and level codes, 51 doubles a row that need not be stored).
// The criteria below read either kind with the same arithmetic in the same order,
// so a space made on demand gives the bits of its materialised matrix.
#pragma once

#include <functional>

#include "segmenta/comm.hpp"
#include "segmenta/core.hpp"
#include "segmenta/metrics.hpp"

namespace segmenta::detail {

template <class T>
class RowSource {
 public:
  /// fill(i, dst) writes row i's cols() values into dst; it must be callable from
  /// several threads at once.
  using Fill = std::function<void(std::size_t, T*)>;
  RowSource(MatrixView<T> view) : n_(view.rows()), p_(view.cols()), view_(view) {}  // NOLINT: a view is a source
  RowSource(std::size_t rows, std::size_t cols, Fill fill) : n_(rows), p_(cols), fill_(std::move(fill)) {}
  std::size_t rows() const noexcept { return n_; }
  std::size_t cols() const noexcept { return p_; }
  /// Row i: the view's own row, or row i written into scratch (cols() values).
  const T* row(std::size_t i, T* scratch) const {
    if (!fill_) return view_.row(i);
    fill_(i, scratch);
    return scratch;
  }

 private:
  std::size_t n_ = 0, p_ = 0;
  MatrixView<T> view_{};
  Fill fill_;
};

/// The public metrics' input checks for a source (sizes; every value finite).
template <class T>
void check_rows(const RowSource<T>& x, Labels labels);

/// silhouette_estimate, calinski_harabasz_score and davies_bouldin_score of a row
/// source: bit for bit the public functions' results on the materialised matrix.
/// The estimate holds the sampled rows and at most a panel of kEstimatePanelUnits
/// other rows at a time, never a copy of every row. With `comm` (several ranks, all
/// calling with the same arguments) each rank computes the distance sums of its share
/// of the sampled rows' blocks and the sums are gathered: the same bits as one
/// process. `computed_rows`, when set, is increased by the sampled rows this rank
/// computed.
template <class T>
SilhouetteEstimate silhouette_estimate_rows(const RowSource<T>& x, Labels labels, std::size_t sample_rows,
                                            std::uint64_t random_state,
                                            std::vector<SilhouetteSampleRow>* rows_out = nullptr,
                                            const Communicator* comm = nullptr, std::size_t* computed_rows = nullptr);
/// Calinski-Harabasz and Davies-Bouldin: with `comm` (several ranks, the same
/// arguments on every rank) each rank reads only the rows of its share of the
/// 4,096-row blocks (detail::BlockShare) and their labels: the label values are each
/// rank's distinct values united, the cluster sizes exact integer sums, and the means
/// and the per-cluster sums of distances are added in row order by running sums passed
/// along the ranks (fold_own_blocks), so what travels is O(k p) values a rank, not a
/// value a row: the same bits as one process. Rows outside this rank's share (and
/// their labels) are not read; only labels.size() must be the row count.
template <class T>
double calinski_harabasz_rows(const RowSource<T>& x, Labels labels, const Communicator* comm = nullptr);
template <class T>
double davies_bouldin_rows(const RowSource<T>& x, Labels labels, const Communicator* comm = nullptr);

}  // namespace segmenta::detail
