#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "reduce/tsne_internal.hpp"
#include "segmenta/reduce.hpp"

namespace segmenta {
namespace {

using namespace tsne_detail;

constexpr std::size_t kCheckEvery = 50;       // scikit-learn's _N_ITER_CHECK
constexpr std::size_t kExactMaxRows = 10000;  // dense P is n² doubles
constexpr std::size_t kUpdateRows = 4096;     // rows per task of the update pass

template <class T>
void validate(MatrixView<T> x, const TsneParams& prm) {
  const std::size_t n = x.rows();
  if (n < 2 || x.cols() < 1)
    throw InvalidArgument(fmt::format("x: t-SNE needs at least 2 rows and 1 column, got ({}, {})", n, x.cols()));
  if (n >= (std::size_t{1} << 32)) throw InvalidArgument("x: t-SNE supports fewer than 2^32 rows");
  if (prm.n_components != 2 && prm.n_components != 3)
    throw InvalidArgument(fmt::format("n_components: must be 2 or 3, got {}", prm.n_components));
  if (!(prm.perplexity > 0.0) || !(prm.perplexity < static_cast<double>(n)))
    throw InvalidArgument(fmt::format("perplexity: must be in (0, n_rows = {}), got {}", n, prm.perplexity));
  if (!(prm.early_exaggeration >= 1.0) || !std::isfinite(prm.early_exaggeration))
    throw InvalidArgument(fmt::format("early_exaggeration: must be >= 1, got {}", prm.early_exaggeration));
  if (prm.learning_rate && (!(*prm.learning_rate > 0.0) || !std::isfinite(*prm.learning_rate)))
    throw InvalidArgument(fmt::format("learning_rate: must be > 0, got {}", *prm.learning_rate));
  if (prm.n_iter < prm.n_iter_early || prm.n_iter < 1)
    throw InvalidArgument(fmt::format("n_iter: must be >= n_iter_early ({}) and >= 1, got {}", prm.n_iter_early,
                                      prm.n_iter));
  if (!(prm.angle >= 0.0 && prm.angle <= 1.0))
    throw InvalidArgument(fmt::format("angle: must be in [0, 1], got {}", prm.angle));
  if (!(prm.min_grad_norm >= 0.0)) throw InvalidArgument("min_grad_norm: must be >= 0");
  if (prm.method == TsneMethod::fft && prm.n_components != 2)
    throw InvalidArgument("method: fft supports 2 components only; use barnes_hut for 3");
  if (prm.method == TsneMethod::exact && n > kExactMaxRows)
    throw InvalidArgument(
        fmt::format("method: exact keeps an n x n matrix and is limited to {} rows, got {}", kExactMaxRows, n));
  if (prm.fft_min_intervals < 1 || prm.fft_min_intervals > 10000)
    throw InvalidArgument("fft_min_intervals: must be in [1, 10000]");
  if (!(prm.fft_intervals_per_unit > 0.0) || !(prm.fft_intervals_per_unit <= 100.0))
    throw InvalidArgument("fft_intervals_per_unit: must be in (0, 100]");
  if (prm.fft_interpolation_points < 1 || prm.fft_interpolation_points > 8)
    throw InvalidArgument("fft_interpolation_points: must be in [1, 8]");
  for (std::size_t i = 0; i < n; ++i) {
    const T* r = x.row(i);
    for (std::size_t j = 0; j < x.cols(); ++j)
      if (!std::isfinite(r[j])) throw InvalidArgument("x: contains NaN or infinite values");
  }
}

template <class T>
MatrixD initial_embedding(MatrixView<T> x, const TsneParams& prm) {
  const std::size_t n = x.rows(), d = prm.n_components;
  MatrixD y(n, d);
  if (prm.init == TsneInit::random) {
    Rng rng(prm.random_state);
    for (std::size_t i = 0; i < n * d; ++i) y.data()[i] = 1e-4 * rng.normal();
    return y;
  }
  PcaParams pp;
  pp.n_components = std::min({d, x.rows(), x.cols()});
  const PcaModel pca = fit_pca(x, pp);
  y.fill(0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < pp.n_components; ++c) y(i, c) = pca.row_coordinates(i, c);
  // scikit-learn: divide by the standard deviation of PC1 (ddof 0), times 1e-4.
  double mean = 0.0, var = 0.0;
  for (std::size_t i = 0; i < n; ++i) mean += y(i, 0);
  mean /= static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) var += (y(i, 0) - mean) * (y(i, 0) - mean);
  const double sd = std::sqrt(var / static_cast<double>(n));
  const double f = sd > 0.0 ? 1e-4 / sd : 1e-4;
  for (std::size_t i = 0; i < n * d; ++i) y.data()[i] *= f;
  return y;
}

double norm2(const std::vector<double>& v) {
  const Blocks blocks{v.size(), 1 << 14};
  double s = 0.0;
  for (std::size_t b = 0; b < blocks.count(); ++b) {
    double part = 0.0;
    for (std::size_t i = blocks.begin(b); i < blocks.end(b); ++i) part += v[i] * v[i];
    s += part;
  }
  return std::sqrt(s);
}

const char* method_name(TsneMethod m) {
  switch (m) {
    case TsneMethod::barnes_hut: return "barnes_hut";
    case TsneMethod::fft: return "fft";
    case TsneMethod::exact: return "exact";
    default: return "automatic";
  }
}

}  // namespace

