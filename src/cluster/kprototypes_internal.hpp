// k-prototypes internals shared by the online and batch runs, the inits and the
// silhouette. Nothing here validates: the public entry points in kprototypes.cpp do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "segmenta/cluster.hpp"

namespace segmenta::kproto {

/// Prototype arrays are padded to a multiple of this many clusters so the loops over
/// clusters run on whole SIMD vectors.
inline constexpr std::size_t kLanes = 8;
inline std::size_t padded(std::size_t k) noexcept { return (k + kLanes - 1) / kLanes * kLanes; }

/// numpy's pairwise summation (what np.sum does along a contiguous axis): plain
/// running sum below 8 items, 8 interleaved partial sums up to 128 items, halving
/// above. `stride` is in elements.
double pairwise_sum(const double* a, std::size_t n, std::size_t stride = 1) noexcept;

/// Per-column mean and population std of x (n, p) in numpy's order for
/// np.mean(x, axis=0) / np.std(x, axis=0): a running sum down each column when
/// p >= 2, numpy's pairwise sum when p == 1 (numpy then reduces a contiguous axis).
void column_mean_std(ViewD x, std::vector<double>& mean, std::vector<double>& std);

/// The data of one fit, prepared once and shared (read-only) by every restart.
struct Data {
  std::size_t n = 0, p = 0, q = 0;
  ViewD num;                       // (n, p)
  MatrixView<std::int32_t> cat;    // (n, q), codes >= 0
  std::vector<std::int32_t> levels;      // m_j = 1 + largest code of column j
  std::vector<std::size_t> offset;       // q + 1 prefix sums of levels
  std::vector<std::size_t> level_count;  // rows holding level v of column j, at offset[j] + v
  std::vector<double> mean, std;         // numeric column statistics (numpy semantics)

  // Distinct categorical rows ("combos"), numbered in order of first appearance.
  std::size_t n_combos = 0;
  std::vector<std::int32_t> combo_of_row;  // n
  std::vector<std::int32_t> combo_codes;   // (n_combos, q)
  std::vector<std::size_t> combo_last;     // last row of each combo
  // Combos holding level v of column j: level_combos[level_start[o] .. level_start[o + 1])
  // with o = offset[j] + v.
  std::vector<std::size_t> level_start;
  std::vector<std::int32_t> level_combos;
  // Read the categorical part of d from a (combo, cluster) table instead of comparing
  // codes (worth it when combos are few).
  bool use_table = false;
  // Open-addressing index of the combos (slot = combo id or -1), for find_combo.
  std::vector<std::int32_t> combo_slots;

  // Column-wise copies for the row-blocked kernel: column j of rows [0, stride) at
  // j * stride, stride = n rounded up to a multiple of 8 (padding rows copy row 0);
  // combo_of_row is padded the same way.
  std::size_t stride = 0;
  AlignedVector<double> num_cols;        // (p, stride)
  AlignedVector<std::int32_t> cat_cols;  // (q, stride), only without the table

  // Distinct full rows (numeric values and codes), in order of first appearance.
  std::size_t n_distinct = 0;
  std::vector<std::int32_t> distinct_of_row;  // n
  std::vector<std::size_t> distinct_first;    // first row of each distinct row

  const std::int32_t* combo(std::size_t u) const noexcept { return combo_codes.data() + u * q; }
};

/// Builds Data (trusts the inputs: shapes agree, numbers finite, codes >= 0).
Data prepare(ViewD num, MatrixView<std::int32_t> cat);

/// Combo id of a code vector (q), or -1 when no row has exactly these codes.
std::int32_t find_combo(const Data& d, const std::int32_t* codes);

/// Categorical inits, (k, q) codes.
Matrix<std::int32_t> init_cao(const Data& d, std::size_t k);
Matrix<std::int32_t> init_huang(const Data& d, std::size_t k, Rng& rng);
Matrix<std::int32_t> init_random_rows(const Data& d, std::size_t k, Rng& rng);
/// mean + std * N(0, 1), (k, p), drawn row by row.
MatrixD init_numeric(const Data& d, std::size_t k, Rng& rng);

/// Prototypes of one run with the machinery to find a row's nearest one fast:
/// numeric centroids and modes stored cluster-minor (column j of all clusters is
/// contiguous) and, with Data::use_table, the mismatch count of every combo against
/// every prototype, kept up to date as modes change.
class Prototypes {
 public:
  Prototypes(const Data& d, std::size_t k, double gamma);

