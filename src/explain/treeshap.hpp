// Internal: tree ensembles in a flat layout and path-dependent TreeSHAP on them.
//
// The trees are XGBoost's (parsed from its JSON model), evaluated the way XGBoost
// evaluates them: a row goes left at node j when float(x[feature_j]) < threshold_j,
// and a missing value (NaN) goes to the default child. Covers are XGBoost's
// hessian sums. Everything else is in double precision.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "segmenta/core.hpp"

namespace segmenta::explain_detail {

struct Tree {
  // Per node (node 0 is the root); children are -1 at leaves.
  std::vector<std::int32_t> left, right, feature;
  std::vector<float> threshold;
  std::vector<std::uint8_t> default_left;
  std::vector<double> value;  // leaf values (0 at internal nodes)
  std::vector<double> cover;  // hessian sums
  int group = 0;              // output (class) the tree adds to

  // Derived by finalize():
  std::vector<double> mean;                  // cover-weighted mean leaf value of each subtree
  std::vector<std::int32_t> internal_nodes;  // internal nodes reachable from the root, preorder
  std::vector<std::int32_t> internal_index;  // node -> position in internal_nodes, -1 for leaves
  int depth = 0;                             // longest root-to-leaf path (edges)

  std::size_t size() const noexcept { return left.size(); }
  bool is_leaf(std::int32_t node) const noexcept { return left[static_cast<std::size_t>(node)] < 0; }
};

/// Validates the node links (every child in range, a tree, no cycles) and computes
/// the derived fields; throws ModelFormatError on a malformed tree.
void finalize(Tree& tree);

struct Forest {
  std::vector<Tree> trees;
  std::size_t n_groups = 1;        // outputs (1 for binary models)
  std::size_t n_features = 0;
  std::vector<double> base_margin;  // per output, added to every margin