std::string_view to_string(TsneInit init) noexcept { return init == TsneInit::random ? "random" : "pca"; }

std::string_view to_string(TsneMethod method) noexcept {
  switch (method) {
    case TsneMethod::barnes_hut: return "barnes_hut";
    case TsneMethod::fft: return "fft";
    case TsneMethod::exact: return "exact";
    case TsneMethod::automatic: break;
  }
  return "auto";
}

TsneInit parse_tsne_init(std::string_view text, std::string_view what) {
  if (text == "pca") return TsneInit::pca;
  if (text == "random") return TsneInit::random;
  throw ParameterError(std::string(what), fmt::format("expected pca or random, got '{}'", text));
}

TsneMethod parse_tsne_method(std::string_view text, std::string_view what) {
  for (TsneMethod m : {TsneMethod::automatic, TsneMethod::barnes_hut, TsneMethod::fft, TsneMethod::exact})
    if (text == to_string(m)) return m;
  throw ParameterError(std::string(what), fmt::format("expected auto, barnes_hut, fft or exact, got '{}'", text));
}

template <class T>
TsneResult fit_tsne(MatrixView<T> x, const TsneParams& prm, Diagnostics* diag) {
  validate(x, prm);
  const std::size_t n = x.rows(), d = prm.n_components;
  TsneResult res;
  res.method = prm.method;
  // Barnes-Hut with grouped interaction lists is both faster and more accurate
  // than the FFT grid at FIt-SNE's settings on the sizes measured (5,000-40,691
  // rows of the bank data; see the header), so it is the automatic choice.
  if (res.method == TsneMethod::automatic) res.method = TsneMethod::barnes_hut;
  res.learning_rate =
      prm.learning_rate ? *prm.learning_rate : std::max(static_cast<double>(n) / prm.early_exaggeration / 4.0, 50.0);

  // Affinities.
  SparseP p;
  MatrixD pdense;
  std::size_t failed = 0;
  Stopwatch clock;
  if (res.method == TsneMethod::exact) {
    pdense = joint_probabilities_dense(x, prm.perplexity, &failed);
    res.n_neighbors = n - 1;
    res.seconds_affinities = clock.seconds();
  } else {
    const auto wanted = static_cast<std::size_t>(std::floor(3.0 * prm.perplexity + 1.0));
    const std::size_t k = std::min(n - 1, wanted);
    if (diag && k < wanted)
      diag->info("tsne", "neighbors_clipped",
                 fmt::format("perplexity {} asks for {} neighbours; using all {} other rows", prm.perplexity, wanted, k));
    const Neighbors nn = exact_knn(x, k);
    res.seconds_neighbors = clock.seconds();
    clock.reset();
    p = joint_probabilities_nn(nn, prm.perplexity, &failed);
    res.n_neighbors = k;
    res.seconds_affinities = clock.seconds();
  }
  if (diag && failed > 0)
    diag->info("tsne", "perplexity_not_reached",
               fmt::format("the perplexity binary search did not converge for {} of {} rows", failed, n));

  clock.reset();
  // The optimisation runs on the points relabelled in a locality order of P (see
  // locality_order); the initial embedding is drawn in input order and relabelled.
  std::vector<std::uint32_t> order;
  MatrixD y = initial_embedding(x, prm);
  std::unique_ptr<Attraction> attraction;
  if (res.method != TsneMethod::exact) {
    order = locality_order(p);
    p = permute(p, order);
    MatrixD relabelled(n, d);
    for (std::size_t k = 0; k < n; ++k)
      for (std::size_t a = 0; a < d; ++a) relabelled(k, a) = y(order[k], a);
    y = std::move(relabelled);
    attraction = std::make_unique<Attraction>(p, d);
  }
  std::unique_ptr<BarnesHut> bh;
  std::unique_ptr<FftRepulsion> fft;
  if (res.method == TsneMethod::barnes_hut) bh = std::make_unique<BarnesHut>(d, prm.angle, 32);
  if (res.method == TsneMethod::fft)
    fft = std::make_unique<FftRepulsion>(prm.fft_min_intervals, prm.fft_intervals_per_unit, prm.fft_interpolation_points);

  const std::size_t len = n * d;
  std::vector<double> grad(len), attr(len), rep(len), update(len), gains(len);
  const double dof = d == 2 ? 1.0 : 2.0;
  const double c = 2.0 * (dof + 1.0) / dof;
  // Fills rep and attr (or grad for method exact) and returns the KL when asked;
  // the gradient c · (attr - rep / Z) is formed in the update pass. Barnes-Hut and
  // the attraction share one parallel region: every region ends in a barrier.
  double inv_z = 0.0;
  auto objective = [&](double exaggeration, bool compute_error) -> double {
    if (res.method == TsneMethod::exact) return gradient_exact_dense(pdense, y.data(), d, exaggeration, compute_error, grad.data());
    double z = 0.0;
    attraction->prepare(y.data());
    if (bh) {
      bh->build(y.data(), n);
      const std::size_t nb = bh->tasks();
      parallel_for(nb + attraction->tasks(), [&](std::size_t t) {
        if (t < nb)
          bh->run_task(t, rep.data());
        else
          attraction->run_task(t - nb, y.data(), exaggeration, compute_error);
      });
      z = bh->z();
    } else {
      z = fft->repulsion(y.data(), n, rep.data());
      parallel_for(attraction->tasks(), [&](std::size_t t) { attraction->run_task(t, y.data(), exaggeration, compute_error); });
    }
    inv_z = 1.0 / z;
    return compute_error ? attraction->kl(z) : 0.0;
  };

  Progress progress(fmt::format("t-SNE {}D {}", d, method_name(res.method)), prm.n_iter, "it");
  double error = 0.0;
  std::size_t last = 0;
  bool stopped = false;
  // Two calls of scikit-learn's _gradient_descent: [0, n_iter_early) with the
  // exaggerated P and momentum 0.5, then up to n_iter with momentum 0.8; each call
  // starts with zero update and unit gains.
  for (int stage = 0; stage < 2 && !stopped; ++stage) {
    const std::size_t begin = stage == 0 ? 0 : (prm.n_iter_early == 0 ? 0 : last + 1);
    const std::size_t end = stage == 0 ? prm.n_iter_early : prm.n_iter;
    if (begin >= end) continue;
    const double momentum = stage == 0 ? 0.5 : 0.8;
    const double exaggeration = stage == 0 ? prm.early_exaggeration : 1.0;
    const std::size_t patience = stage == 0 ? prm.n_iter_early : prm.n_iter_without_progress;
    std::fill(update.begin(), update.end(), 0.0);
    std::fill(gains.begin(), gains.end(), 1.0);
    double best_error = std::numeric_limits<double>::max();
    std::size_t best_iter = begin;
    for (std::size_t i = begin; i < end; ++i) {
      const bool check = (i + 1) % kCheckEvery == 0;
      const bool compute_error = check || i == end - 1;
      const double kl = objective(exaggeration, compute_error);
      if (compute_error) {
        error = kl;
        res.kl_history.push_back(kl);
      }
      const double lr = res.learning_rate;
      const bool exact = res.method == TsneMethod::exact;
      parallel_blocks(n, kUpdateRows, [&](std::size_t r0, std::size_t r1, std::size_t) {
        if (!exact) attraction->finish(r0, r1, exaggeration, attr.data());
        for (std::size_t t = r0 * d; t < r1 * d; ++t) {
          if (!exact) grad[t] = c * (attr[t] - rep[t] * inv_z);
          const bool inc = update[t] * grad[t] < 0.0;
          gains[t] = std::max(inc ? gains[t] + 0.2 : gains[t] * 0.8, 0.01);
          grad[t] *= gains[t];
          update[t] = momentum * update[t] - lr * grad[t];
          y.data()[t] += update[t];
        }
      });
      last = i;
      progress.advance();
      if (check) {
        const double grad_norm = norm2(grad);
        if (kl < best_error) {
          best_error = kl;
          best_iter = i;
        } else if (i - best_iter > patience) {
          stopped = stage == 1;
          if (diag && stage == 1)
            diag->info("tsne", "no_progress",
                       fmt::format("stopped at iteration {}: no KL improvement in {} iterations", i + 1, patience));
          break;
        }
        if (grad_norm <= prm.min_grad_norm) {
          stopped = stage == 1;
          if (diag && stage == 1)
            diag->info("tsne", "small_gradient",
                       fmt::format("stopped at iteration {}: gradient norm {} <= {}", i + 1, grad_norm, prm.min_grad_norm));
          break;
        }
      }
    }
  }
  progress.finish();
  res.kl_divergence = error;
  res.n_iter = last + 1;
  if (order.empty()) {
    res.embedding = std::move(y);
  } else {
    res.embedding = MatrixD(n, d);
    for (std::size_t k = 0; k < n; ++k)
      for (std::size_t a = 0; a < d; ++a) res.embedding(order[k], a) = y(k, a);
  }
  res.seconds_optimize = clock.seconds();
  return res;
}