  std::size_t k() const noexcept { return k_; }
  double gamma() const noexcept { return gamma_; }
  double centroid(std::size_t l, std::size_t j) const noexcept { return c_[j * kp_ + l]; }
  void set_centroid(std::size_t l, std::size_t j, double v) noexcept { c_[j * kp_ + l] = v; }
  std::int32_t mode(std::size_t l, std::size_t j) const noexcept { return m_[j * kp_ + l]; }
  /// Changes one mode (and the mismatch table: O(rows of the two levels' combos)).
  void set_mode(std::size_t l, std::size_t j, std::int32_t v) noexcept;
  /// Sets every prototype, centroids (k, p) and modes (k, q); rebuilds the table.
  void set_all(const MatrixD& centroids, const Matrix<std::int32_t>& modes);

  /// Per-thread work space of nearest().
  struct Scratch {
    AlignedVector<double> acc, sq;
    AlignedVector<std::int32_t> cnt;
  };
  Scratch scratch() const;

  /// Nearest prototype of training row i (lowest index on ties); its dissimilarity in
  /// dmin. The overload without a Scratch uses the object's own (one thread only).
  std::size_t nearest(std::size_t i, double& dmin, Scratch& s) const noexcept;
  std::size_t nearest(std::size_t i, double& dmin) const noexcept { return nearest(i, dmin, own_); }

  /// Nearest prototypes of the rows [b, e) (e - b <= 8 when one call is wanted, any
  /// length otherwise) into lab[0..e-b) and dmin[0..e-b): with fewer than 8 numeric
  /// columns 8 rows are processed per step (the same arithmetic per row and
  /// prototype, so the same results as nearest()).
  void nearest_rows(std::size_t b, std::size_t e, std::int32_t* lab, double* dmin, Scratch& s) const noexcept;
  void nearest_rows(std::size_t b, std::size_t e, std::int32_t* lab, double* dmin) const noexcept {
    nearest_rows(b, e, lab, dmin, own_);
  }

  MatrixD centroids() const;
  Matrix<std::int32_t> modes() const;

 private:
  void numeric_part(const double* x, double* acc, double* sq) const noexcept;
  // Rows [i0, i0 + 8 R) when there are fewer than 8 numeric columns.
  template <std::size_t R>
  void nearest_block(std::size_t i0, std::int32_t* lab, double* dmin) const noexcept;

  const Data& d_;
  std::size_t k_, kp_;
  double gamma_;
  AlignedVector<double> c_;          // (p, kp)
  AlignedVector<std::int32_t> m_;    // (q, kp)
  AlignedVector<std::int32_t> mism_; // (n_combos, kp) when use_table
  AlignedVector<double> g_;          // gamma * mism_; +inf in the padding lanes (p >= 8)
  AlignedVector<double> gt_;         // the same transposed, (k, n_combos) (p < 8)
  AlignedVector<double> pad_;        // kp: 0 for real clusters, +inf for padding lanes
  mutable Scratch own_;
};

/// Outcome of one restart.
struct RunResult {
  MatrixD centroids;
  Matrix<std::int32_t> modes;
  std::vector<std::int32_t> labels;
  double cost = std::numeric_limits<double>::infinity();
  std::size_t n_iter = 0;
  std::vector<double> epoch_costs;
  bool converged = false;
  bool failed = false;           // no init without an empty cluster
  std::size_t init_tries = 0;
  bool random_fallback = false;  // switched to random rows after 20 tries
  std::size_t reseeds = 0;       // empty clusters refilled
};

/// One restart with the init method of params (online or batch per params.algorithm),
/// drawing from Rng::stream(params.random_state, restart). `cao` holds Cao's
/// prototypes (at least k rows) when params.init is cao.
RunResult run_restart(const Data& d, std::size_t k, double gamma, const KPrototypesParams& params,
                      std::size_t restart, const Matrix<std::int32_t>* cao);

/// One run from explicit prototypes; failed = true when a cluster gets no row. With
/// params.comm of several ranks and the batch algorithm, each rank reads only the rows
/// of its share of the blocks (run_restart ignores params.comm: the sweep deals out
/// whole restarts).
RunResult run_from(const Data& d, const MatrixD& centroids, const Matrix<std::int32_t>& modes, double gamma,
                   const KPrototypesParams& params);

/// Dissimilarities of arbitrary rows to fixed prototypes (predict): out (m, k).
void dissimilarities(ViewD num, MatrixView<std::int32_t> cat, const MatrixD& centroids,
                     const Matrix<std::int32_t>& modes, double gamma, double* out);

}  // namespace segmenta::kproto
