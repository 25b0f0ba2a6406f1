// GCC 12 reports false maybe-uninitialized warnings inside the AVX-512 intrinsics
// it emits for the masked tails of the vectorised reductions below.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "kernels/dispatch.hpp"
#include "reduce/tsne_internal.hpp"

namespace segmenta::tsne_detail {
namespace {

constexpr std::size_t kLanes = 16;  // list entries per vector step
constexpr std::size_t kPoints = 4;  // points of a group evaluated together
constexpr std::size_t kParallelBuildRows = 16384;  // below, a parallel build costs more than it saves

template <std::size_t D>
class Tree {
 public:
  Tree(double angle, std::size_t leaf_size) : angle2_(angle * angle), leaf_size_(std::max<std::size_t>(1, leaf_size)) {}

  static constexpr std::size_t kLeavesPerTask = 8;

  std::size_t tasks() const noexcept { return (leaves_.size() + kLeavesPerTask - 1) / kLeavesPerTask; }

  void run_task(std::size_t t, double* rep) {
    thread_local List list;
    const std::size_t e = std::min(leaves_.size(), (t + 1) * kLeavesPerTask);
    for (std::size_t g = t * kLeavesPerTask; g < e; ++g) evaluate_group(g, list, rep);
  }

  double z() const {
    const Blocks blocks{zbuf_.size(), 4096};
    double z = 0.0;
    for (std::size_t blk = 0; blk < blocks.count(); ++blk) {
      double s = 0.0;
      for (std::size_t i = blocks.begin(blk); i < blocks.end(blk); ++i) s += zbuf_[i];
      z += s;
    }
    return z;
  }

  void build(const double* y, std::size_t n) {
    build_tree(y, n);
    zbuf_.resize(n);
  }

 private:
  struct Point {
    double c[D];
    std::uint32_t index;
  };
  // What the traversal reads. Nodes are stored in pre-order, so node i's subtree
  // is [i, next) and a node without children (next == i + 1) is a leaf whose
  // points are pts_[begin, end).
  struct Node {
    double com[D];
    double width2;  // squared longest side of the node's cell
    std::uint32_t next, begin, end;
  };
  struct Leaf {
    std::uint32_t node;
    double lo[D], hi[D];  // bounding box of the leaf's points
  };
  // Interaction list, structure of arrays, coordinates relative to the group's
  // centre in float: every term of the sums is then computed to float precision
  // (as scikit-learn's float32 code does) at twice the vector width of double.
  struct List {
    std::array<std::vector<float>, D> c;
    std::vector<float> count;
    std::size_t size = 0;
    void reserve(std::size_t cap) {
      if (cap <= count.size()) return;
      cap = std::max<std::size_t>(cap, 2 * count.size());
      for (auto& v : c) v.resize(cap);
      count.resize(cap);
    }
  };

  void build_tree(const double* y, std::size_t n) {
    pts_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t a = 0; a < D; ++a) pts_[i].c[a] = y[i * D + a];
      pts_[i].index = static_cast<std::uint32_t>(i);
    }
    double lo[D], hi[D];
    for (std::size_t a = 0; a < D; ++a) lo[a] = hi[a] = pts_[0].c[a];
    for (std::size_t i = 1; i < n; ++i)
      for (std::size_t a = 0; a < D; ++a) {
        lo[a] = std::min(lo[a], pts_[i].c[a]);
        hi[a] = std::max(hi[a], pts_[i].c[a]);
      }
    double root_width = 0.0;
    for (std::size_t a = 0; a < D; ++a) root_width = std::max(root_width, hi[a] - lo[a]);
    min_width_ = root_width * 1e-9;
    nodes_.clear();
    leaves_.clear();
    nodes_.emplace_back();
    Node root{};
    root.begin = 0;
    root.end = static_cast<std::uint32_t>(n);
    if (n <= leaf_size_ || root_width == 0.0) {
      nodes_.clear();
      double sum[D];
      build_node(0, n, lo, hi, 0, nodes_, leaves_, sum);
      return;
    }
    // The root's children are built as independent subtrees (in parallel for large
    // n) and concatenated in child order: the same nodes for any thread count.
    double mid[D];
    for (std::size_t a = 0; a < D; ++a) mid[a] = 0.5 * (lo[a] + hi[a]);
    std::size_t cut[(1u << D) + 1];
    cut[0] = 0;
    cut[1u << D] = n;
    split(0, n, 0, 0, mid, cut);
    constexpr std::size_t kids = 1u << D;
    std::vector<Node> sub[kids];
    std::vector<Leaf> sub_leaves[kids];
    double sums[kids][D] = {};
    auto subtree = [&](std::size_t child) {
      if (cut[child] == cut[child + 1]) return;
      double clo[D], chi[D];
      child_cell(child, lo, hi, mid, clo, chi);
      build_node(cut[child], cut[child + 1], clo, chi, 1, sub[child], sub_leaves[child], sums[child]);
    };
    if (n >= kParallelBuildRows) {
      parallel_for(kids, subtree);
    } else {
      for (std::size_t child = 0; child < kids; ++child) subtree(child);
    }
    double total[D] = {}, width = 0.0;
    for (std::size_t child = 0; child < kids; ++child) {
      const auto offset = static_cast<std::uint32_t>(nodes_.size());
      for (Node nd : sub[child]) {
        nd.next += offset;
        nodes_.push_back(nd);
      }
      for (Leaf lf : sub_leaves[child]) {
        lf.node += offset;
        leaves_.push_back(lf);
      }
      for (std::size_t a = 0; a < D; ++a) total[a] += sums[child][a];
    }
    for (std::size_t a = 0; a < D; ++a) {
      root.com[a] = total[a] / static_cast<double>(n);
      width = std::max(width, hi[a] - lo[a]);
    }
    root.width2 = width * width;
    root.next = static_cast<std::uint32_t>(nodes_.size());
    nodes_[0] = root;
  }

