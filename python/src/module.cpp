// segmenta._core: the engine's entry points for the Python package.
//
// This layer only converts: numpy arrays in (read in place when they are
// C-contiguous float64, or float32 where the engine has a float path; the Python
// layer makes every other layout contiguous first), numpy arrays and plain dicts out.
// The GIL is released while the engine computes. segmenta's exceptions become
// ValueError (bad parameters and data, model files) or OSError (files); the
// scikit-learn-style classes and the DataFrame pipeline live in the Python package.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <charconv>
#include <memory>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include "segmenta/cluster.hpp"
#include "segmenta/core.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/io.hpp"
#include "segmenta/metrics.hpp"
#include "segmenta/outliers.hpp"
#include "segmenta/pipeline.hpp"
#include "segmenta/prep.hpp"
#include "segmenta/reduce.hpp"

namespace py = pybind11;
using namespace segmenta;

namespace {

template <class T>
using CArray = py::array_t<T, py::array::c_style>;

/// A read-only view of a 2-D C-contiguous array (the Python layer guarantees the layout).
template <class T>
MatrixView<T> view2(const CArray<T>& a, const char* what) {
  if (a.ndim() != 2) throw InvalidArgument(std::string(what) + ": expected a 2-D array");
  return MatrixView<T>(a.data(), static_cast<std::size_t>(a.shape(0)), static_cast<std::size_t>(a.shape(1)));
}

template <class T>
std::span<const T> span1(const CArray<T>& a, const char* what) {
  if (a.ndim() != 1) throw InvalidArgument(std::string(what) + ": expected a 1-D array");
  return std::span<const T>(a.data(), static_cast<std::size_t>(a.shape(0)));
}

/// A new numpy array owning a copy of m (rows, cols).
template <class T>
py::array_t<T> to_numpy(const Matrix<T>& m) {
  py::array_t<T> out({m.rows(), m.cols()});
  if (m.size()) std::memcpy(out.mutable_data(), m.data(), m.size() * sizeof(T));
  return out;
}

template <class T, class A>
py::array_t<T> to_numpy(const std::vector<T, A>& v) {
  py::array_t<T> out(v.size());
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(T));
  return out;
}

py::array_t<std::uint8_t> to_numpy_u8(const std::vector<std::uint8_t>& v) { return to_numpy<std::uint8_t>(v); }

template <class T>
Matrix<T> from_numpy(const CArray<T>& a, const char* what) {
  return Matrix<T>(view2<T>(a, what));
}

// ---------------------------------------------------------------------------
// k-means
// ---------------------------------------------------------------------------

template <class T>
py::dict kmeans_fit(const CArray<T>& x, std::size_t n_clusters, std::size_t n_init, std::size_t max_iter,
                    double tol, std::uint64_t seed, const std::string& init, std::optional<CArray<T>> init_centers) {
  KMeansParams p;
  p.n_clusters = n_clusters;
  p.n_init = n_init;
  p.max_iter = max_iter;
  p.tol = tol;
  p.random_state = seed;
  if (init == "k-means++")
    p.init = KMeansInit::kmeans_plus_plus;
  else if (init == "random")
    p.init = KMeansInit::random;
  else if (!init_centers)
    throw InvalidArgument("init: must be 'k-means++', 'random' or an array of shape (n_clusters, n_features)");
  const MatrixView<T> xv = view2<T>(x, "X");
  KMeansModel<T> m;
  {
    py::gil_scoped_release release;
    if (init_centers)
      m = fit_kmeans_from<T>(xv, view2<T>(*init_centers, "init"), p);
    else
      m = fit_kmeans<T>(xv, p);
  }
  py::dict d;
  d["cluster_centers"] = to_numpy(m.centers);
  d["labels"] = to_numpy(m.labels);
  d["inertia"] = m.inertia;
  d["n_iter"] = m.n_iter;
  d["converged"] = m.converged;
  return d;
}

template <class T>
py::array_t<std::int32_t> kmeans_predict(const CArray<T>& centers, const CArray<T>& x) {
  KMeansModel<T> m;
  m.centers = from_numpy<T>(centers, "cluster_centers_");
  std::vector<std::int32_t> labels;
  {
    py::gil_scoped_release release;
    labels = m.predict(view2<T>(x, "X"));
  }
  return to_numpy(labels);
}

template <class T>
py::array_t<T> kmeans_transform(const CArray<T>& centers, const CArray<T>& x) {
  KMeansModel<T> m;
  m.centers = from_numpy<T>(centers, "cluster_centers_");
  Matrix<T> d;
  {
    py::gil_scoped_release release;
    d = m.transform(view2<T>(x, "X"));
  }
  return to_numpy(d);
}

// ---------------------------------------------------------------------------
// k-prototypes
// ---------------------------------------------------------------------------

py::dict kprototypes_fit(const CArray<double>& numeric, const CArray<std::int32_t>& codes, std::size_t n_clusters,
                         std::size_t n_init, std::size_t max_iter, const std::string& init, std::optional<double> gamma,
                         std::uint64_t seed, bool batch, std::optional<CArray<double>> init_centroids,
                         std::optional<CArray<std::int32_t>> init_modes) {
  KPrototypesParams p;
  p.n_clusters = n_clusters;
  p.n_init = n_init;
  p.max_iter = max_iter;
  if (init == "Huang" || init == "huang")
    p.init = KPrototypesInit::huang;
  else if (init == "Cao" || init == "cao")
    p.init = KPrototypesInit::cao;
  else if (!init_centroids)
    throw InvalidArgument("init: must be 'Huang', 'Cao' or a list [centroids, modes]");
  p.gamma = gamma;
  p.random_state = seed;
  p.algorithm = batch ? KPrototypesAlgorithm::batch : KPrototypesAlgorithm::online;
  const ViewD nv = view2<double>(numeric, "numeric part");
  const MatrixView<std::int32_t> cv = view2<std::int32_t>(codes, "categorical part");
  KPrototypesModel m;
  {
    py::gil_scoped_release release;
    if (init_centroids && init_modes)
      m = fit_kprototypes_from(nv, cv, view2<double>(*init_centroids, "init"), view2<std::int32_t>(*init_modes, "init"), p);
    else
      m = fit_kprototypes(nv, cv, p);
  }
  py::dict d;
  d["centroids"] = to_numpy(m.centroids);
  d["modes"] = to_numpy(m.modes);
  d["labels"] = to_numpy(m.labels);
  d["cost"] = m.cost;
  d["gamma"] = m.gamma;
  d["n_iter"] = m.n_iter;
  d["epoch_costs"] = to_numpy(m.epoch_costs);
  d["n_categories"] = to_numpy(m.n_categories);
  d["converged"] = m.converged;
  return d;
}

