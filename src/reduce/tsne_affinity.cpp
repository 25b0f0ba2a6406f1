#include <algorithm>
#include <cmath>
#include <limits>

#include "reduce/tsne_internal.hpp"

namespace segmenta::tsne_detail {
namespace {

constexpr std::size_t kRowBlock = 1024;
constexpr double kPerplexityTolerance = 1e-5;  // on the entropy, in nats (scikit-learn)
constexpr int kMaxSteps = 100;

// Sum of values in fixed blocks, partials added in block order.
double ordered_sum(const std::vector<double>& v) {
  const Blocks blocks{v.size(), 1 << 16};
  std::vector<double> partial(blocks.count(), 0.0);
  parallel_blocks(v.size(), blocks.block, [&](std::size_t b, std::size_t e, std::size_t blk) {
    double s = 0.0;
    for (std::size_t i = b; i < e; ++i) s += v[i];
    partial[blk] = s;
  });
  double s = 0.0;
  for (double x : partial) s += x;
  return s;
}

}  // namespace

bool conditional_row(const double* sqdist, std::size_t len, std::size_t skip, double perplexity, double* out) {
  const double desired = std::log(perplexity);
  const double inf = std::numeric_limits<double>::infinity();
  double beta = 1.0, beta_min = -inf, beta_max = inf;
  for (int step = 0; step < kMaxSteps; ++step) {
    double sum = 0.0;
    for (std::size_t j = 0; j < len; ++j) {
      out[j] = j == skip ? 0.0 : std::exp(-sqdist[j] * beta);
      sum += out[j];
    }
    if (sum == 0.0) sum = 1e-8;
    double sum_dp = 0.0;
    for (std::size_t j = 0; j < len; ++j) {
      out[j] /= sum;
      sum_dp += sqdist[j] * out[j];
    }
    const double diff = std::log(sum) + beta * sum_dp - desired;
    if (std::abs(diff) <= kPerplexityTolerance) return true;
    // Entropy too high: the kernel is too wide, raise the precision.
    if (diff > 0) {
      beta_min = beta;
      beta = beta_max == inf ? beta * 2.0 : (beta + beta_max) / 2.0;
    } else {
      beta_max = beta;
      beta = beta_min == -inf ? beta / 2.0 : (beta + beta_min) / 2.0;
    }
  }
  return false;
}

SparseP joint_probabilities_nn(const Neighbors& nn, double perplexity, std::size_t* not_converged) {
  const std::size_t n = nn.n, k = nn.k;
  std::vector<double> cond(n * k);
  std::vector<std::size_t> failed(Blocks{n, kRowBlock}.count(), 0);
  parallel_blocks(n, kRowBlock, [&](std::size_t b, std::size_t e, std::size_t blk) {
    for (std::size_t i = b; i < e; ++i)
      if (!conditional_row(nn.sqdist.data() + i * k, k, k, perplexity, cond.data() + i * k)) ++failed[blk];
  });
  if (not_converged) {
    *not_converged = 0;
    for (std::size_t f : failed) *not_converged += f;
  }

  // C + Cᵀ: row i holds its own k entries, then the entries (i <- r) of every row r
  // listing i, in increasing r; rows are then sorted by column and duplicates merged.
  std::vector<std::size_t> start(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) start[i + 1] = k;
  for (std::uint32_t j : nn.index) ++start[j + 1];
  for (std::size_t i = 0; i < n; ++i) start[i + 1] += start[i];
  std::vector<std::uint32_t> col(start[n]);
  std::vector<double> val(start[n]);
  std::vector<std::size_t> fill(start.begin(), start.end() - 1);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t t = 0; t < k; ++t) {
      col[fill[i]] = nn.index[i * k + t];
      val[fill[i]++] = cond[i * k + t];
    }
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t t = 0; t < k; ++t) {
      const std::uint32_t i = nn.index[r * k + t];
      col[fill[i]] = static_cast<std::uint32_t>(r);
      val[fill[i]++] = cond[r * k + t];
    }

  std::vector<std::size_t> merged(n, 0);
  parallel_blocks(n, kRowBlock, [&](std::size_t b, std::size_t e, std::size_t) {
    std::vector<std::pair<std::uint32_t, double>> row;
    for (std::size_t i = b; i < e; ++i) {
      row.clear();
      for (std::size_t t = start[i]; t < start[i + 1]; ++t) row.emplace_back(col[t], val[t]);
      // Stable: for a mutual pair the own entry comes first in both rows, so
      // p_ij and p_ji are the same sum c_ij + c_ji.
      std::stable_sort(row.begin(), row.end(), [](const auto& a, const auto& c) { return a.first < c.first; });
      std::size_t w = start[i];
      for (std::size_t t = 0; t < row.size(); ++t) {
        if (t > 0 && row[t].first == row[t - 1].first) {
          val[w - 1] += row[t].second;
        } else {
          col[w] = row[t].first;
          val[w++] = row[t].second;
        }
      }
      merged[i] = w - start[i];
    }
  });

  SparseP p;
  p.n = n;
  p.indptr.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) p.indptr[i + 1] = p.indptr[i] + merged[i];
  p.indices.resize(p.indptr[n]);
  p.values.resize(p.indptr[n]);
  parallel_blocks(n, kRowBlock, [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t i = b; i < e; ++i) {
      std::copy_n(col.begin() + static_cast<std::ptrdiff_t>(start[i]), merged[i],
                  p.indices.begin() + static_cast<std::ptrdiff_t>(p.indptr[i]));
      std::copy_n(val.begin() + static_cast<std::ptrdiff_t>(start[i]), merged[i],
                  p.values.begin() + static_cast<std::ptrdiff_t>(p.indptr[i]));
    }
  });
  const double total = std::max(ordered_sum(p.values), std::numeric_limits<double>::epsilon());
  for (double& v : p.values) v /= total;
  return p;
}