  static void child_cell(std::size_t child, const double* lo, const double* hi, const double* mid, double* clo,
                         double* chi) {
    for (std::size_t a = 0; a < D; ++a) {
      const bool upper = (child >> (D - 1 - a)) & 1u;
      clo[a] = upper ? mid[a] : lo[a];
      chi[a] = upper ? hi[a] : mid[a];
    }
  }

  // Builds the subtree of pts_[b, e) in pre-order into `out` (indices relative to
  // out's start) and returns the coordinate sums of its points in `sum`.
  void build_node(std::size_t b, std::size_t e, const double* cell_lo, const double* cell_hi, int depth,
                  std::vector<Node>& out, std::vector<Leaf>& leaves, double* sum) {
    const std::size_t base = out.size();
    out.emplace_back();
    Node nd{};
    double width = 0.0;
    for (std::size_t a = 0; a < D; ++a) width = std::max(width, cell_hi[a] - cell_lo[a]);
    nd.width2 = width * width;
    nd.begin = static_cast<std::uint32_t>(b);
    nd.end = static_cast<std::uint32_t>(e);
    for (std::size_t a = 0; a < D; ++a) sum[a] = 0.0;
    // Identical or nearly identical points are not separated further: they share a leaf.
    if (e - b <= leaf_size_ || width <= min_width_ || depth >= 60) {
      Leaf leaf;
      for (std::size_t a = 0; a < D; ++a) leaf.lo[a] = leaf.hi[a] = pts_[b].c[a];
      for (std::size_t i = b; i < e; ++i)
        for (std::size_t a = 0; a < D; ++a) {
          sum[a] += pts_[i].c[a];
          leaf.lo[a] = std::min(leaf.lo[a], pts_[i].c[a]);
          leaf.hi[a] = std::max(leaf.hi[a], pts_[i].c[a]);
        }
      for (std::size_t a = 0; a < D; ++a) nd.com[a] = sum[a] / static_cast<double>(e - b);
      nd.next = static_cast<std::uint32_t>(base + 1);
      out[base] = nd;
      leaf.node = static_cast<std::uint32_t>(base);
      leaves.push_back(leaf);
      return;
    }
    double mid[D];
    for (std::size_t a = 0; a < D; ++a) mid[a] = 0.5 * (cell_lo[a] + cell_hi[a]);
    std::size_t cut[(1u << D) + 1];
    cut[0] = b;
    cut[1u << D] = e;
    split(b, e, 0, 0, mid, cut);
    for (std::size_t child = 0; child < (1u << D); ++child) {
      if (cut[child] == cut[child + 1]) continue;
      double clo[D], chi[D], s[D];
      child_cell(child, cell_lo, cell_hi, mid, clo, chi);
      build_node(cut[child], cut[child + 1], clo, chi, depth + 1, out, leaves, s);
      for (std::size_t a = 0; a < D; ++a) sum[a] += s[a];
    }
    for (std::size_t a = 0; a < D; ++a) nd.com[a] = sum[a] / static_cast<double>(e - b);
    nd.next = static_cast<std::uint32_t>(out.size());
    out[base] = nd;
  }

  void split(std::size_t b, std::size_t e, std::size_t a, std::size_t prefix, const double* mid, std::size_t* cut) {
    if (a == D) return;
    const auto it = std::partition(pts_.begin() + static_cast<std::ptrdiff_t>(b), pts_.begin() + static_cast<std::ptrdiff_t>(e),
                                   [&](const Point& p) { return p.c[a] < mid[a]; });
    const auto m = static_cast<std::size_t>(it - pts_.begin());
    const std::size_t hi_prefix = (prefix << 1) | 1u;
    cut[hi_prefix << (D - 1 - a)] = m;
    split(b, m, a + 1, prefix << 1, mid, cut);
    split(m, e, a + 1, hi_prefix, mid, cut);
  }