KPrototypesModel kprototypes_model(const CArray<double>& centroids, const CArray<std::int32_t>& modes, double gamma,
                                   const CArray<std::int32_t>& n_categories) {
  KPrototypesModel m;
  m.centroids = from_numpy<double>(centroids, "centroids");
  m.modes = from_numpy<std::int32_t>(modes, "modes");
  m.gamma = gamma;
  auto nc = span1<std::int32_t>(n_categories, "n_categories");
  m.n_categories.assign(nc.begin(), nc.end());
  return m;
}

py::array_t<std::int32_t> kprototypes_predict(const CArray<double>& centroids, const CArray<std::int32_t>& modes,
                                              double gamma, const CArray<std::int32_t>& n_categories,
                                              const CArray<double>& numeric, const CArray<std::int32_t>& codes) {
  const KPrototypesModel m = kprototypes_model(centroids, modes, gamma, n_categories);
  std::vector<std::int32_t> labels;
  {
    py::gil_scoped_release release;
    labels = m.predict(view2<double>(numeric, "numeric part"), view2<std::int32_t>(codes, "categorical part"));
  }
  return to_numpy(labels);
}

py::array_t<double> kprototypes_dissimilarities(const CArray<double>& centroids, const CArray<std::int32_t>& modes,
                                                double gamma, const CArray<std::int32_t>& n_categories,
                                                const CArray<double>& numeric, const CArray<std::int32_t>& codes) {
  const KPrototypesModel m = kprototypes_model(centroids, modes, gamma, n_categories);
  MatrixD d;
  {
    py::gil_scoped_release release;
    d = m.dissimilarities(view2<double>(numeric, "numeric part"), view2<std::int32_t>(codes, "categorical part"));
  }
  return to_numpy(d);
}

// ---------------------------------------------------------------------------
// The latent-class model
// ---------------------------------------------------------------------------

std::vector<std::int32_t> levels_of(const CArray<std::int32_t>& n_categories) {
  auto s = span1<std::int32_t>(n_categories, "n_categories");
  return std::vector<std::int32_t>(s.begin(), s.end());
}

py::dict lca_fit(const CArray<double>& numeric, const CArray<std::int32_t>& codes,
                 const CArray<std::int32_t>& n_categories, std::size_t k, std::size_t n_init, std::size_t max_iter,
                 std::size_t short_iter, double tol, double variance_floor, double smoothing, std::uint64_t seed) {
  LcaParams p;
  p.n_components = k;
  p.n_init = n_init;
  p.max_iter = max_iter;
  p.short_iter = short_iter;
  p.tol = tol;
  p.variance_floor = variance_floor;
  p.smoothing = smoothing;
  p.random_state = seed;
  const std::vector<std::int32_t> levels = levels_of(n_categories);
  const ViewD nv = view2<double>(numeric, "numeric part");
  const MatrixView<std::int32_t> cv = view2<std::int32_t>(codes, "categorical part");
  LcaModel m;
  {
    py::gil_scoped_release release;
    m = fit_lca(nv, cv, levels, p);
  }
  py::dict d;
  d["weights"] = to_numpy(m.weights);
  d["means"] = to_numpy(m.means);
  d["variances"] = to_numpy(m.variances);
  py::list probs;
  for (const MatrixD& t : m.probabilities) probs.append(to_numpy(t));
  d["probabilities"] = probs;
  d["variance_floors"] = to_numpy(m.variance_floors);
  d["smoothing"] = m.smoothing;
  d["posterior"] = to_numpy(m.posterior);
  d["labels"] = to_numpy(m.labels);
  d["log_likelihood"] = m.log_likelihood;
  d["objective"] = m.objective;
  d["bic"] = m.bic;
  d["aic"] = m.aic;
  d["icl"] = m.icl;
  d["entropy_r2"] = m.entropy_r2;
  d["n_parameters"] = m.n_parameters;
  d["n_iter"] = m.n_iter;
  d["converged"] = m.converged;
  return d;
}

py::array_t<double> lca_predict_proba(const CArray<double>& weights, const CArray<double>& means,
                                      const CArray<double>& variances, const py::list& probabilities,
                                      const CArray<double>& variance_floors, double smoothing,
                                      const CArray<double>& numeric, const CArray<std::int32_t>& codes) {
  LcaModel m;
  auto w = span1<double>(weights, "weights_");
  m.weights.assign(w.begin(), w.end());
  m.means = from_numpy<double>(means, "means_");
  m.variances = from_numpy<double>(variances, "variances_");
  for (const py::handle t : probabilities) m.probabilities.push_back(from_numpy<double>(t.cast<CArray<double>>(), "probabilities"));
  auto f = span1<double>(variance_floors, "variance floors");
  m.variance_floors.assign(f.begin(), f.end());
  m.smoothing = smoothing;
  MatrixD out;
  {
    py::gil_scoped_release release;
    out = m.predict_proba(view2<double>(numeric, "numeric part"), view2<std::int32_t>(codes, "categorical part"));
  }
  return to_numpy(out);
}

