// Internal state of a run shared by the stages and the methods.
#pragma once

#include <nlohmann/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "segmenta/cluster.hpp"
#include "segmenta/explain.hpp"
#include "segmenta/outliers.hpp"
#include "segmenta/pipeline.hpp"
#include "segmenta/prep.hpp"
#include "sweep.hpp"

namespace segmenta::detail {

/// With SEGMENTA_TRACE_MEMORY set, one line on standard error per stage: the resident
/// memory now and at its highest so far (VmRSS, VmHWM of /proc/self/status), to see
/// which stage holds what (docs/PERFORMANCE.md, "Memory"). Silent otherwise.
inline void trace_memory(const std::string& stage) {
  static const bool on = std::getenv("SEGMENTA_TRACE_MEMORY") != nullptr;
  if (!on) return;
  std::ifstream status("/proc/self/status");
  std::string line, rss = "?", hwm = "?";
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = line.substr(6);
    if (line.rfind("VmHWM:", 0) == 0) hwm = line.substr(6);
  }
  auto trim = [](std::string v) {
    v.erase(0, v.find_first_not_of(" \t"));
    return v;
  };
  std::fprintf(stderr, "memory after %-18s rss %12s  peak %12s\n", stage.c_str(), trim(rss).c_str(), trim(hwm).c_str());
}

/// Stage timer collecting (stage, seconds) in order.
struct Timings {
  std::vector<std::pair<std::string, double>> items;
  Stopwatch clock;
  void lap(const std::string& stage) {
    items.emplace_back(stage, clock.seconds());
    trace_memory(stage);
    clock.reset();
  }
  void add(const std::string& stage, double seconds) {
    items.emplace_back(stage, seconds);
    trace_memory(stage);
  }
};

struct RunContext {
  const RunParams& params;
  bool blog = false;
  Table table;      // the selected columns of every input row
  PrepResult prep;  // the encoded feature matrix of every row: the common space
  // Outliers: flags and scores of every row, the fitted detector, the space it ran in.
  std::vector<std::uint8_t> outlier;
  std::vector<double> outlier_score;
  std::optional<EcodModel> ecod;
  std::vector<std::string> outlier_features;
  std::string outlier_space;
  std::vector<std::size_t> rows;  // the clustered rows (indices into table), ascending
  // embed: the sentence embedding of every table row (table.rows(), dim) and how it was made
  MatrixF vectors;
  nlohmann::json embedding = nlohmann::json::object();
  Diagnostics diag;
  Timings timings;

  explicit RunContext(const RunParams& p) : params(p) {}
  /// The rows of the common feature matrix that are clustered, as a copy (353 bytes a
  /// row at 49 features); ClusteredCommon gives them without one.
  MatrixD common_clustered() const { return take_rows<double, std::size_t>(prep.features.view(), rows); }
  /// params.k clipped to the clustered row count; `--k auto` may go past 2..10
  /// (sweep_k) except with the blog preset.
  KSpec k_range() const;
};

/// The clustered rows of the common feature matrix without a copy of them: while it
/// lives, ctx.prep.features holds the clustered rows (ctx.rows, ascending) as its first
/// ctx.rows.size() rows, in order, and the other rows (the outliers) wait in a side
/// matrix; its destructor puts every row back where it was, bit for bit. Nothing may
/// read ctx.prep.features by table row in between. Costs the outliers' rows (a tenth
/// of the table by default) instead of the clustered ones.
class ClusteredCommon {
 public:
  explicit ClusteredCommon(RunContext& ctx) : x_(ctx.prep.features), rows_(ctx.rows) {
    const std::size_t n = x_.rows(), p = x_.cols();
    aside_.resize(n - rows_.size(), p);
    // The rows left out, in ascending order, into the side matrix.
    std::size_t next = 0, a = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (next < rows_.size() && rows_[next] == i) {
        ++next;
        continue;
      }
      std::memcpy(aside_.row(a++), x_.row(i), p * sizeof(double));
    }
    // rows_[j] >= j and ascending: moving forward never overwrites a row still to move.
    for (std::size_t j = 0; j < rows_.size(); ++j)
      if (rows_[j] != j) std::memcpy(x_.row(j), x_.row(rows_[j]), p * sizeof(double));
  }
  ~ClusteredCommon() {
    const std::size_t n = x_.rows(), p = x_.cols();
    // Backward, each clustered row to its place (rows_[j] >= j), then the others.
    for (std::size_t j = rows_.size(); j-- > 0;)
      if (rows_[j] != j) std::memcpy(x_.row(rows_[j]), x_.row(j), p * sizeof(double));
    std::size_t next = 0, a = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (next < rows_.size() && rows_[next] == i) {
        ++next;
        continue;
      }
      std::memcpy(x_.row(i), aside_.row(a++), p * sizeof(double));
    }
  }
  ClusteredCommon(const ClusteredCommon&) = delete;
  ClusteredCommon& operator=(const ClusteredCommon&) = delete;
  /// (ctx.rows.size(), p): row j is table row ctx.rows[j].
  ViewD view() const noexcept { return ViewD(x_.data(), rows_.size(), x_.cols()); }

 private:
  MatrixD& x_;
  const std::vector<std::size_t>& rows_;
  MatrixD aside_;
};

