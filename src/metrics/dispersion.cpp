#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "core/block_share.hpp"
#include "metrics/labels.hpp"
#include "metrics/row_source.hpp"
#include "metrics/validate.hpp"
#include "segmenta/metrics.hpp"

namespace segmenta {

namespace {

template <class T>
double sq_dist_to(const T* r, const double* c, std::size_t p) {
  double s = 0.0;
  for (std::size_t j = 0; j < p; ++j) {
    const double d = static_cast<double>(r[j]) - c[j];
    s += d * d;
  }
  return s;
}

// The sums below run over the rows in row order, each value on its own accumulator,
// as numpy's X[labels == k].mean(axis=0) and scikit-learn's per-cluster sums add
// them. With a communicator of several ranks, rank r reads only the rows of its share
// of the 4,096-row blocks (detail::BlockShare) and their labels; the shares are
// consecutive ranges of blocks in rank order, so the same additions in the same order
// are made by passing the running sums along the ranks (fold_own_blocks): rank 0 adds
// its rows to the zeros one process starts from, rank 1 continues from its values,
// and so on. What travels is the running sums ((k + 1) p values, then k), the ranks'
// distinct label values and the clusters' row counts (integers, exact), never a value
// per row: every result is bit for bit that of one process, which takes the same path
// over every block.

struct OwnRows {
  Blocks blocks{0, 4096};
  detail::BlockShare share;    // every block for one process
  std::size_t r0 = 0, r1 = 0;  // this rank's rows [r0, r1)
  static OwnRows of(std::size_t n, const Communicator* comm) {
    OwnRows o;
    o.blocks = Blocks{n, 4096};
    o.share = detail::BlockShare::of(comm, o.blocks.count());
    o.r0 = o.share.begin_row(o.blocks);
    o.r1 = o.share.end_row(o.blocks);
    return o;
  }
};

// encode_labels over every rank's rows, from this rank's labels: the codes of this
// rank's rows (codes[i - r0]), the counts and values of all the rows. The codes
// number the values present in any rank's rows (the union of each rank's distinct
// values, k a rank at most) in increasing order, as encode_labels numbers them; the
// counts are exact integer sums.
detail::EncodedLabels encode_own_labels(Labels labels, const OwnRows& own) {
  if (!own.share.distributed()) return detail::encode_labels(labels);
  detail::EncodedLabels mine = detail::encode_labels(labels.subspan(own.r0, own.r1 - own.r0));
  const std::vector<std::int64_t> local(mine.values.begin(), mine.values.end());
  std::vector<std::int64_t> all = own.share.comm->allgather(local);
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  detail::EncodedLabels out;
  out.values.assign(all.begin(), all.end());
  std::vector<std::int32_t> to_global(mine.k());
  std::vector<std::int64_t> counts(all.size(), 0);
  for (std::size_t c = 0; c < mine.k(); ++c) {
    const auto g = static_cast<std::size_t>(std::lower_bound(all.begin(), all.end(), local[c]) - all.begin());
    to_global[c] = static_cast<std::int32_t>(g);
    counts[g] = static_cast<std::int64_t>(mine.counts[c]);
  }
  for (std::int32_t& c : mine.codes) c = to_global[static_cast<std::size_t>(c)];
  out.codes = std::move(mine.codes);
  const std::vector<std::int64_t> total = own.share.comm->allreduce_sum(counts);
  out.counts.assign(total.begin(), total.end());
  return out;
}

// The cluster means (k, p) and, when `mean` is set, the overall mean (p): each value
// the sum of its rows in row order divided by their count.
template <class T>
std::vector<double> cluster_means(const detail::RowSource<T>& x, const detail::EncodedLabels& enc, const OwnRows& own,
                                  std::vector<double>* mean = nullptr) {
  const std::size_t p = x.cols(), k = enc.k(), off = mean ? p : 0;
  std::vector<double> sums(off + k * p, 0.0);
  std::vector<T> scratch(p);
  detail::fold_own_blocks(own.share, own.blocks.count(), sums, [&](std::size_t b, std::span<double> running) {
    for (std::size_t i = own.blocks.begin(b); i < own.blocks.end(b); ++i) {
      const T* r = x.row(i, scratch.data());
      if (mean)
        for (std::size_t j = 0; j < p; ++j) running[j] += static_cast<double>(r[j]);
      double* m = running.data() + off + static_cast<std::size_t>(enc.codes[i - own.r0]) * p;
      for (std::size_t j = 0; j < p; ++j) m[j] += static_cast<double>(r[j]);
    }
  });
  if (mean) {
    mean->assign(sums.begin(), sums.begin() + static_cast<std::ptrdiff_t>(p));
    for (double& v : *mean) v /= static_cast<double>(x.rows());
  }
  std::vector<double> means(sums.begin() + static_cast<std::ptrdiff_t>(off), sums.end());
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t j = 0; j < p; ++j) means[c * p + j] /= static_cast<double>(enc.counts[c]);
  return means;
}

// Per-cluster sums of f(squared distance to the cluster mean), added per cluster in
// row order and then over clusters in label order (the order scikit-learn and
// yellowbrick use): the terms of this rank's rows on its threads, then their sums
// along the ranks.
template <class T, class F>
double per_cluster_sum(const detail::RowSource<T>& x, const detail::EncodedLabels& enc, const OwnRows& own,
                       const std::vector<double>& means, F f, std::vector<double>* per_cluster = nullptr) {
  const std::size_t p = x.cols();
  std::vector<double> term(own.r1 - own.r0, 0.0);
  detail::parallel_own_blocks(own.blocks, own.share, [&](std::size_t b, std::size_t e, std::size_t) {
    std::vector<T> scratch(p);
    for (std::size_t i = b; i < e; ++i) {
      const auto c = static_cast<std::size_t>(enc.codes[i - own.r0]);
      term[i - own.r0] = f(sq_dist_to(x.row(i, scratch.data()), means.data() + c * p, p));
    }
  });
  std::vector<double> sums(enc.k(), 0.0);
  detail::fold_own_blocks(own.share, own.blocks.count(), sums, [&](std::size_t b, std::span<double> running) {
    for (std::size_t i = own.blocks.begin(b); i < own.blocks.end(b); ++i)
      running[static_cast<std::size_t>(enc.codes[i - own.r0])] += term[i - own.r0];
  });
  double total = 0.0;
  for (double v : sums) total += v;
  if (per_cluster) *per_cluster = std::move(sums);
  return total;
}

template <class T>
double calinski_harabasz_of(const detail::RowSource<T>& x, Labels labels, const Communicator* comm = nullptr) {
  const std::size_t n = x.rows(), p = x.cols();
  const OwnRows own = OwnRows::of(n, comm);
  const detail::EncodedLabels enc = encode_own_labels(labels, own);
  detail::check_number_of_labels(enc.k(), n, "labels");
  std::vector<double> mean;
  const std::vector<double> means = cluster_means(x, enc, own, &mean);
  const std::size_t k = enc.k();
  double extra = 0.0;
  for (std::size_t c = 0; c < k; ++c) {
    double s = 0.0;
    for (std::size_t j = 0; j < p; ++j) {
      const double d = means[c * p + j] - mean[j];
      s += d * d;
    }
    extra += static_cast<double>(enc.counts[c]) * s;
  }
  const double intra = per_cluster_sum(x, enc, own, means, [](double d2) { return d2; });
  if (intra == 0.0) return 1.0;
  return extra * static_cast<double>(n - k) / (intra * (static_cast<double>(k) - 1.0));
}

template <class T>
double davies_bouldin_of(const detail::RowSource<T>& x, Labels labels, const Communicator* comm = nullptr) {
  const std::size_t p = x.cols();
  const OwnRows own = OwnRows::of(x.rows(), comm);
  const detail::EncodedLabels enc = encode_own_labels(labels, own);
  detail::check_number_of_labels(enc.k(), x.rows(), "labels");
  const std::vector<double> means = cluster_means(x, enc, own);
  std::vector<double> intra;
  per_cluster_sum(x, enc, own, means, [](double d2) { return std::sqrt(d2); }, &intra);
  const std::size_t k = enc.k();
  for (std::size_t c = 0; c < k; ++c) intra[c] /= static_cast<double>(enc.counts[c]);

  // scikit-learn returns 0 when all intra distances or all centroid distances are
  // ~0 (np.allclose(., 0): |v| <= 1e-8), and treats coinciding centroids as +inf apart.
  constexpr double atol = 1e-8;
  const bool intra_zero = std::all_of(intra.begin(), intra.end(), [](double v) { return std::abs(v) <= atol; });
  auto centroid_distance = [&](std::size_t a, std::size_t b) {
    return std::sqrt(sq_dist_to(means.data() + a * p, means.data() + b * p, p));
  };
  bool centroids_zero = true;
  for (std::size_t a = 0; a < k && centroids_zero; ++a)
    for (std::size_t b = a + 1; b < k && centroids_zero; ++b) centroids_zero = centroid_distance(a, b) <= atol;
  if (intra_zero || centroids_zero) return 0.0;

  double total = 0.0;
  for (std::size_t a = 0; a < k; ++a) {
    double worst = 0.0;
    for (std::size_t b = 0; b < k; ++b) {
      if (b == a) continue;
      const double m = centroid_distance(a, b);
      if (m == 0.0) continue;
      worst = std::max(worst, (intra[a] + intra[b]) / m);
    }
    total += worst;
  }
  return total / static_cast<double>(k);
}

}  // namespace