py::array_t<double> lca_initial(const CArray<double>& numeric, const CArray<std::int32_t>& codes,
                                const CArray<std::int32_t>& n_categories, std::size_t k, std::uint64_t seed,
                                std::size_t start) {
  const std::vector<std::int32_t> levels = levels_of(n_categories);
  return to_numpy(lca_initial_responsibilities(view2<double>(numeric, "numeric part"),
                                               view2<std::int32_t>(codes, "categorical part"), levels, k, seed, start));
}

// ---------------------------------------------------------------------------
// ECOD
// ---------------------------------------------------------------------------

py::dict ecod_fit(const CArray<double>& x, double contamination) {
  EcodParams p;
  p.contamination = contamination;
  EcodModel m;
  {
    py::gil_scoped_release release;
    m = fit_ecod(view2<double>(x, "X"), p);
  }
  py::dict d;
  d["decision_scores"] = to_numpy(m.decision_scores());
  d["labels"] = to_numpy_u8(m.labels());
  d["threshold"] = m.threshold();
  // The training columns as distinct values with counts, all features end to end:
  // feature j holds distinct[j] entries.
  std::vector<double> values;
  std::vector<std::int64_t> counts, distinct;
  for (std::size_t j = 0; j < m.n_features(); ++j) {
    const EcodColumn& c = m.column(j);
    values.insert(values.end(), c.values.begin(), c.values.end());
    for (std::size_t k = 0; k < c.values.size(); ++k) counts.push_back(static_cast<std::int64_t>(c.count(k)));
    distinct.push_back(static_cast<std::int64_t>(c.values.size()));
  }
  d["values"] = to_numpy(values);
  d["counts"] = to_numpy(counts);
  d["distinct"] = to_numpy(distinct);
  d["n_train"] = m.n_train();
  std::vector<std::int32_t> signs(m.skew_sign().begin(), m.skew_sign().end());
  d["skew_sign"] = to_numpy(signs);
  return d;
}

py::array_t<double> ecod_score(const CArray<double>& values, const CArray<std::int64_t>& counts,
                               const CArray<std::int64_t>& distinct, std::uint64_t n_train,
                               const CArray<std::int32_t>& skew_sign, double threshold, double contamination,
                               const CArray<double>& x, bool training) {
  auto s = span1<std::int32_t>(skew_sign, "skew_sign");
  auto v = span1<double>(values, "values");
  auto c = span1<std::int64_t>(counts, "counts");
  auto d = span1<std::int64_t>(distinct, "distinct");
  if (c.size() != v.size()) throw InvalidArgument("counts: one count per value expected");
  std::vector<std::vector<double>> column_values;
  std::vector<std::vector<std::uint64_t>> column_counts;
  std::size_t at = 0;
  for (const std::int64_t len : d) {
    if (len < 0 || static_cast<std::size_t>(len) > v.size() - at)
      throw InvalidArgument("distinct: the lengths do not match the values");
    column_values.emplace_back(v.begin() + at, v.begin() + at + len);
    std::vector<std::uint64_t>& cc = column_counts.emplace_back();
    for (std::size_t k = at; k < at + static_cast<std::size_t>(len); ++k)
      cc.push_back(c[k] < 0 ? 0 : static_cast<std::uint64_t>(c[k]));
    at += static_cast<std::size_t>(len);
  }
  if (at != v.size()) throw InvalidArgument("distinct: the lengths do not match the values");
  EcodModel m = EcodModel::from_parts(std::move(column_values), std::move(column_counts), n_train,
                                      std::vector<int>(s.begin(), s.end()), threshold, contamination);
  std::vector<double> scores;
  {
    py::gil_scoped_release release;
    const ViewD xv = view2<double>(x, "X");
    scores = training && m.is_training_set(xv) ? m.score_training(xv) : m.score(xv);
  }
  return to_numpy(scores);
}

// ---------------------------------------------------------------------------
// PCA, MCA, FAMD, t-SNE
// ---------------------------------------------------------------------------

py::dict pca_fit(const CArray<double>& x, std::size_t n_components, bool center, bool standardize) {
  PcaParams p;
  p.n_components = n_components;
  p.center = center;
  p.standardize = standardize;
  PcaModel m;
  {
    py::gil_scoped_release release;
    m = fit_pca<double>(view2<double>(x, "X"), p);
  }
  py::dict d;
  d["mean"] = to_numpy(m.mean);
  d["scale"] = to_numpy(m.scale);
  d["components"] = to_numpy(m.components);
  d["singular_values"] = to_numpy(m.singular_values);
  d["eigenvalues"] = to_numpy(m.eigenvalues);
  d["explained_variance"] = to_numpy(m.explained_variance);
  d["explained_variance_ratio"] = to_numpy(m.explained_variance_ratio);
  d["percentage_of_variance"] = to_numpy(m.percentage_of_variance);
  d["cumulative_percentage_of_variance"] = to_numpy(m.cumulative_percentage_of_variance);
  d["total_inertia"] = m.total_inertia;
  d["column_correlations"] = to_numpy(m.column_correlations);
  d["row_coordinates"] = to_numpy(m.row_coordinates);
  return d;
}

py::dict mca_fit(const CArray<std::int32_t>& codes, std::size_t n_components) {
  McaParams p;
  p.n_components = n_components;
  McaModel m;
  {
    py::gil_scoped_release release;
    m = fit_mca(view2<std::int32_t>(codes, "X"), p);
  }
  py::dict d;
  d["indicator_variable"] = to_numpy(m.indicator_variable);
  d["indicator_code"] = to_numpy(m.indicator_code);
  d["column_masses"] = to_numpy(m.column_masses);
  d["eigenvalues"] = to_numpy(m.eigenvalues);
  d["percentage_of_variance"] = to_numpy(m.percentage_of_variance);
  d["cumulative_percentage_of_variance"] = to_numpy(m.cumulative_percentage_of_variance);
  d["total_inertia"] = m.total_inertia;
  d["row_coordinates"] = to_numpy(m.row_coordinates);
  d["column_coordinates"] = to_numpy(m.column_coordinates);
  d["column_standard_coordinates"] = to_numpy(m.column_standard_coordinates);
  return d;
}

