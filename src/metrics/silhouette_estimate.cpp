// The silhouette estimated from a stratified sample of rows, each row's silhouette
// computed exactly against every row of the table: O(m n p) instead of O(n^2 p).
//
// Rows are laid out once per labeling in label order, as the exact engine's units
// (silhouette_engine.hpp), so that the dispatched silhouette kernels of src/kernels
// (direct differences for few columns, a GEMM tile with near pairs recomputed for
// many) sum the distances from a block of sampled rows to a chunk of one label's rows.
// Each sampled row's sums are accumulated by one task in a fixed order of chunks, so
// the result does not depend on the thread count. On several ranks each rank computes
// the sums of its share of the blocks of sampled rows (every chunk, in the same
// order) and the sums are gathered in block order: the same bits for any rank count.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include <fmt/format.h>

#include "core/block_share.hpp"
#include "kernels/dispatch.hpp"
#include "metrics/labels.hpp"
#include "metrics/row_source.hpp"
#include "metrics/silhouette_engine.hpp"
#include "metrics/validate.hpp"
#include "segmenta/kernels.hpp"
#include "segmenta/metrics.hpp"

namespace segmenta {
namespace {

// A distance whose squared value is below this share of |x|^2 + |y|^2 (centred rows)
// is recomputed by direct differences: the norm identity loses its digits there.
template <class T>
constexpr double kNear = std::is_same_v<T, float> ? 0x1p-5 : 0x1p-13;

constexpr std::size_t kQueryBlock = 64;   // sampled rows per task (a multiple of 8)
constexpr std::size_t kPanelRows = 2048;  // units per column chunk (a multiple of 8)

// Label units held at a time besides the sampled rows (a multiple of kPanelRows):
// 32768 rows of 51 doubles are 13 MB, where a copy of every row of a 10 M-row table
// would take 4 GB.
constexpr std::size_t kEstimatePanelUnits = 16 * kPanelRows;

std::size_t round8(std::size_t v) { return (v + 7) / 8 * 8; }

template <class T>
SilhouetteEstimate estimate(const detail::RowSource<T>& x, Labels labels, std::size_t sample_rows,
                            std::uint64_t random_state, std::vector<SilhouetteSampleRow>* rows_out,
                            const Communicator* comm = nullptr, std::size_t* computed_rows = nullptr) {
  if (sample_rows < 2) throw InvalidArgument("sample_rows: must be at least 2");
  const detail::EncodedLabels enc = detail::encode_labels(labels);
  detail::check_number_of_labels(enc, "labels");
  const std::size_t n = x.rows(), p = x.cols(), k = enc.k();

  // The sample: stratified by label (table rows, ascending).
  const std::vector<std::size_t> sample = stratified_label_sample(enc.codes, sample_rows, random_state);
  const std::size_t m = sample.size();

  // Unit layout of the dispatched silhouette kernels: the sampled rows first, then
  // every row in label order, each group padded to a multiple of 8 units of weight 0.
  const std::size_t mq = round8(m);
  std::vector<std::size_t> seg_begin(k), seg_end(k);
  std::size_t units = mq;
  for (std::size_t c = 0; c < k; ++c) {
    seg_begin[c] = units;
    seg_end[c] = units + round8(enc.counts[c]);
    units = seg_end[c];
  }
  std::vector<std::size_t> row_of_unit(units, n);  // n: padding
  for (std::size_t i = 0; i < m; ++i) row_of_unit[i] = sample[i];
  {
    std::vector<std::size_t> next(seg_begin);
    for (std::size_t i = 0; i < n; ++i) row_of_unit[next[static_cast<std::size_t>(enc.codes[i])]++] = i;
  }

  const bool gemm = p > detail::direct_max_features;
  constexpr std::size_t lanes = 8;
  // Centred rows for the GEMM: the identity's rounding error scales with |x|^2 + |y|^2.
  std::vector<double> mean(gemm ? p : 0, 0.0);
  if (gemm) {
    std::vector<T> scratch(p);
    for (std::size_t i = 0; i < n; ++i) {
      const T* r = x.row(i, scratch.data());
      for (std::size_t f = 0; f < p; ++f) mean[f] += static_cast<double>(r[f]);
    }
    for (double& v : mean) v /= static_cast<double>(n);
  }
  // The kernels index units from one origin: local unit u < mq is sampled unit u, and
  // local unit mq + j is unit `first + j` of the panel of label units being measured.
  // Only the sampled units and one panel of at most kEstimatePanelUnits units are held.
  const std::size_t panel_units = std::min(units - mq, kEstimatePanelUnits);
  const std::size_t local = mq + panel_units;
  AlignedVector<double> w(local, 0.0), drows, panel, norms;
  AlignedVector<T> trows;
  if (gemm) {
    trows.assign(local * p, T(0));
    norms.assign(local, 0.0);
  } else {
    drows.assign(mq * p, 0.0);  // the kernels read whole rows of the sampled units only
    panel.assign(local * p, 0.0);
  }
  // Writes unit u (a table row or padding) into local unit l.
  auto put = [&](std::size_t u, std::size_t l, T* scratch) {
    const std::size_t row = row_of_unit[u];
    w[l] = row < n ? 1.0 : 0.0;
    if (gemm) {
      T* dst = trows.data() + l * p;
      if (row == n) {
        std::fill(dst, dst + p, T(0));
        norms[l] = 0.0;
        return;
      }
      const T* src = x.row(row, scratch);
      double sq = 0.0;
      for (std::size_t f = 0; f < p; ++f) {
        dst[f] = static_cast<T>(static_cast<double>(src[f]) - mean[f]);
        sq += static_cast<double>(dst[f]) * static_cast<double>(dst[f]);
      }
      norms[l] = sq;
    } else {
      double* blk = panel.data() + (l / lanes) * p * lanes + l % lanes;
      if (row == n) {
        for (std::size_t f = 0; f < p; ++f) blk[f * lanes] = 0.0;
        return;
      }
      const T* src = x.row(row, scratch);
      for (std::size_t f = 0; f < p; ++f) {
        if (l < mq) drows[l * p + f] = static_cast<double>(src[f]);
        blk[f * lanes] = static_cast<double>(src[f]);
      }
    }
  };
  auto put_range = [&](std::size_t u0, std::size_t u1, std::size_t l0) {
    parallel_blocks(u1 - u0, 4096, [&](std::size_t b, std::size_t e, std::size_t) {
      std::vector<T> scratch(p);
      for (std::size_t j = b; j < e; ++j) put(u0 + j, l0 + j, scratch.data());
    });
  };
  put_range(0, mq, 0);

  // Column chunks: each label's units cut into pieces of at most kPanelRows units.
  struct Chunk {
    std::size_t begin, end, cluster;
  };
  std::vector<Chunk> chunks;
  for (std::size_t c = 0; c < k; ++c)
    for (std::size_t u = seg_begin[c]; u < seg_end[c]; u += kPanelRows)
      chunks.push_back({u, std::min(seg_end[c], u + kPanelRows), c});

  const kernels::KernelTable& kt = kernels::table();
  auto* kernel = !gemm ? kt.silhouette_direct
                 : std::is_same_v<T, float> ? kt.silhouette_gemm_f
                                            : kt.silhouette_gemm_d;
  // Each sampled row's label sums, added chunk by chunk in chunk order (panel after
  // panel), so the result does not depend on the thread count or the panel size.
  std::vector<double> sums(mq * k, 0.0);
  const Blocks qb{mq, kQueryBlock};
  const detail::BlockShare share = detail::BlockShare::of(comm, qb.count());
  const std::size_t qfirst = share.begin_block(qb), qlast = share.end_block(qb);
  if (computed_rows)
    for (std::size_t b = qfirst; b < qlast; ++b)
      for (std::size_t i = qb.begin(b); i < qb.end(b); ++i) *computed_rows += i < m;
  for (std::size_t c0 = 0; c0 < chunks.size() && qfirst < qlast;) {
    // The panel: consecutive chunks (consecutive units) up to kEstimatePanelUnits.
    const std::size_t first = chunks[c0].begin;
    std::size_t c1 = c0;
    while (c1 < chunks.size() && chunks[c1].end - first <= panel_units) ++c1;
    put_range(first, chunks[c1 - 1].end, mq);
    parallel_for(qlast - qfirst, [&](std::size_t task) {
      const std::size_t b = qfirst + task;
      const std::size_t q0 = qb.begin(b), q1 = qb.end(b), nq = q1 - q0;
      std::vector<double> out(nq);
      std::vector<T> g(gemm ? nq * kPanelRows : 0);
      std::vector<double> cacc(kPanelRows);  // column sums: not asked for
      kernels::SilhouetteSegment seg{};
      kernels::SilhouetteTile t;
      t.p = p;
      t.w = w.data();
      t.drows = drows.data();
      t.panel = panel.data();
      t.trows = trows.data();
      t.norms = norms.data();
      t.near_fraction = kNear<T>;
      t.gtile = g.data();
      t.ld = kPanelRows;
      t.r0 = q0;
      t.segs = &seg;
      t.nsegs = 1;
      t.cacc = cacc.data();
      for (std::size_t ci = c0; ci < c1; ++ci) {
        const Chunk& ch = chunks[ci];
        const std::size_t lb = mq + (ch.begin - first), le = mq + (ch.end - first);
        seg = {lb, le, static_cast<std::uint32_t>(ch.cluster)};
        t.c0 = lb;
        if (gemm)
          kernels::gemm_nt(nq, le - lb, p, T(1), trows.data() + q0 * p, p, trows.data() + lb * p, p, T(0), g.data(),
                           kPanelRows);
        kernel(t, q0, q1, false, out.data());
        for (std::size_t r = 0; r < nq; ++r) sums[(q0 + r) * k + ch.cluster] += out[r];
      }
    });
    c0 = c1;
  }
  detail::gather_block_rows(share, qb, k, sums.data(), "silhouette estimate");
  std::vector<double> value(m, 0.0);
  for (std::size_t i = 0; i < m; ++i) {
    const std::size_t own = static_cast<std::size_t>(enc.codes[sample[i]]);
    if (enc.counts[own] < 2) continue;  // a singleton's silhouette is 0 (scikit-learn)
    const double a = sums[i * k + own] / static_cast<double>(enc.counts[own] - 1);
    double bmin = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < k; ++c)
      if (c != own) bmin = std::min(bmin, sums[i * k + c] / static_cast<double>(enc.counts[c]));
    const double den = std::max(a, bmin);
    value[i] = den > 0 ? (bmin - a) / den : 0.0;
  }
  std::vector<std::int32_t> cluster_of(m);
  for (std::size_t i = 0; i < m; ++i) cluster_of[i] = enc.codes[sample[i]];