template <class T>
double calinski_harabasz_score(MatrixView<T> x, Labels labels) {
  detail::check_data(x, labels, "calinski_harabasz_score");
  return calinski_harabasz_of(detail::RowSource<T>(x), labels);
}

template <class T>
double davies_bouldin_score(MatrixView<T> x, Labels labels) {
  detail::check_data(x, labels, "davies_bouldin_score");
  return davies_bouldin_of(detail::RowSource<T>(x), labels);
}

template <class T>
double distortion_score(MatrixView<T> x, Labels labels) {
  detail::check_data(x, labels, "distortion_score");
  const detail::RowSource<T> rows(x);
  const OwnRows own = OwnRows::of(rows.rows(), nullptr);
  const detail::EncodedLabels enc = detail::encode_labels(labels);
  const std::vector<double> means = cluster_means(rows, enc, own);
  return per_cluster_sum(rows, enc, own, means, [](double d2) { return d2; });
}

template double calinski_harabasz_score<double>(MatrixView<double>, Labels);
template double calinski_harabasz_score<float>(MatrixView<float>, Labels);
template double davies_bouldin_score<double>(MatrixView<double>, Labels);
template double davies_bouldin_score<float>(MatrixView<float>, Labels);
template double distortion_score<double>(MatrixView<double>, Labels);
template double distortion_score<float>(MatrixView<float>, Labels);

