#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/block_share.hpp"
#include "metrics/labels.hpp"
#include "metrics/row_source.hpp"
#include "metrics/validate.hpp"
#include "segmenta/metrics.hpp"

namespace segmenta {

namespace {

// Per-cluster means (k, p) in double, accumulated in row order like numpy's
// X[labels == k].mean(axis=0).
template <class T>
std::vector<double> cluster_means(const detail::RowSource<T>& x, const detail::EncodedLabels& enc) {
  const std::size_t p = x.cols(), k = enc.k();
  std::vector<double> means(k * p, 0.0);
  std::vector<T> scratch(p);
  for (std::size_t i = 0; i < x.rows(); ++i) {
    double* m = means.data() + static_cast<std::size_t>(enc.codes[i]) * p;
    const T* r = x.row(i, scratch.data());
    for (std::size_t j = 0; j < p; ++j) m[j] += static_cast<double>(r[j]);
  }
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t j = 0; j < p; ++j) means[c * p + j] /= static_cast<double>(enc.counts[c]);
  return means;
}

template <class T>
double sq_dist_to(const T* r, const double* c, std::size_t p) {
  double s = 0.0;
  for (std::size_t j = 0; j < p; ++j) {
    const double d = static_cast<double>(r[j]) - c[j];
    s += d * d;
  }
  return s;
}

// Per-cluster sums of f(squared distance to the cluster mean), added per cluster and
// then over clusters in label order (the order scikit-learn and yellowbrick use).
// With `comm` (several ranks) each rank computes the terms f(d²) of its share of the
// rows' blocks, the terms are gathered in row order and every rank adds them in row
// order, as one process does: the same bits.
template <class T, class F>
double per_cluster_sum(const detail::RowSource<T>& x, const detail::EncodedLabels& enc,
                       const std::vector<double>& means, F f, std::vector<double>* per_cluster = nullptr,
                       const Communicator* comm = nullptr) {
  const std::size_t p = x.cols();
  std::vector<double> sums(enc.k(), 0.0);
  if (comm != nullptr && comm->size() > 1) {
    const Blocks blocks{x.rows(), 4096};
    const detail::BlockShare share = detail::BlockShare::of(comm, blocks.count());
    std::vector<double> term(x.rows(), 0.0);
    detail::parallel_own_blocks(blocks, share, [&](std::size_t b, std::size_t e, std::size_t) {
      std::vector<T> scratch(p);
      for (std::size_t i = b; i < e; ++i) {
        const auto c = static_cast<std::size_t>(enc.codes[i]);
        term[i] = f(sq_dist_to(x.row(i, scratch.data()), means.data() + c * p, p));
      }
    });
    detail::gather_block_rows(share, blocks, 1, term.data(), "dispersion");
    for (std::size_t i = 0; i < x.rows(); ++i) sums[static_cast<std::size_t>(enc.codes[i])] += term[i];
    double total = 0.0;
    for (double v : sums) total += v;
    if (per_cluster) *per_cluster = std::move(sums);
    return total;
  }
  std::vector<T> scratch(p);
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const auto c = static_cast<std::size_t>(enc.codes[i]);
    sums[c] += f(sq_dist_to(x.row(i, scratch.data()), means.data() + c * p, p));
  }
  double total = 0.0;
  for (double s : sums) total += s;
  if (per_cluster) *per_cluster = std::move(sums);
  return total;
}

template <class T>
double calinski_harabasz_of(const detail::RowSource<T>& x, Labels labels, const Communicator* comm = nullptr) {
  const detail::EncodedLabels enc = detail::encode_labels(labels);
  detail::check_number_of_labels(enc, "labels");
  const std::size_t n = x.rows(), p = x.cols(), k = enc.k();
  std::vector<double> mean(p, 0.0);
  std::vector<T> scratch(p);
  for (std::size_t i = 0; i < n; ++i) {
    const T* r = x.row(i, scratch.data());
    for (std::size_t j = 0; j < p; ++j) mean[j] += static_cast<double>(r[j]);
  }
  for (double& v : mean) v /= static_cast<double>(n);
  const std::vector<double> means = cluster_means(x, enc);
  double extra = 0.0;
  for (std::size_t c = 0; c < k; ++c) {
    double s = 0.0;
    for (std::size_t j = 0; j < p; ++j) {
      const double d = means[c * p + j] - mean[j];
      s += d * d;
    }
    extra += static_cast<double>(enc.counts[c]) * s;
  }
  const double intra = per_cluster_sum(x, enc, means, [](double d2) { return d2; }, nullptr, comm);
  if (intra == 0.0) return 1.0;
  return extra * static_cast<double>(n - k) / (intra * (static_cast<double>(k) - 1.0));
}

template <class T>
double davies_bouldin_of(const detail::RowSource<T>& x, Labels labels, const Communicator* comm = nullptr) {
  const detail::EncodedLabels enc = detail::encode_labels(labels);
  detail::check_number_of_labels(enc, "labels");
  const std::size_t p = x.cols(), k = enc.k();
  const std::vector<double> means = cluster_means(x, enc);
  std::vector<double> intra;
  per_cluster_sum(
      x, enc, means, [](double d2) { return std::sqrt(d2); }, &intra, comm);
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
  const detail::EncodedLabels enc = detail::encode_labels(labels);
  const detail::RowSource<T> rows(x);
  const std::vector<double> means = cluster_means(rows, enc);
  return per_cluster_sum(rows, enc, means, [](double d2) { return d2; });
}

template double calinski_harabasz_score<double>(MatrixView<double>, Labels);
template double calinski_harabasz_score<float>(MatrixView<float>, Labels);
template double davies_bouldin_score<double>(MatrixView<double>, Labels);
template double davies_bouldin_score<float>(MatrixView<float>, Labels);
template double distortion_score<double>(MatrixView<double>, Labels);
template double distortion_score<float>(MatrixView<float>, Labels);

namespace detail {

template <class T>
void check_rows(const RowSource<T>& x, Labels labels) {
  if (x.rows() != labels.size())
    throw InvalidArgument("labels: " + std::to_string(labels.size()) + " entries for the " + std::to_string(x.rows()) +
                          " rows of x");
  if (x.rows() == 0) throw InvalidArgument("x: no rows");
  if (x.cols() == 0) throw InvalidArgument("x: no columns");
  std::vector<T> scratch(x.cols());
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const T* r = x.row(i, scratch.data());
    for (std::size_t j = 0; j < x.cols(); ++j)
      if (!std::isfinite(r[j]))
        throw InvalidArgument("x: the value at row " + std::to_string(i) + ", column " + std::to_string(j) +
                              " is not finite");
  }
}

template <class T>
double calinski_harabasz_rows(const RowSource<T>& x, Labels labels, const Communicator* comm) {
  check_rows(x, labels);
  return calinski_harabasz_of(x, labels, comm);
}

template <class T>
double davies_bouldin_rows(const RowSource<T>& x, Labels labels, const Communicator* comm) {
  check_rows(x, labels);
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