py::dict famd_fit(const CArray<double>& numeric, const CArray<std::int32_t>& codes, std::size_t n_components) {
  FamdParams p;
  p.n_components = n_components;
  FamdModel m;
  {
    py::gil_scoped_release release;
    m = fit_famd(view2<double>(numeric, "numeric part"), view2<std::int32_t>(codes, "categorical part"), p);
  }
  py::dict d;
  d["eigenvalues"] = to_numpy(m.eigenvalues);
  d["percentage_of_variance"] = to_numpy(m.percentage_of_variance);
  d["cumulative_percentage_of_variance"] = to_numpy(m.cumulative_percentage_of_variance);
  d["total_inertia"] = m.total_inertia;
  d["row_coordinates"] = to_numpy(m.row_coordinates);
  d["numeric_correlations"] = to_numpy(m.numeric_correlations);
  d["category_coordinates"] = to_numpy(m.category_coordinates);
  d["indicator_variable"] = to_numpy(m.indicator_variable);
  d["indicator_code"] = to_numpy(m.indicator_code);
  d["indicator_proportions"] = to_numpy(m.indicator_proportions);
  d["indicator_weights"] = to_numpy(m.indicator_weights);
  d["numeric_mean"] = to_numpy(m.numeric_mean);
  d["numeric_scale"] = to_numpy(m.numeric_scale);
  d["loadings"] = to_numpy(m.loadings);
  return d;
}

/// The saved parts of a fitted MCA or FAMD are consistent (what transform indexes by).
void check_indicators(const std::vector<std::int32_t>& variable, const std::vector<std::int32_t>& code,
                      std::size_t n_variables, std::size_t rows, std::size_t coordinate_rows) {
  if (variable.size() != code.size() || variable.size() != rows || coordinate_rows < rows)
    throw InvalidArgument("model: inconsistent fitted attributes (indicator counts)");
  for (std::size_t j = 0; j < variable.size(); ++j)
    if (variable[j] < 0 || static_cast<std::size_t>(variable[j]) >= n_variables || code[j] < 0)
      throw InvalidArgument("model: inconsistent fitted attributes (indicator " + std::to_string(j) + ")");
}

template <class T>
std::vector<T> vec1(const CArray<T>& a, const char* what) {
  auto s = span1<T>(a, what);
  return std::vector<T>(s.begin(), s.end());
}

/// Row coordinates of new rows with a fitted MCA, rebuilt from its saved parts.
py::array_t<double> mca_transform(const CArray<std::int32_t>& indicator_variable,
                                  const CArray<std::int32_t>& indicator_code, const CArray<double>& column_masses,
                                  const CArray<double>& column_standard_coordinates, const CArray<double>& eigenvalues,
                                  std::size_t n_variables, const CArray<std::int32_t>& codes) {
  McaModel m;
  m.n_variables = n_variables;
  m.indicator_variable = vec1(indicator_variable, "indicator_variable");
  m.indicator_code = vec1(indicator_code, "indicator_code");
  m.column_masses = vec1(column_masses, "column_masses");
  m.column_standard_coordinates = from_numpy<double>(column_standard_coordinates, "column_standard_coordinates");
  m.eigenvalues = vec1(eigenvalues, "eigenvalues");
  check_indicators(m.indicator_variable, m.indicator_code, n_variables, m.column_masses.size(),
                   m.column_standard_coordinates.rows());
  if (m.column_standard_coordinates.cols() != m.eigenvalues.size())
    throw InvalidArgument("model: inconsistent fitted attributes (components)");
  MatrixD out;
  {
    py::gil_scoped_release release;
    out = m.transform(view2<std::int32_t>(codes, "X"));
  }
  return to_numpy(out);
}

/// Row coordinates of new rows with a fitted FAMD, rebuilt from its saved parts.
py::array_t<double> famd_transform(const py::dict& parts, const CArray<double>& numeric,
                                   const CArray<std::int32_t>& codes) {
  FamdModel m;
  m.indicator_variable = vec1(parts["indicator_variable"].cast<CArray<std::int32_t>>(), "indicator_variable");
  m.indicator_code = vec1(parts["indicator_code"].cast<CArray<std::int32_t>>(), "indicator_code");
  m.indicator_proportions = vec1(parts["indicator_proportions"].cast<CArray<double>>(), "indicator_proportions");
  m.indicator_weights = vec1(parts["indicator_weights"].cast<CArray<double>>(), "indicator_weights");
  m.numeric_mean = vec1(parts["numeric_mean"].cast<CArray<double>>(), "numeric_mean");
  m.numeric_scale = vec1(parts["numeric_scale"].cast<CArray<double>>(), "numeric_scale");
  m.loadings = from_numpy<double>(parts["loadings"].cast<CArray<double>>(), "loadings");
  m.n_numeric = m.numeric_mean.size();
  m.n_categorical = parts["n_categorical"].cast<std::size_t>();
  check_indicators(m.indicator_variable, m.indicator_code, m.n_categorical, m.indicator_weights.size(),
                   m.indicator_proportions.size());
  if (m.loadings.rows() != m.n_numeric + m.indicator_code.size() || m.numeric_scale.size() != m.n_numeric)
    throw InvalidArgument("model: inconsistent fitted attributes (loadings)");
  MatrixD out;
  {
    py::gil_scoped_release release;
    out = m.transform(view2<double>(numeric, "numeric part"), view2<std::int32_t>(codes, "categorical part"));
  }
  return to_numpy(out);
}