  // Stratified mean and its standard error (with the finite-population correction).
  std::vector<double> sum(k, 0.0), sq(k, 0.0);
  std::vector<std::size_t> taken(k, 0);
  for (std::size_t i = 0; i < m; ++i) {
    const auto c = static_cast<std::size_t>(cluster_of[i]);
    sum[c] += value[i];
    ++taken[c];
  }
  std::vector<double> cmean(k, 0.0);
  for (std::size_t c = 0; c < k; ++c)
    if (taken[c]) cmean[c] = sum[c] / static_cast<double>(taken[c]);
  for (std::size_t i = 0; i < m; ++i) {
    const auto c = static_cast<std::size_t>(cluster_of[i]);
    sq[c] += (value[i] - cmean[c]) * (value[i] - cmean[c]);
  }
  // Pooled within-label variance stands in for labels with a single sampled row.
  double pooled_sq = 0.0;
  std::size_t pooled_df = 0;
  for (std::size_t c = 0; c < k; ++c)
    if (taken[c] >= 2) {
      pooled_sq += sq[c];
      pooled_df += taken[c] - 1;
    }
  const double pooled = pooled_df ? pooled_sq / static_cast<double>(pooled_df) : 0.0;
  SilhouetteEstimate e;
  e.rows = m;
  e.population = n;
  double var = 0.0, est = 0.0;
  for (std::size_t c = 0; c < k; ++c) {
    const double w = static_cast<double>(enc.counts[c]) / static_cast<double>(n);
    if (taken[c] == 0) continue;  // fewer sampled rows than labels: the label is left out
    est += w * cmean[c];
    const double s2 = taken[c] >= 2 ? sq[c] / static_cast<double>(taken[c] - 1) : pooled;
    const double fpc = 1.0 - static_cast<double>(taken[c]) / static_cast<double>(enc.counts[c]);
    var += w * w * fpc * s2 / static_cast<double>(taken[c]);
  }
  e.mean = est;
  e.standard_error = std::sqrt(std::max(0.0, var));
  if (rows_out) {
    rows_out->clear();
    for (std::size_t i = 0; i < m; ++i) rows_out->push_back({sample[i], value[i]});  // ascending rows
  }
  return e;
}

}  // namespace

