#include <algorithm>
#include <cmath>
#include <string>

#include "metrics/labels.hpp"
#include "metrics/silhouette_engine.hpp"
#include "metrics/validate.hpp"
#include "segmenta/metrics.hpp"

namespace segmenta {

namespace detail {

// Blocked summation: the rounding error grows with ~(n / 1024 + 1024) terms rather
// than n, close to numpy's pairwise mean (scikit-learn's np.mean of the samples).
double silhouette_mean(const std::vector<double>& v) {
  constexpr std::size_t block = 1024;
  double total = 0.0;
  for (std::size_t b = 0; b < v.size(); b += block) {
    double s = 0.0;
    const std::size_t e = std::min(v.size(), b + block);
    for (std::size_t i = b; i < e; ++i) s += v[i];
    total += s;
  }
  return total / static_cast<double>(v.size());
}

}  // namespace detail

namespace {
using detail::silhouette_mean;
}  // namespace

template <class T>
std::vector<double> silhouette_samples(MatrixView<T> x, Labels labels) {
  detail::check_data(x, labels, "silhouette_samples");
  const detail::EncodedLabels enc = detail::encode_labels(labels);
  detail::check_number_of_labels(enc, "labels");
  auto out = detail::silhouette_engine(x, {&enc}, {});
  return std::move(out[0]);
}

template <class T>
double silhouette_score(MatrixView<T> x, Labels labels) {
  return silhouette_mean(silhouette_samples(x, labels));
}

template <class T>
std::vector<std::vector<double>> silhouette_samples_many(MatrixView<T> x, const std::vector<Labels>& labelings) {
  std::vector<detail::EncodedLabels> enc;
  enc.reserve(labelings.size());
  for (std::size_t l = 0; l < labelings.size(); ++l) {
    const std::string name = "labelings[" + std::to_string(l) + "]";
    detail::check_data(x, labelings[l], name);
    enc.push_back(detail::encode_labels(labelings[l]));
    detail::check_number_of_labels(enc.back(), name);
  }
  std::vector<const detail::EncodedLabels*> ptrs;
  for (const auto& e : enc) ptrs.push_back(&e);
  return detail::silhouette_engine(x, ptrs, {});
}

template <class T>
double silhouette_score_sampled(MatrixView<T> x, Labels labels, std::size_t sample_size, std::uint64_t random_state) {
  detail::check_data(x, labels, "silhouette_score_sampled");
  if (sample_size == 0) throw InvalidArgument("sample_size: must be at least 1");
  const std::size_t n = x.rows();
  if (sample_size >= n) return silhouette_score(x, labels);
  Rng rng(random_state);
  const std::vector<std::size_t> rows = rng.sample_without_replacement(n, sample_size);
  const Matrix<T> xs = take_rows<T, std::size_t>(x, rows);
  std::vector<std::int32_t> ls(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) ls[r] = labels[rows[r]];
  const detail::EncodedLabels enc = detail::encode_labels(ls);
  detail::check_number_of_labels(enc, "labels (in the sample of sample_size rows)");
  auto out = detail::silhouette_engine(xs.view(), {&enc}, {});
  return silhouette_mean(out[0]);
}

template std::vector<double> silhouette_samples<double>(MatrixView<double>, Labels);
template std::vector<double> silhouette_samples<float>(MatrixView<float>, Labels);
template double silhouette_score<double>(MatrixView<double>, Labels);
template double silhouette_score<float>(MatrixView<float>, Labels);
template std::vector<std::vector<double>> silhouette_samples_many<double>(MatrixView<double>,
                                                                          const std::vector<Labels>&);
template std::vector<std::vector<double>> silhouette_samples_many<float>(MatrixView<float>, const std::vector<Labels>&);
template double silhouette_score_sampled<double>(MatrixView<double>, Labels, std::size_t, std::uint64_t);
template double silhouette_score_sampled<float>(MatrixView<float>, Labels, std::size_t, std::uint64_t);

}  // namespace segmenta