  /// Expected value of each output's margin: base margin + sum of root means.
  std::vector<double> expected_values() const;
};

/// Parses XGBoost's JSON model (gbtree, numerical splits only). `base_margin` is
/// the objective's margin of base_score (set by the caller, which knows the
/// objective). Throws ModelFormatError on anything unexpected.
Forest parse_xgboost_json(std::string_view json, double base_margin);

/// Adds tree's TreeSHAP values for one row to phi (n_features entries; the bias is
/// not included). `goes_left(node)` says whether the row takes the left child at an
/// internal node. `path` must hold path_capacity(tree) elements.
struct PathElement {
  std::int32_t feature;
  double zero_fraction, one_fraction, weight;
};
std::size_t path_capacity(const Tree& tree) noexcept;

template <class GoesLeft>
void tree_shap(const Tree& tree, const GoesLeft& goes_left, double* phi, PathElement* path);

/// Whether row value v goes left at `node` (XGBoost's rule).
inline bool goes_left(const Tree& tree, std::size_t node, double v) noexcept {
  if (v != v) return tree.default_left[node] != 0;
  return static_cast<float>(v) < tree.threshold[node];
}

/// Margins (n, n_groups) of rows x (n, p): base margin + sum of reached leaf values.
MatrixD predict_margins(const Forest& forest, ViewD x);

/// SHAP values (n, n_groups * (p + 1)), blocks as in SurrogateModel::contributions
/// (before the binary sign convention), the bias of each block set to the expected
/// value. The reference version runs tree_shap (Algorithm 2) for every tree and row.
MatrixD contributions_reference(const Forest& forest, ViewD x);

/// Nodes and weights of the q-point Gauss-Legendre rule on [0, 1] (exact for
/// polynomials of degree <= 2q - 1).
struct Quadrature {
  std::vector<double> t, w;
};
Quadrature gauss_legendre(int q);

/// The same values by the per-leaf closed form. For a leaf with value v whose path
/// splits on the distinct features j = 1..d (zero fraction z_j = product of the cover
/// ratios of the path's splits on j, one fraction o_j = 1 when the row satisfies all
/// of them, else 0), path-dependent TreeSHAP gives feature i
///   v (o_i - z_i) sum_{S of the others} |S|! (d-1-|S|)! / d! prod_{S} o_j prod_{not S} z_j
///   = v (o_i - z_i) * integral_0^1 prod_{j != i} (z_j + (o_j - z_j) t) dt,
/// a polynomial of degree d - 1 integrated exactly with ceil(d/2) Gauss-Legendre
/// points: O(d^2) multiplications per leaf, no division. Rows are taken in fixed
/// blocks, and within a block each tree is evaluated once per distinct pattern of
/// branch directions (a bit mask over its internal nodes). Parallel over (row
/// block, output); the result does not depend on the thread count. Agrees with
/// contributions_reference to rounding (~1e-12 relative).
MatrixD contributions(const Forest& forest, ViewD x);

/// Mean |SHAP| per segment and feature (k, p) of the sampled rows' contributions phi
/// (m, k * (p + 1)), post-stratified: a row of segment c weighs segment_rows[c] /
/// n_clustered / (c's sampled rows), normalised to a total of 1; segment_of_sample[r]
/// is row r's segment.
MatrixD post_stratified_mean_abs(const MatrixD& phi, std::span<const std::int32_t> segment_of_sample,
                                 std::span<const std::size_t> segment_rows, std::size_t n_clustered, std::size_t p);
/// The same in two steps, for sampled rows split among the ranks of a run: each row's
/// weight by segment (size k: segment c's weight above divided by the total), and the
/// addition of the rows of phi (segment_of_rows[r] is row r's segment) to out (k, p,
/// row-major), row after row in order, as post_stratified_mean_abs adds every row.
std::vector<double> post_stratified_weights(std::span<const std::int32_t> segment_of_sample,
                                            std::span<const std::size_t> segment_rows, std::size_t n_clustered);
void add_post_stratified(const MatrixD& phi, std::span<const std::int32_t> segment_of_rows,
                         std::span<const double> weight, std::size_t p, double* out);

// ---------------------------------------------------------------------------
// Template implementation
// ---------------------------------------------------------------------------

namespace detail {

// Appends an element to a path of `length` elements and updates the weights: the
// weight of position i is the share of feature orderings in which the first i
// path features are "present" (Lundberg et al. 2018, EXTEND).
inline void extend_path(PathElement* path, int length, double zero_fraction, double one_fraction,
                        std::int32_t feature) noexcept {
  path[length] = {feature, zero_fraction, one_fraction, length == 0 ? 1.0 : 0.0};
  const double denom = static_cast<double>(length + 1);
  for (int i = length - 1; i >= 0; --i) {
    path[i + 1].weight += one_fraction * path[i].weight * static_cast<double>(i + 1) / denom;
    path[i].weight = zero_fraction * path[i].weight * static_cast<double>(length - i) / denom;
  }
}

// Inverse of extend_path for element `index` of a path of `length` elements
// (Lundberg et al. 2018, UNWIND); the path shrinks by one.
inline void unwind_path(PathElement* path, int length, int index) noexcept {
  const int last = length - 1;
  const double one = path[index].one_fraction, zero = path[index].zero_fraction;
  const double scale = static_cast<double>(length);
  double next = path[last].weight;
  for (int j = last - 1; j >= 0; --j) {
    if (one != 0.0) {
      const double w = path[j].weight;
      path[j].weight = next * scale / (static_cast<double>(j + 1) * one);
      next = w - path[j].weight * zero * static_cast<double>(last - j) / scale;
    } else {
      path[j].weight = path[j].weight * scale / (zero * static_cast<double>(last - j));
    }
  }
  for (int j = index; j < last; ++j) {
    path[j].feature = path[j + 1].feature;
    path[j].zero_fraction = path[j + 1].zero_fraction;
    path[j].one_fraction = path[j + 1].one_fraction;
  }
}

// Sum of the weights unwind_path(path, length, index) would leave, without changing the path.
inline double unwound_sum(const PathElement* path, int length, int index) noexcept {
  const int last = length - 1;
  const double one = path[index].one_fraction, zero = path[index].zero_fraction;
  const double scale = static_cast<double>(length);
  double total = 0.0;
  if (one != 0.0) {
    double next = path[last].weight;
    for (int j = last - 1; j >= 0; --j) {
      const double w = next * scale / (static_cast<double>(j + 1) * one);
      total += w;
      next = path[j].weight - w * zero * static_cast<double>(last - j) / scale;
    }
  } else {
    for (int j = last - 1; j >= 0; --j) total += path[j].weight * scale / (zero * static_cast<double>(last - j));
  }
  return total;
}

// `parent` holds the caller's path (parent_length elements); this call builds its
// own path in `path` (which lies beyond the parent's) and recurses into the children
// with the space after it.
template <class GoesLeft>
void recurse(const Tree& tree, std::int32_t node, const PathElement* parent, int parent_length, PathElement* path,
             double zero_fraction, double one_fraction, std::int32_t feature, const GoesLeft& goes_left,
             double* phi) {
  std::copy(parent, parent + parent_length, path);
  extend_path(path, parent_length, zero_fraction, one_fraction, feature);
  int length = parent_length + 1;
  const auto n = static_cast<std::size_t>(node);
  if (tree.left[n] < 0) {
    const double leaf = tree.value[n];
    for (int i = 1; i < length; ++i) {
      const double w = unwound_sum(path, length, i);
      phi[path[i].feature] += w * (path[i].one_fraction - path[i].zero_fraction) * leaf;
    }
    return;
  }
  const std::int32_t split = tree.feature[n];
  const bool left = goes_left(n);
  const std::int32_t hot = left ? tree.left[n] : tree.right[n];
  const std::int32_t cold = left ? tree.right[n] : tree.left[n];
  const double cover = tree.cover[n];
  const double hot_fraction = cover > 0.0 ? tree.cover[static_cast<std::size_t>(hot)] / cover : 0.0;
  const double cold_fraction = cover > 0.0 ? tree.cover[static_cast<std::size_t>(cold)] / cover : 0.0;

  // A feature split on again below its first split keeps one path entry: undo the
  // earlier entry and fold its fractions into the new one.
  double incoming_zero = 1.0, incoming_one = 1.0;
  const int old_length = length;
  for (int k = 1; k < length; ++k) {
    if (path[k].feature == split) {
      incoming_zero = path[k].zero_fraction;
      incoming_one = path[k].one_fraction;
      unwind_path(path, length, k);
      --length;
      break;
    }
  }
  PathElement* child_path = path + old_length;
  recurse(tree, hot, path, length, child_path, incoming_zero * hot_fraction, incoming_one, split, goes_left, phi);
  recurse(tree, cold, path, length, child_path, incoming_zero * cold_fraction, 0.0, split, goes_left, phi);
}

}  // namespace detail

template <class GoesLeft>
void tree_shap(const Tree& tree, const GoesLeft& goes_left, double* phi, PathElement* path) {
  // The root entry is a placeholder (feature -1) that carries the weight 1.
  detail::recurse(tree, 0, path, 0, path, 1.0, 1.0, -1, goes_left, phi);
}

}  // namespace segmenta::explain_detail
