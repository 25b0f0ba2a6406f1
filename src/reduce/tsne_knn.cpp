#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "reduce/tsne_internal.hpp"
#include "segmenta/kernels.hpp"

namespace segmenta::tsne_detail {
namespace {

using Candidate = std::pair<double, std::uint32_t>;  // (squared distance, index), ordered lexicographically

template <class T>
double sq_dist_d(const T* a, const T* b, std::size_t p) noexcept {
  double s = 0.0;
  for (std::size_t j = 0; j < p; ++j) {
    const double d = static_cast<double>(a[j]) - static_cast<double>(b[j]);
    s += d * d;
  }
  return s;
}

// Bounded max-heap of the k best candidates.
class TopK {
 public:
  explicit TopK(std::size_t k) : k_(k) { heap_.reserve(k); }
  void clear() { heap_.clear(); }
  bool full() const noexcept { return heap_.size() == k_; }
  const Candidate& worst() const noexcept { return heap_.front(); }
  void offer(double d, std::uint32_t j) {
    const Candidate c{d, j};
    if (heap_.size() < k_) {
      heap_.push_back(c);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (c < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = c;
      std::push_heap(heap_.begin(), heap_.end());
    }
  }
  std::vector<Candidate>& items() noexcept { return heap_; }

 private:
  std::size_t k_;
  std::vector<Candidate> heap_;
};

// Exact distances for the selected indices, then sorted by (distance, index).
template <class T>
void finish_row(MatrixView<T> x, std::size_t i, std::vector<Candidate>& c, Neighbors& out) {
  for (auto& e : c) e.first = sq_dist_d(x.row(i), x.row(e.second), x.cols());
  std::sort(c.begin(), c.end());
  for (std::size_t t = 0; t < out.k; ++t) {
    out.index[i * out.k + t] = c[t].second;
    out.sqdist[i * out.k + t] = c[t].first;
  }
}

constexpr std::size_t kQueryBlock = 256;

template <class T>
class VpTree {
 public:
  explicit VpTree(MatrixView<T> x) : x_(x), items_(x.rows()) {
    for (std::size_t i = 0; i < items_.size(); ++i) items_[i] = static_cast<std::uint32_t>(i);
    Rng rng(0x7654321);
    nodes_.reserve(2 * items_.size() / kLeaf + 2);
    build(0, items_.size(), rng);
  }

  void search(std::size_t q, TopK& top) const { visit(0, q, top); }

 private:
  static constexpr std::size_t kLeaf = 16;
  struct Node {
    std::uint32_t vp = 0;       // vantage point (interior nodes)
    double mu = 0.0;            // split radius: left has d <= mu, right d >= mu
    std::uint32_t left = 0, right = 0;
    std::uint32_t begin = 0, end = 0;  // leaf items
    bool leaf = false;
  };

  std::uint32_t build(std::size_t lo, std::size_t hi, Rng& rng) {
    const auto id = static_cast<std::uint32_t>(nodes_.size());
    nodes_.emplace_back();
    if (hi - lo <= kLeaf) {
      nodes_[id].leaf = true;
      nodes_[id].begin = static_cast<std::uint32_t>(lo);
      nodes_[id].end = static_cast<std::uint32_t>(hi);
      return id;
    }
    std::swap(items_[lo], items_[lo + rng.below(hi - lo)]);
    const std::uint32_t vp = items_[lo];
    std::vector<Candidate> d(hi - lo - 1);
    for (std::size_t i = lo + 1; i < hi; ++i)
      d[i - lo - 1] = {std::sqrt(sq_dist_d(x_.row(vp), x_.row(items_[i]), x_.cols())), items_[i]};
    const std::size_t mid = (d.size()) / 2;
    std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(mid), d.end());
    for (std::size_t i = 0; i < d.size(); ++i) items_[lo + 1 + i] = d[i].second;
    const double mu = d[mid].first;
    d.clear();
    d.shrink_to_fit();
    const std::uint32_t left = build(lo + 1, lo + 1 + mid, rng);
    const std::uint32_t right = build(lo + 1 + mid, hi, rng);
    Node& nd = nodes_[id];
    nd.vp = vp;
    nd.mu = mu;
    nd.left = left;
    nd.right = right;
    return id;
  }

  double tau(const TopK& top) const noexcept {
    if (!top.full()) return std::numeric_limits<double>::infinity();
    // Slack so that rounding in the triangle inequality never prunes a true tie.
    return std::sqrt(top.worst().first) * (1.0 + 1e-12) + 1e-300;
  }