py::dict tsne_fit(const CArray<double>& x, std::size_t n_components, double perplexity, double early_exaggeration,
                  std::optional<double> learning_rate, std::size_t n_iter, const std::string& init,
                  const std::string& method, double angle, std::uint64_t seed) {
  TsneParams p;
  p.n_components = n_components;
  p.perplexity = perplexity;
  p.early_exaggeration = early_exaggeration;
  p.learning_rate = learning_rate;
  p.n_iter = n_iter;
  if (init == "pca")
    p.init = TsneInit::pca;
  else if (init == "random")
    p.init = TsneInit::random;
  else
    throw InvalidArgument("init: must be 'pca' or 'random'");
  if (method == "barnes_hut")
    p.method = TsneMethod::barnes_hut;
  else if (method == "exact")
    p.method = TsneMethod::exact;
  else if (method == "fft")
    p.method = TsneMethod::fft;
  else
    throw InvalidArgument("method: must be 'barnes_hut', 'exact' or 'fft'");
  p.angle = angle;
  p.random_state = seed;
  TsneResult r;
  {
    py::gil_scoped_release release;
    r = fit_tsne<double>(view2<double>(x, "X"), p);
  }
  py::dict d;
  d["embedding"] = to_numpy(r.embedding);
  d["kl_divergence"] = r.kl_divergence;
  d["n_iter"] = r.n_iter;
  d["learning_rate"] = r.learning_rate;
  return d;
}

double trustworthiness_(const CArray<double>& x, const CArray<double>& embedding, std::size_t n_neighbors) {
  py::gil_scoped_release release;
  return trustworthiness<double>(view2<double>(x, "X"), view2<double>(embedding, "X_embedded"), n_neighbors);
}

// ---------------------------------------------------------------------------
// Preparation
// ---------------------------------------------------------------------------

py::dict power_fit(const CArray<double>& x, bool standardize) {
  PowerTransformerParams p;
  p.standardize = standardize;
  PowerTransformerModel m;
  {
    py::gil_scoped_release release;
    m = fit_power_transformer(view2<double>(x, "X"), p);
  }
  py::dict d;
  d["lambdas"] = to_numpy(m.lambdas);
  d["mean"] = to_numpy(m.scaler.mean);
  d["scale"] = to_numpy(m.scaler.scale);
  return d;
}

py::array_t<double> power_transform(const CArray<double>& lambdas, bool standardize, const CArray<double>& mean,
                                    const CArray<double>& scale, const CArray<double>& x) {
  PowerTransformerModel m;
  auto l = span1<double>(lambdas, "lambdas_");
  m.lambdas.assign(l.begin(), l.end());
  m.standardize = standardize;
  if (standardize) {
    auto mu = span1<double>(mean, "mean");
    auto sc = span1<double>(scale, "scale");
    m.scaler.mean.assign(mu.begin(), mu.end());
    m.scaler.scale.assign(sc.begin(), sc.end());
  }
  MatrixD out;
  {
    py::gil_scoped_release release;
    out = m.transform(view2<double>(x, "X"));
  }
  return to_numpy(out);
}

// ---------------------------------------------------------------------------
// Metrics and the knee
// ---------------------------------------------------------------------------

template <class T, class F>
auto with_labels(const CArray<T>& x, const CArray<std::int32_t>& labels, F f) {
  const MatrixView<T> xv = view2<T>(x, "X");
  const Labels l = span1<std::int32_t>(labels, "labels");
  py::gil_scoped_release release;
  return f(xv, l);
}

template <class T>
void def_metrics(py::module_& m) {
  m.def("silhouette_samples", [](const CArray<T>& x, const CArray<std::int32_t>& labels) {
    return to_numpy(with_labels<T>(x, labels, [](MatrixView<T> xv, Labels l) { return silhouette_samples<T>(xv, l); }));
  });
  m.def("silhouette_score", [](const CArray<T>& x, const CArray<std::int32_t>& labels) {
    return with_labels<T>(x, labels, [](MatrixView<T> xv, Labels l) { return silhouette_score<T>(xv, l); });
  });
  m.def("silhouette_score_sampled", [](const CArray<T>& x, const CArray<std::int32_t>& labels, std::size_t size,
                                       std::uint64_t seed) {
    return with_labels<T>(x, labels, [&](MatrixView<T> xv, Labels l) { return silhouette_score_sampled<T>(xv, l, size, seed); });
  });
  m.def("calinski_harabasz_score", [](const CArray<T>& x, const CArray<std::int32_t>& labels) {
    return with_labels<T>(x, labels, [](MatrixView<T> xv, Labels l) { return calinski_harabasz_score<T>(xv, l); });
  });
  m.def("davies_bouldin_score", [](const CArray<T>& x, const CArray<std::int32_t>& labels) {
    return with_labels<T>(x, labels, [](MatrixView<T> xv, Labels l) { return davies_bouldin_score<T>(xv, l); });
  });
  m.def("distortion_score", [](const CArray<T>& x, const CArray<std::int32_t>& labels) {
    return with_labels<T>(x, labels, [](MatrixView<T> xv, Labels l) { return distortion_score<T>(xv, l); });
  });
  m.def("silhouette_samples_many", [](const CArray<T>& x, const CArray<std::int32_t>& labelings) {
    // labelings: (n_labelings, n), one labeling per row
    const MatrixView<std::int32_t> lv = view2<std::int32_t>(labelings, "labelings");
    std::vector<Labels> ls;
    for (std::size_t i = 0; i < lv.rows(); ++i) ls.emplace_back(lv.row(i), lv.cols());
    const MatrixView<T> xv = view2<T>(x, "X");
    std::vector<std::vector<double>> r;
    {
      py::gil_scoped_release release;
      r = silhouette_samples_many<T>(xv, ls);
    }
    py::array_t<double> out({ls.size(), xv.rows()});
    for (std::size_t i = 0; i < r.size(); ++i)
      std::memcpy(out.mutable_data() + i * xv.rows(), r[i].data(), xv.rows() * sizeof(double));
    return out;
  });
}