template <class T>
SilhouetteEstimate silhouette_estimate(MatrixView<T> x, Labels labels, std::size_t sample_rows,
                                       std::uint64_t random_state, std::vector<SilhouetteSampleRow>* rows_out) {
  detail::check_data(x, labels, "silhouette_estimate");
  return estimate(detail::RowSource<T>(x), labels, sample_rows, random_state, rows_out);
}

namespace detail {
template <class T>
SilhouetteEstimate silhouette_estimate_rows(const RowSource<T>& x, Labels labels, std::size_t sample_rows,
                                            std::uint64_t random_state, std::vector<SilhouetteSampleRow>* rows_out,
                                            const Communicator* comm, std::size_t* computed_rows) {
  check_rows(x, labels);
  return estimate(x, labels, sample_rows, random_state, rows_out, comm, computed_rows);
}
template SilhouetteEstimate silhouette_estimate_rows<double>(const RowSource<double>&, Labels, std::size_t,
                                                             std::uint64_t, std::vector<SilhouetteSampleRow>*,
                                                             const Communicator*, std::size_t*);
template SilhouetteEstimate silhouette_estimate_rows<float>(const RowSource<float>&, Labels, std::size_t,
                                                            std::uint64_t, std::vector<SilhouetteSampleRow>*,
                                                            const Communicator*, std::size_t*);
}  // namespace detail

template SilhouetteEstimate silhouette_estimate<double>(MatrixView<double>, Labels, std::size_t, std::uint64_t,
                                                        std::vector<SilhouetteSampleRow>*);
template SilhouetteEstimate silhouette_estimate<float>(MatrixView<float>, Labels, std::size_t, std::uint64_t,
                                                       std::vector<SilhouetteSampleRow>*);

}  // namespace segmenta