  void visit(std::uint32_t id, std::size_t q, TopK& top) const {
    const Node& nd = nodes_[id];
    const T* xq = x_.row(q);
    if (nd.leaf) {
      for (std::uint32_t t = nd.begin; t < nd.end; ++t) {
        const std::uint32_t j = items_[t];
        if (j != q) top.offer(sq_dist_d(xq, x_.row(j), x_.cols()), j);
      }
      return;
    }
    const double d2 = sq_dist_d(xq, x_.row(nd.vp), x_.cols());
    if (nd.vp != q) top.offer(d2, nd.vp);
    const double d = std::sqrt(d2);
    if (d < nd.mu) {
      visit(nd.left, q, top);
      if (d + tau(top) >= nd.mu) visit(nd.right, q, top);
    } else {
      visit(nd.right, q, top);
      if (d - tau(top) <= nd.mu) visit(nd.left, q, top);
    }
  }

  MatrixView<T> x_;
  std::vector<std::uint32_t> items_;
  std::vector<Node> nodes_;
};

template <class T>
void knn_vp(MatrixView<T> x, Neighbors& out) {
  const VpTree<T> tree(x);
  parallel_blocks(x.rows(), kQueryBlock, [&](std::size_t b, std::size_t e, std::size_t) {
    TopK top(out.k);
    for (std::size_t i = b; i < e; ++i) {
      top.clear();
      tree.search(i, top);
      finish_row(x, i, top.items(), out);
    }
  });
}

template <class T>
void knn_brute(MatrixView<T> x, Neighbors& out) {
  const std::size_t n = x.rows();
  parallel_blocks(n, kQueryBlock, [&](std::size_t b, std::size_t e, std::size_t) {
    TopK top(out.k);
    for (std::size_t i = b; i < e; ++i) {
      top.clear();
      for (std::size_t j = 0; j < n; ++j)
        if (j != i) top.offer(sq_dist_d(x.row(i), x.row(j), x.cols()), static_cast<std::uint32_t>(j));
      finish_row(x, i, top.items(), out);
    }
  });
}

template <class T>
void knn_gemm(MatrixView<T> x, Neighbors& out) {
  const std::size_t n = x.rows();
  constexpr std::size_t kRefBlock = 1024;
  std::vector<T> norms(n);
  kernels::row_sq_norms(x, norms.data());
  parallel_blocks(n, kQueryBlock, [&](std::size_t b, std::size_t e, std::size_t) {
    const std::size_t nq = e - b;
    std::vector<T> tile(nq * kRefBlock);
    std::vector<TopK> tops(nq, TopK(out.k));
    for (std::size_t r0 = 0; r0 < n; r0 += kRefBlock) {
      const std::size_t nr = std::min(kRefBlock, n - r0);
      kernels::sq_distances_gemm(x.rows_view(b, nq), norms.data() + b, x.rows_view(r0, nr), norms.data() + r0,
                                 tile.data(), kRefBlock);
      for (std::size_t q = 0; q < nq; ++q) {
        TopK& top = tops[q];
        const T* row = tile.data() + q * kRefBlock;
        const std::size_t self = b + q;
        for (std::size_t j = 0; j < nr; ++j) {
          const double d = static_cast<double>(row[j]);
          // Cheap rejection before the lexicographic heap test.
          if (top.full() && d > top.worst().first) continue;
          if (r0 + j != self) top.offer(d, static_cast<std::uint32_t>(r0 + j));
        }
      }
    }
    for (std::size_t q = 0; q < nq; ++q) finish_row(x, b + q, tops[q].items(), out);
  });
}

}  // namespace

template <class T>
Neighbors exact_knn(MatrixView<T> x, std::size_t k, KnnAlgorithm algorithm) {
  Neighbors out;
  out.n = x.rows();
  out.k = k;
  out.index.resize(out.n * k);
  out.sqdist.resize(out.n * k);
  if (k == 0 || out.n == 0) return out;
  if (algorithm == KnnAlgorithm::automatic)
    algorithm = x.cols() <= 16 ? KnnAlgorithm::vp_tree : KnnAlgorithm::blocked_gemm;
  switch (algorithm) {
    case KnnAlgorithm::vp_tree: knn_vp(x, out); break;
    case KnnAlgorithm::brute: knn_brute(x, out); break;
    default: knn_gemm(x, out); break;
  }
  return out;
}

template Neighbors exact_knn<double>(ViewD, std::size_t, KnnAlgorithm);
template Neighbors exact_knn<float>(ViewF, std::size_t, KnnAlgorithm);

}  // namespace segmenta::tsne_detail