py::dict knee(const CArray<double>& x, const CArray<double>& y, const std::string& curve, const std::string& direction,
              double sensitivity) {
  CurveNature nature;
  if (curve == "convex")
    nature = CurveNature::convex;
  else if (curve == "concave")
    nature = CurveNature::concave;
  else
    throw InvalidArgument("curve: must be 'convex' or 'concave'");
  CurveDirection dir;
  if (direction == "decreasing")
    dir = CurveDirection::decreasing;
  else if (direction == "increasing")
    dir = CurveDirection::increasing;
  else
    throw InvalidArgument("direction: must be 'increasing' or 'decreasing'");
  const KneeResult r = find_knee(span1<double>(x, "x"), span1<double>(y, "y"), nature, dir, sensitivity);
  py::dict d;
  d["knee"] = r.knee ? py::object(py::float_(*r.knee)) : py::object(py::none());
  d["all_knees"] = r.all_knees;
  return d;
}

// ---------------------------------------------------------------------------
// Sentence embeddings
// ---------------------------------------------------------------------------

struct Encoder {
  std::shared_ptr<SentenceEncoder> encoder;
  EmbedPrecision precision = EmbedPrecision::fp32;
};

// ---------------------------------------------------------------------------
// The DataFrame pipeline
// ---------------------------------------------------------------------------

/// One column as the Python layer hands it over: its name and either float64 values
/// (NaN = missing) with whether they are integers, or text cells (None = missing).
/// Numbers are written in the shortest text that reads back as the same double, so
/// that typing them with infer_types (the rules of every source, the CSV reader's
/// included) sees exactly the values of the frame.
StringTable string_table(const py::list& columns, const std::string& source) {
  StringTable t;
  t.source = source;
  for (const py::handle item : columns) {
    const py::tuple c = item.cast<py::tuple>();
    StringColumn col(c[0].cast<std::string>());
    if (py::isinstance<py::array>(c[1])) {
      const auto values = c[1].cast<CArray<double>>();
      const bool integral = c[2].cast<bool>();
      const auto v = span1<double>(values, "column");
      col.reserve(v.size(), v.size() * 8);
      char buf[64];
      for (double d : v) {
        if (std::isnan(d)) {
          col.push_missing();
          continue;
        }
        if (std::isinf(d)) throw InvalidArgument("column '" + c[0].cast<std::string>() + "': infinite value");
        std::to_chars_result r;
        if (integral && std::fabs(d) < 9.007199254740992e15)
          r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(d));
        else
          r = std::to_chars(buf, buf + sizeof buf, d);
        std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
        // As pandas writes a float column: 30.0, not 30 (the column stays non-integral).
        if (!integral && s.find_first_of(".eE") == std::string_view::npos) {
          col.push_back(std::string(s) + ".0");
          continue;
        }
        col.push_back(s);
      }
    } else {
      const py::list cells = c[1].cast<py::list>();
      col.reserve(cells.size());
      for (const py::handle cell : cells) {
        if (cell.is_none())
          col.push_missing();
        else
          col.push_back(cell.cast<std::string>());
      }
    }
    t.columns.push_back(std::move(col));
  }
  return t;
}

/// Types the string columns of a frame (no Python object is touched: callable
/// without the GIL).
Table type_frame(const StringTable& strings, const std::vector<std::pair<std::string, ColumnType>>& types,
                 const std::vector<std::pair<std::string, DateSpec>>& dates = {}, Diagnostics* diagnostics = nullptr,
                 DateReadings* dates_read = nullptr) {
  InferOptions options;
  options.types = types;
  options.dates = dates;
  options.diagnostics = diagnostics;
  options.dates_read = dates_read;
  options.place = [&strings](std::size_t column, std::size_t row) {
    return "column '" + strings.columns[column].name() + "', row " + std::to_string(row);
  };
  return infer_types(strings, options, [&strings](std::size_t column, std::size_t row, const std::string& message) {
    throw InvalidArgument("column '" + strings.columns[column].name() + "', row " + std::to_string(row) + ": " + message);
  });
}

struct Result {
  std::shared_ptr<SegmentationResult> r;
};

py::dict result_files(const Result& res, bool report) {
  OutputFiles files;
  if (res.r->params.report == report) {
    py::gil_scoped_release release;
    files = render_outputs(*res.r);
  } else {
    // The GIL stays held while the shared result is changed, so that no other Python
    // thread renders it meanwhile.
    const bool was = res.r->params.report;
    res.r->params.report = report;
    try {
      files = render_outputs(*res.r);
    } catch (...) {
      res.r->params.report = was;
      throw;
    }
    res.r->params.report = was;
  }
  py::dict d;
  for (const auto& [name, text] : files.files) d[py::str(name)] = py::bytes(text);
  return d;
}

void set_params(RunParams& params, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [name, value] : values) set_run_param(params, name, value);
}

/// Progress lines of the engine handed to a Python callable(line, final) while the
/// engine runs without the GIL: each call takes the GIL (the engine's painter threads
/// are not Python threads); an exception of the callable is reported as unraisable
/// and the run goes on. Only a borrowed handle is captured: the caller keeps the
/// callable alive, and the sink is removed before the caller takes the GIL back.
class ProgressToPython {
 public:
  explicit ProgressToPython(const py::object& callback) {
    if (callback.is_none()) return;
    const py::handle target = callback;
    auto failed = std::make_shared<std::atomic<bool>>(false);  // after one failure, no more calls
    Progress::set_sink([target, failed](const std::string& line, bool final_line) {
      if (failed->load()) return;
      py::gil_scoped_acquire gil;
      if (failed->load()) return;  // another thread's call failed while this one waited for the GIL
      try {
        target(line, final_line);
      } catch (py::error_already_set& e) {
        failed->store(true);
        e.discard_as_unraisable("segmenta progress callback");
      }
    });
    active_ = true;
  }
  ~ProgressToPython() {
    if (!active_) return;
    Progress::set_sink({});
    Progress::set_enabled(false);  // the package's other calls stay silent, as at import
  }
  ProgressToPython(const ProgressToPython&) = delete;
  ProgressToPython& operator=(const ProgressToPython&) = delete;