namespace detail {

namespace {

// check_rows' two parts: the sizes, and every value of the rows [begin, end) finite
// (the first that is not, in row order, named).
template <class T>
void check_sizes(const RowSource<T>& x, Labels labels) {
  if (x.rows() != labels.size())
    throw InvalidArgument("labels: " + std::to_string(labels.size()) + " entries for the " + std::to_string(x.rows()) +
                          " rows of x");
  if (x.rows() == 0) throw InvalidArgument("x: no rows");
  if (x.cols() == 0) throw InvalidArgument("x: no columns");
}

template <class T>
void check_finite(const RowSource<T>& x, std::size_t begin, std::size_t end) {
  std::vector<T> scratch(x.cols());
  for (std::size_t i = begin; i < end; ++i) {
    const T* r = x.row(i, scratch.data());
    for (std::size_t j = 0; j < x.cols(); ++j)
      if (!std::isfinite(r[j]))
        throw InvalidArgument("x: the value at row " + std::to_string(i) + ", column " + std::to_string(j) +
                              " is not finite");
  }
}

// check_rows, with several ranks on each rank's own rows: the lowest rank that found a
// value not finite holds the first in row order, and its error is every rank's (the
// one process's message).
template <class T>
void check_own_rows(const RowSource<T>& x, Labels labels, const Communicator* comm) {
  check_sizes(x, labels);
  const OwnRows own = OwnRows::of(x.rows(), comm);
  agree_on_share(own.share, [&] { check_finite(x, own.r0, own.r1); });
}

}  // namespace

template <class T>
void check_rows(const RowSource<T>& x, Labels labels) {
  check_own_rows(x, labels, nullptr);
}

template <class T>
double calinski_harabasz_rows(const RowSource<T>& x, Labels labels, const Communicator* comm) {
  check_own_rows(x, labels, comm);
  return calinski_harabasz_of(x, labels, comm);
}

template <class T>
double davies_bouldin_rows(const RowSource<T>& x, Labels labels, const Communicator* comm) {
  check_own_rows(x, labels, comm);
  return davies_bouldin_of(x, labels, comm);
}

template void check_rows<double>(const RowSource<double>&, Labels);
template void check_rows<float>(const RowSource<float>&, Labels);
template double calinski_harabasz_rows<double>(const RowSource<double>&, Labels, const Communicator*);
template double calinski_harabasz_rows<float>(const RowSource<float>&, Labels, const Communicator*);
template double davies_bouldin_rows<double>(const RowSource<double>&, Labels, const Communicator*);
template double davies_bouldin_rows<float>(const RowSource<float>&, Labels, const Communicator*);

}  // namespace detail

}  // namespace segmenta