std::vector<std::uint32_t> locality_order(const SparseP& p) {
  const std::size_t n = p.n;
  std::vector<std::uint32_t> order;
  order.reserve(n);
  std::vector<unsigned char> seen(n, 0);
  for (std::size_t start = 0; start < n; ++start) {
    if (seen[start]) continue;
    seen[start] = 1;
    std::size_t head = order.size();
    order.push_back(static_cast<std::uint32_t>(start));
    while (head < order.size()) {
      const std::uint32_t u = order[head++];
      for (std::size_t t = p.indptr[u]; t < p.indptr[u + 1]; ++t) {
        const std::uint32_t v = p.indices[t];
        if (!seen[v]) {
          seen[v] = 1;
          order.push_back(v);
        }
      }
    }
  }
  return order;
}

SparseP permute(const SparseP& p, const std::vector<std::uint32_t>& order) {
  const std::size_t n = p.n;
  std::vector<std::uint32_t> pos(n);
  for (std::size_t k = 0; k < n; ++k) pos[order[k]] = static_cast<std::uint32_t>(k);
  SparseP out;
  out.n = n;
  out.indptr.assign(n + 1, 0);
  for (std::size_t k = 0; k < n; ++k) out.indptr[k + 1] = out.indptr[k] + (p.indptr[order[k] + 1] - p.indptr[order[k]]);
  out.indices.resize(p.nnz());
  out.values.resize(p.nnz());
  parallel_blocks(n, kRowBlock, [&](std::size_t b, std::size_t e, std::size_t) {
    std::vector<std::pair<std::uint32_t, double>> row;
    for (std::size_t k = b; k < e; ++k) {
      const std::uint32_t i = order[k];
      row.clear();
      for (std::size_t t = p.indptr[i]; t < p.indptr[i + 1]; ++t) row.emplace_back(pos[p.indices[t]], p.values[t]);
      std::sort(row.begin(), row.end());
      std::size_t w = out.indptr[k];
      for (const auto& [c, v] : row) {
        out.indices[w] = c;
        out.values[w++] = v;
      }
    }
  });
  return out;
}

template <class T>
MatrixD joint_probabilities_dense(MatrixView<T> x, double perplexity, std::size_t* not_converged) {
  const std::size_t n = x.rows(), dim = x.cols();
  MatrixD c(n, n, 0.0);
  std::vector<std::size_t> failed(Blocks{n, 64}.count(), 0);
  parallel_blocks(n, 64, [&](std::size_t b, std::size_t e, std::size_t blk) {
    std::vector<double> d(n);
    for (std::size_t i = b; i < e; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        double s = 0.0;
        for (std::size_t t = 0; t < dim; ++t) {
          const double u = static_cast<double>(x(i, t)) - static_cast<double>(x(j, t));
          s += u * u;
        }
        d[j] = s;
      }
      if (!conditional_row(d.data(), n, i, perplexity, c.row(i))) ++failed[blk];
    }
  });
  if (not_converged) {
    *not_converged = 0;
    for (std::size_t f : failed) *not_converged += f;
  }
  MatrixD p(n, n, 0.0);
  std::vector<double> row_sums(n, 0.0);
  parallel_blocks(n, 64, [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t i = b; i < e; ++i) {
      double s = 0.0;
      for (std::size_t j = 0; j < n; ++j) {
        p(i, j) = c(i, j) + c(j, i);
        s += p(i, j);
      }
      row_sums[i] = s;
    }
  });
  const double eps = std::numeric_limits<double>::epsilon();
  const double total = std::max(ordered_sum(row_sums), eps);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) p(i, j) = i == j ? 0.0 : std::max(p(i, j) / total, eps);
  return p;
}

template MatrixD joint_probabilities_dense<double>(ViewD, double, std::size_t*);
template MatrixD joint_probabilities_dense<float>(ViewF, double, std::size_t*);

}  // namespace segmenta::tsne_detail