 private:
  bool active_ = false;
};

Result segment_frame(const py::list& columns, const std::vector<std::pair<std::string, std::string>>& values,
                     const std::vector<std::pair<std::string, std::string>>& type_names, const std::string& name,
                     const py::object& progress) {
  RunParams params;
  // segment() sets the engine's thread count from its parameter: without one, keep
  // the count the session has (set_num_threads) rather than resetting it.
  params.threads = num_threads();
  set_params(params, values);
  params.quiet = progress.is_none();  // progress goes to the callable only, never to the terminal
  std::vector<std::pair<std::string, ColumnType>> types;
  std::vector<std::pair<std::string, DateSpec>> dates;
  for (const auto& [column, type] : type_names) {
    bool found = false;
    for (const py::handle item : columns) found = found || item.cast<py::tuple>()[0].cast<std::string>() == column;
    if (!found) throw InvalidArgument("types: the frame has no column '" + column + "'");
    if (const auto date = parse_date_type(type))
      dates.emplace_back(column, *date);
    else
      types.emplace_back(column, parse_column_type(type, "types"));
  }
  const StringTable strings = string_table(columns, name);
  Provenance input;
  input.kind = "dataframe";
  input.name = name;
  Result out;
  {
    py::gil_scoped_release release;
    const ProgressToPython to_python(progress);
    // What typing the frame found comes first among the result's diagnostics, as
    // for a file.
    Diagnostics load;
    const Table table = type_frame(strings, types, dates, &load, &input.dates);
    out.r = std::make_shared<SegmentationResult>(segment(table, params, input));
    load.append(out.r->diagnostics);
    out.r->diagnostics = std::move(load);
  }
  return out;
}

py::dict score_frame(const std::string& model_text, const py::list& columns, const std::string& method,
                     const std::string& origin) {
  nlohmann::json model;
  try {
    model = nlohmann::json::parse(model_text);
  } catch (const nlohmann::json::exception&) {
    throw ModelFormatError(origin + ": not a JSON model file");
  }
  const auto types = model_columns(model);
  // Only the model's columns, by name, in the model's order.
  py::list selected;
  for (const auto& [name, _] : types) {
    bool found = false;
    for (const py::handle item : columns) {
      const py::tuple c = item.cast<py::tuple>();
      if (c[0].cast<std::string>() == name) {
        selected.append(c);
        found = true;
        break;
      }
    }
    if (!found) throw InvalidArgument("column '" + name + "': the model needs it and the frame has no such column");
  }
  const StringTable strings = string_table(selected, "frame");
  TableScores s;
  {
    py::gil_scoped_release release;
    const Table table = type_frame(strings, types, model_dates(model));
    s = score_table(model, table, method, origin);
  }
  py::dict d;
  d["method"] = s.method;
  d["segment"] = to_numpy(s.segment);
  d["probability"] = to_numpy(s.probability);
  d["outlier"] = to_numpy_u8(s.outlier);
  d["outlier_score"] = to_numpy(s.outlier_score);
  d["dropped"] = s.dropped;
  return d;
}