/// The k-prototypes space (mixed_space) of the clustered rows, made row by row on
/// demand from its compact form (the plan's numeric part and codes, 96 bytes a row
/// for bank-full where the space takes 408), with the same bits as mixed_space.
class MixedRows {
 public:
  /// d: the plan's transform of the clustered rows; gamma may be set later.
  MixedRows(const MixedPlan& plan, MixedPlan::Data d, double gamma = 1.0);
  void set_gamma(double gamma);
  std::size_t rows() const noexcept { return n_; }
  std::size_t width() const noexcept { return width_; }
  const MatrixD& numeric() const noexcept { return d_.numeric; }
  const Matrix<std::int32_t>& codes() const noexcept { return d_.codes; }
  /// Row i of the space into dst (width() values).
  void fill(std::size_t i, double* dst) const;
  /// The given rows (or every row) as a matrix.
  MatrixD take(std::span<const std::size_t> rows) const;
  MatrixD all() const;
  /// The rows as a source for the criteria (refers to this object).
  RowSource<double> source() const;

 private:
  MixedPlan::Data d_;
  std::size_t n_ = 0, width_ = 0;
  std::vector<std::size_t> offset_;
  double w_ = 0;
};

/// What one method produced.
struct MethodResult {
  Method id = Method::kmeans;
  std::string name;            // kmeans | kprototypes | embed
  std::string objective;       // "inertia" | "cost"
  std::string space;           // the space the silhouette, CH and DB are measured in
  Evaluation eval;             // the k sweep
  std::size_t k = 0;
  std::vector<std::int32_t> labels;  // per clustered row, segments numbered by decreasing size
  SweepPoint final;                  // metrics of the chosen k in the method's space (sizes renumbered)
  std::vector<double> probability;   // per clustered row, its segment's posterior (empty: the method has none)
  std::shared_ptr<const FittedMethod> fitted;  // what scoring needs; to_json() is the model.json part
  nlohmann::json details = nlohmann::json::object();  // method-specific facts for metrics.json
  // Space of every table row used for representative customers: (table.rows(), q)
  // and the segment centres in it (k, q) (empty: mean of the members).
  MatrixD rep_space, rep_centers;
  // rep_space is the common feature matrix (ctx.prep.features), used in place, not copied.
  bool rep_common = false;
  // Spaces of the clustered rows for the maps: map_d or map_f for PCA and t-SNE; a
  // method of mixed data gives its numeric part and categorical codes instead, and
  // gets FAMD and MCA in place of PCA.
  MatrixD map_d;
  MatrixF map_f;
  // map_d is the common feature matrix's clustered rows, taken in place (ClusteredCommon).
  bool map_common = false;
  MatrixD map_numeric;
  Matrix<std::int32_t> map_codes;
  std::string map_space;
  // A method of mixed data (lca, kprototypes): its space of the clustered rows, made
  // on demand in place of rep_space (representatives of the clustered rows) and
  // map_d; with mixed_famd its numeric part and codes stand for map_numeric and
  // map_codes too.
  std::shared_ptr<const MixedRows> mixed;
  bool mixed_famd = false;
};

/// The k-means sweep of the kmeans and embed methods on x (clustered rows, q): one fit
/// per k of ctx.k_range() with n_init restarts, evaluated into r.eval; sets r.k (the
/// recommendation) and r.details. Returns the fits in k order.
template <class T>
std::vector<KMeansModel<T>> sweep_kmeans(RunContext& ctx, MatrixView<T> x, std::size_t n_init, MethodResult& r);

/// The row template to use: the user's, the blog's with the blog preset, otherwise
/// every selected column as "name: {name}".
std::string row_template_spec(const std::string& user, bool blog, const Table& t, Diagnostics& diag);

/// Renders the rows to sentences and encodes them into ctx.vectors (timed "embed").
void embed_rows(RunContext& ctx);

/// PCA (FAMD and MCA for kprototypes) and t-SNE of a method's clustered rows.
MethodMaps compute_maps(RunContext& ctx, const MethodResult& r);

/// Renumbers `r.labels` (and the given centres' rows) by decreasing segment size,
/// sets r.final to the chosen k's sweep point with renumbered sizes, and renumbers
/// that point's silhouette plot data. Returns old -> new.
std::vector<std::int32_t> number_by_size(MethodResult& r, MatrixD* centers);

/// The space in which the k-prototypes dissimilarity is a squared Euclidean distance:
/// numeric columns, then per categorical column one indicator per level scaled by
/// sqrt(gamma / 2) (one mismatch changes two indicators); a code of -1 sets none.
/// (rows, p_num + levels)
MatrixD mixed_space(const MixedPlan& plan, const MixedPlan::Data& d, double gamma);

nlohmann::json profiles_json(const Profiles& p);
nlohmann::json explanation_json(const SurrogateExplanation& e, const std::vector<std::string>& feature_names);
nlohmann::json diagnostics_json(const Diagnostics& d);

}  // namespace segmenta::detail