  void evaluate_group(std::size_t g, List& list, double* rep) {
    const Leaf& lf = leaves_[g];
    const std::uint32_t gid = lf.node;
    double centre[D];
    for (std::size_t a = 0; a < D; ++a) centre[a] = 0.5 * (lf.lo[a] + lf.hi[a]);
    list.size = 0;
    const Node* nodes = nodes_.data();
    const auto count = static_cast<std::uint32_t>(nodes_.size());
    for (std::uint32_t i = 0; i < count;) {
      const Node& nd = nodes[i];
      // Ancestors of the group (and the group itself) are always opened.
      if (!(i <= gid && gid < nd.next)) {
        double d2 = 0.0;
        for (std::size_t a = 0; a < D; ++a) {
          const double u = std::max({0.0, lf.lo[a] - nd.com[a], nd.com[a] - lf.hi[a]});
          d2 += u * u;
        }
        if (nd.width2 < angle2_ * d2) {
          list.reserve(list.size + 1);
          for (std::size_t a = 0; a < D; ++a) list.c[a][list.size] = static_cast<float>(nd.com[a] - centre[a]);
          list.count[list.size++] = static_cast<float>(nd.end - nd.begin);
          i = nd.next;
          continue;
        }
      }
      if (nd.next == i + 1) {
        list.reserve(list.size + (nd.end - nd.begin));
        for (std::uint32_t t = nd.begin; t < nd.end; ++t) {
          for (std::size_t a = 0; a < D; ++a) list.c[a][list.size] = static_cast<float>(pts_[t].c[a] - centre[a]);
          list.count[list.size++] = 1.0f;
        }
      }
      ++i;
    }
    // Pad with massless entries so that the list is whole vectors.
    list.reserve(list.size + kLanes);
    while (list.size % kLanes) {
      for (std::size_t a = 0; a < D; ++a) list.c[a][list.size] = 0.0f;
      list.count[list.size++] = 0.0f;
    }
    const Node& gn = nodes[gid];
    for (std::uint32_t t0 = gn.begin; t0 < gn.end; t0 += kPoints) {
      const std::uint32_t np = std::min<std::uint32_t>(kPoints, gn.end - t0);
      float p[kPoints][3] = {};
      for (std::uint32_t q = 0; q < np; ++q)
        for (std::size_t a = 0; a < D; ++a) p[q][a] = static_cast<float>(pts_[t0 + q].c[a] - centre[a]);
      float z[kPoints], f[kPoints][D];
      interact(list, p, z, f);
      for (std::uint32_t q = 0; q < np; ++q) {
        // The point itself is in its own leaf's list with w(0) = 1 and no force.
        const std::uint32_t idx = pts_[t0 + q].index;
        zbuf_[idx] = static_cast<double>(z[q]) - 1.0;
        for (std::size_t a = 0; a < D; ++a) rep[static_cast<std::size_t>(idx) * D + a] = f[q][a];
      }
    }
  }

  // Sums over the list for kPoints points at once, in the dispatched kernel
  // (src/kernels: each entry loaded once for all of them, the same sums on every
  // instruction set and build).
  static void interact(const List& list, const float (&p)[kPoints][3], float* z, float (*f)[D]) {
    static_assert(kPoints == kernels::kTsnePoints && kLanes == 16);
    const kernels::TsneList l{list.c[0].data(), list.c[1].data(), list.c[D - 1].data(), list.count.data(), list.size};
    const kernels::KernelTable& kt = kernels::table();
    if constexpr (D == 2)
      kt.tsne_interact_2d(l, p, z, &f[0][0]);
    else
      kt.tsne_interact_3d(l, p, z, &f[0][0]);
  }

  double angle2_;
  std::size_t leaf_size_;
  std::vector<Point> pts_;
  std::vector<Node> nodes_;
  std::vector<Leaf> leaves_;
  std::vector<double> zbuf_;
  double min_width_ = 0.0;
};

}  // namespace

struct BarnesHut::Impl {
  std::size_t d;
  std::unique_ptr<Tree<2>> t2;
  std::unique_ptr<Tree<3>> t3;
};

BarnesHut::BarnesHut(std::size_t d, double angle, std::size_t leaf_size) : impl_(std::make_unique<Impl>()) {
  impl_->d = d;
  if (d == 2)
    impl_->t2 = std::make_unique<Tree<2>>(angle, leaf_size);
  else
    impl_->t3 = std::make_unique<Tree<3>>(angle, leaf_size);
}

BarnesHut::~BarnesHut() = default;

double BarnesHut::repulsion(const double* y, std::size_t n, double* rep) {
  build(y, n);
  parallel_for(tasks(), [&](std::size_t t) { run_task(t, rep); });
  return z();
}

void BarnesHut::build(const double* y, std::size_t n) {
  if (impl_->d == 2)
    impl_->t2->build(y, n);
  else
    impl_->t3->build(y, n);
}

std::size_t BarnesHut::tasks() const noexcept { return impl_->d == 2 ? impl_->t2->tasks() : impl_->t3->tasks(); }

void BarnesHut::run_task(std::size_t t, double* rep) {
  if (impl_->d == 2)
    impl_->t2->run_task(t, rep);
  else
    impl_->t3->run_task(t, rep);
}

double BarnesHut::z() const { return impl_->d == 2 ? impl_->t2->z() : impl_->t3->z(); }

}  // namespace segmenta::tsne_detail