template <class T>
double trustworthiness(MatrixView<T> x, ViewD embedding, std::size_t n_neighbors) {
  const std::size_t n = x.rows(), k = n_neighbors;
  if (embedding.rows() != n)
    throw InvalidArgument(fmt::format("embedding: expected {} rows like x, got {}", n, embedding.rows()));
  if (embedding.cols() < 1 || x.cols() < 1) throw InvalidArgument("x, embedding: need at least one column");
  if (k < 1 || 2 * k >= n)
    throw InvalidArgument(fmt::format("n_neighbors: must be >= 1 and < n_rows / 2 = {}, got {}", n / 2.0, k));
  const Neighbors emb = exact_knn(embedding, k);
  const Blocks blocks{n, 64};
  std::vector<double> part(blocks.count(), 0.0);
  parallel_blocks(n, 64, [&](std::size_t b, std::size_t e, std::size_t blk) {
    std::vector<double> dist(n);
    double penalty = 0.0;
    for (std::size_t i = b; i < e; ++i) {
      const T* xi = x.row(i);
      for (std::size_t j = 0; j < n; ++j) {
        const T* xj = x.row(j);
        double s = 0.0;
        for (std::size_t a = 0; a < x.cols(); ++a) {
          const double u = static_cast<double>(xi[a]) - static_cast<double>(xj[a]);
          s += u * u;
        }
        dist[j] = s;
      }
      dist[i] = std::numeric_limits<double>::infinity();
      for (std::size_t t = 0; t < k; ++t) {
        const std::size_t j = emb.index[i * k + t];
        const double dj = dist[j];
        // Rank of j among i's input-space neighbours (1-based; ties by index).
        std::size_t before = 0;
        for (std::size_t l = 0; l < j; ++l) before += dist[l] <= dj;
        for (std::size_t l = j + 1; l < n; ++l) before += dist[l] < dj;
        const std::size_t rank = before + 1;
        if (rank > k) penalty += static_cast<double>(rank - k);
      }
    }
    part[blk] = penalty;
  });
  double t = 0.0;
  for (double v : part) t += v;
  const double dn = static_cast<double>(n), dk = static_cast<double>(k);
  return 1.0 - t * (2.0 / (dn * dk * (2.0 * dn - 3.0 * dk - 1.0)));
}

template TsneResult fit_tsne<double>(ViewD, const TsneParams&, Diagnostics*);
template TsneResult fit_tsne<float>(ViewF, const TsneParams&, Diagnostics*);
template double trustworthiness<double>(ViewD, ViewD, std::size_t);
template double trustworthiness<float>(ViewF, ViewD, std::size_t);

}  // namespace segmenta