py::dict method_dict(const MethodSegmentation& m) {
  py::dict d;
  d["name"] = m.name;
  d["k"] = m.k;
  d["objective"] = m.objective;
  d["space"] = m.space;
  d["segment_of_row"] = to_numpy(m.segment_of_row);
  d["probability"] = to_numpy(m.probability);
  py::dict fin;
  fin["inertia"] = m.final.inertia;
  fin["silhouette"] = m.final.silhouette;
  fin["calinski_harabasz"] = m.final.calinski_harabasz;
  fin["davies_bouldin"] = m.final.davies_bouldin;
  fin["n_iter"] = m.final.n_iter;
  fin["sizes"] = m.final.sizes;
  d["final"] = fin;
  py::list sweep;
  for (const SweepPoint& p : m.sweep.points) {
    py::dict s;
    s["k"] = p.k;
    s["inertia"] = p.inertia;
    s["silhouette"] = p.silhouette;
    s["calinski_harabasz"] = p.calinski_harabasz;
    s["davies_bouldin"] = p.davies_bouldin;
    sweep.append(s);
  }
  d["sweep"] = sweep;
  d["recommended_k"] = m.sweep.recommendation.k;
  d["reason"] = m.sweep.recommendation.reason;
  if (m.maps) {
    py::list cols;
    for (const auto& [name, values] : m.maps->columns) cols.append(py::make_tuple(name, to_numpy(values)));
    d["maps"] = cols;
  } else {
    d["maps"] = py::none();
  }
  return d;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "segmenta's engine (use the segmenta package)";
  m.attr("__version__") = SEGMENTA_VERSION;
  // Progress lines only when asked for (segment(df, progress=...)), never straight to
  // the terminal behind Python's back.
  Progress::set_enabled(false);

  // Exceptions: bad parameters, data (malformed or unusable) and model files are ValueError; files OSError.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const IoError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const InvalidArgument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const ParseError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const DataError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const ModelFormatError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const NotFitted& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  m.def("set_num_threads", &set_num_threads);
  m.def("num_threads", &num_threads);

  m.def("kmeans_fit", &kmeans_fit<double>, py::arg("X"), py::arg("n_clusters"), py::arg("n_init"), py::arg("max_iter"),
        py::arg("tol"), py::arg("seed"), py::arg("init"), py::arg("init_centers") = py::none());
  m.def("kmeans_fit", &kmeans_fit<float>, py::arg("X"), py::arg("n_clusters"), py::arg("n_init"), py::arg("max_iter"),
        py::arg("tol"), py::arg("seed"), py::arg("init"), py::arg("init_centers") = py::none());
  m.def("kmeans_predict", &kmeans_predict<double>);
  m.def("kmeans_predict", &kmeans_predict<float>);
  m.def("kmeans_transform", &kmeans_transform<double>);
  m.def("kmeans_transform", &kmeans_transform<float>);

  m.def("kprototypes_fit", &kprototypes_fit, py::arg("numeric"), py::arg("codes"), py::arg("n_clusters"),
        py::arg("n_init"), py::arg("max_iter"), py::arg("init"), py::arg("gamma"), py::arg("seed"), py::arg("batch"),
        py::arg("init_centroids") = py::none(), py::arg("init_modes") = py::none());
  m.def("kprototypes_predict", &kprototypes_predict);
  m.def("kprototypes_dissimilarities", &kprototypes_dissimilarities);
  m.def("kprototypes_default_gamma", [](const CArray<double>& x) { return kprototypes_default_gamma(view2<double>(x, "X")); });

  m.def("lca_fit", &lca_fit);
  m.def("lca_predict_proba", &lca_predict_proba);
  m.def("lca_initial_responsibilities", &lca_initial);

  m.def("ecod_fit", &ecod_fit);
  m.def("ecod_score", &ecod_score);

  m.def("pca_fit", &pca_fit);
  m.def("mca_fit", &mca_fit);
  m.def("famd_fit", &famd_fit);
  m.def("mca_transform", &mca_transform);
  m.def("famd_transform", &famd_transform);
  m.def("tsne_fit", &tsne_fit);
  m.def("trustworthiness", &trustworthiness_);

  m.def("power_fit", &power_fit);
  m.def("power_transform", &power_transform);

  def_metrics<double>(m);
  def_metrics<float>(m);
  m.def("adjusted_rand_score", [](const CArray<std::int32_t>& a, const CArray<std::int32_t>& b) {
    return adjusted_rand_score(span1<std::int32_t>(a, "labels_true"), span1<std::int32_t>(b, "labels_pred"));
  });
  m.def("adjusted_mutual_info_score", [](const CArray<std::int32_t>& a, const CArray<std::int32_t>& b) {
    return adjusted_mutual_info_score(span1<std::int32_t>(a, "labels_true"), span1<std::int32_t>(b, "labels_pred"));
  });
  m.def("knee", &knee);

  py::class_<Encoder>(m, "Encoder")
      .def(py::init([](const std::string& dir, const std::string& precision, const std::string& revision) {
             Encoder e;
             e.precision = parse_embed_precision(precision, "precision");
             e.encoder = std::make_shared<SentenceEncoder>(SentenceEncoder::load(resolve_model_dir(dir, revision)));
             return e;
           }),
           py::arg("model"), py::arg("precision"), py::arg("revision") = "")
      .def_property_readonly("dimension", [](const Encoder& e) { return e.encoder->dimension(); })
      .def_property_readonly("prompts", [](const Encoder& e) { return e.encoder->info().prompts; })
      .def("encode", [](const Encoder& e, const std::vector<std::string>& sentences, std::size_t batch_size,
                        std::optional<bool> normalize, std::optional<std::string> prompt_name) {
        EncodeOptions o;
        o.precision = e.precision;
        o.batch_size = batch_size;
        o.normalize = normalize;
        o.prompt = prompt_name;
        MatrixF v;
        {
          py::gil_scoped_release release;
          v = e.encoder->encode(sentences, o);
        }
        return to_numpy(v);
      }, py::arg("sentences"), py::arg("batch_size"), py::arg("normalize"), py::arg("prompt_name") = std::nullopt);

  py::class_<Result>(m, "Result")
      .def("files", &result_files, py::arg("report") = true)
      .def("write", [](const Result& r, const std::string& dir) {
        py::gil_scoped_release release;
        return write_outputs(*r.r, dir);
      })
      .def_property_readonly("methods", [](const Result& r) {
        py::list out;
        for (const auto& ms : r.r->methods) out.append(method_dict(ms));
        return out;
      })
      .def_property_readonly("outlier_flags", [](const Result& r) { return to_numpy_u8(r.r->outliers.flagged); })
      .def_property_readonly("outlier_scores", [](const Result& r) { return to_numpy(r.r->outliers.score); })
      .def_property_readonly("outlier_threshold", [](const Result& r) {
        return r.r->outliers.model ? r.r->outliers.model->threshold() : std::nan("");
      })
      .def_property_readonly("outlier_policy", [](const Result& r) { return std::string(to_string(r.r->outliers.policy)); })
      .def_property_readonly("rows", [](const Result& r) { return to_numpy(r.r->rows); })
      .def_property_readonly("timings", [](const Result& r) { return r.r->timings; })
      .def_property_readonly("diagnostics", [](const Result& r) {
        py::list out;
        for (const auto& d : r.r->diagnostics.items())
          out.append(py::make_tuple(d.level == Diagnostic::Level::warning ? "warning" : "info", d.stage, d.message));
        return out;
      });

  m.def("segment_frame", &segment_frame, py::arg("columns"), py::arg("values"), py::arg("types"), py::arg("name"),
        py::arg("progress") = py::none());
  m.def("score_frame", &score_frame);
  m.def("run_params", []() {
    py::list out;
    for (const ParamSpec& s : run_param_specs())
      out.append(py::make_tuple(std::string(s.name), std::string(s.flag), s.is_switch, std::string(s.default_text),
                                std::string(s.help)));
    return out;
  });
}
