// segmenta pipeline: the end-to-end segmentation run, its parameters, the model
// file, and the synthetic demo data.
//
// run() takes a customer table through the whole workflow of the chosen method:
//   load -> prepare (column plan) -> outliers (ECOD) -> choose k (sweep with elbow,
//   silhouette, Calinski-Harabasz, Davies-Bouldin) -> cluster -> evaluate ->
//   profile -> deliver (segments.csv, metrics.json, profiles.csv, model.json,
//   run.json manifest, all written atomically: a failed run leaves no output).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "segmenta/core.hpp"
#include "segmenta/io.hpp"
#include "segmenta/table.hpp"

namespace segmenta {

enum class Method { kmeans, kprototypes, embed, all };
std::string_view to_string(Method m) noexcept;
/// "kmeans", "kprototypes", "embed", "all"; throws InvalidArgument naming `what`.
Method parse_method(std::string_view text, std::string_view what = "--method");

/// The k to use: a fixed value, or a range to sweep and recommend from.
struct KSpec {
  std::size_t lo = 2, hi = 10;  // inclusive range
  bool fixed = false;           // lo == hi and no sweep
  bool automatic = true;        // "auto": sweep 2..10
  /// "auto", "N" or "A..B" (A >= 2, B > A, B <= 100); throws InvalidArgument naming `what`.
  static KSpec parse(std::string_view text, std::string_view what = "--k");
  std::string str() const;
};

/// What happens to rows ECOD flags.
enum class OutlierPolicy { drop, flag, none };
OutlierPolicy parse_outlier_policy(std::string_view text, std::string_view what = "--outliers");

/// Every parameter of a run, with its default. The CLI fills it from flags; the
/// manifest records it.
struct RunParams {
  std::string data;       // input CSV path
  CsvOptions csv;         // delimiter, column selection, type overrides
  Method method = Method::kmeans;
  std::string preset = "standard";  // "standard" or "blog"
  KSpec k;
  double contamination = 0.1;
  OutlierPolicy outliers = OutlierPolicy::drop;
  std::uint64_t seed = 0;
  int threads = 0;  // 0 = SEGMENTA_THREADS or all cores
  std::string out_dir = "segmenta-out";
  bool quiet = false;

  // k-means. n_init 0 = the preset's default: 10 restarts per k (scikit-learn's
  // default), 30 with the blog preset — with 10, k = 3 and k = 8 of the bank data
  // reach the lowest-inertia optimum (the one scikit-learn's stream found for the
  // blog) only about three times in four; 30 restarts reach it for every seed tried.
  std::size_t n_init = 0;
  std::size_t max_iter = 300;
  double tol = 1e-4;

  // k-prototypes
  std::string kproto_init;      // "huang" or "cao"; empty = cao (kmodes' default), huang with the blog preset
  std::optional<double> gamma;  // weight of a categorical mismatch; default 0.5 * mean numeric std
  std::size_t kproto_max_iter = 100;
  bool kproto_batch = false;    // the batch (Lloyd-style) variant instead of kmodes' online updates

  // explanation: a surrogate classifier + TreeSHAP per method
  bool explain = true;

  // metrics: 0 = exact silhouette; otherwise the sample size of the sampled silhouette
  std::size_t silhouette_sample = 0;

  // embed: the sentence-transformers model folder, the row template ("" = the blog's
  // template with --preset blog, otherwise "name: {name}, ..." over every selected
  // column), the encoder's arithmetic, batch size and on-disk cache ("" = none).
  std::string model = "paraphrase-MiniLM-L6-v2";
  std::string row_template;
  std::string precision = "fp32";
  std::size_t embed_batch = 32;
  std::string embed_cache;

  // maps for the report: PCA (FAMD and MCA for kprototypes) of every clustered row,
  // t-SNE of a seeded sample of tsne_sample clustered rows (0 = no t-SNE).
  bool maps = true;
  std::size_t tsne_sample = 3000;
  std::size_t tsne_dims = 2;
  double perplexity = 30.0;

  // report.html next to the other outputs
  bool report = true;

  // Recorded verbatim in the manifest (the command line that produced the run).
  std::vector<std::string> command_line;
};

/// Per-k results of a sweep.
struct SweepPoint {
  std::size_t k = 0;
  double inertia = 0, silhouette = 0, calinski_harabasz = 0, davies_bouldin = 0;
  std::size_t n_iter = 0;
  std::vector<std::size_t> sizes;
  double seconds = 0;
};

/// Which k each criterion prefers and the recommendation drawn from them.
struct KRecommendation {
  std::optional<std::size_t> elbow;  // knee of the inertia curve
  std::size_t best_silhouette = 0, best_calinski_harabasz = 0, best_davies_bouldin = 0;
  std::size_t k = 0;
  std::string reason;
};

/// The model folder `spec` names: an existing directory as given, otherwise the folder
/// of that name under $SEGMENTA_MODELS. Throws IoError saying what is missing (the
/// folder, or its model.safetensors) and where to get it.
std::string resolve_model_dir(const std::string& spec);

/// Outputs of run(): what was written and the headline numbers (for the summary).
struct RunSummary {
  std::string out_dir;
  std::vector<std::string> files;  // written, relative to out_dir
  std::size_t rows = 0, clustered = 0, outliers = 0;
  std::size_t k = 0;
  std::vector<SweepPoint> sweep;
  KRecommendation recommendation;
  SweepPoint final;
  std::vector<std::pair<std::string, double>> timings;  // stage -> seconds
  Diagnostics diagnostics;
  std::string text;  // the readable summary printed by the CLI
};

/// Runs the whole workflow and writes the outputs to params.out_dir (created if
/// needed). Throws the segmenta::Error subtypes for bad input; nothing is written
/// unless every stage succeeded.
RunSummary run(const RunParams& params);

// ---------------------------------------------------------------------------
// Scoring new customers with a saved model
// ---------------------------------------------------------------------------

struct ScoreParams {
  std::string model;  // model.json written by run()
  std::string data;   // CSV with (at least) the model's columns, by name
  CsvOptions csv;     // delimiter etc.; column selection is taken from the model
  std::string out;    // output CSV path
  std::string method; // which of the model's segmentations ("" = the model's first)
  int threads = 0;
};

/// Assigns every row of params.data to a segment with the frozen model: the same
/// preparation (unseen categories treated as missing), ECOD scores against the
/// training distribution (no refit), nearest segment — k-means centre, k-prototypes
/// prototype (unseen categories mismatch every mode), or, for embed, the nearest
/// centre of the row's sentence embedding by the run's encoder folder, template and
/// precision (a folder whose weights changed since the run is an error). Writes `row, segment,
/// outlier, outlier_score` (segment left empty for outliers when the model's run
/// dropped them). Returns the number of rows scored. Throws ModelFormatError for a
/// malformed model, InvalidArgument when a model column is missing from the data.
std::size_t score(const ScoreParams& params);

// ---------------------------------------------------------------------------
// Demo data
// ---------------------------------------------------------------------------

struct DemoParams {
  std::size_t rows = 5000;
  std::uint64_t seed = 7;
};

/// A synthetic customer table with the schema of bank-full's first 8 columns
/// (age, job, marital, education, default, balance, housing, loan) drawn from five
/// planted segments (see docs/DEMO.md); `truth` receives each row's planted segment.
Table make_demo_table(const DemoParams& params, std::vector<std::int32_t>* truth = nullptr);

/// The demo table as CSV text (';'-separated and quoted like bank-full.csv).
std::string demo_csv(const Table& table);

// ---------------------------------------------------------------------------
// Stages as commands: maps and embeddings of a table or matrix
// ---------------------------------------------------------------------------

struct MapParams {
  std::string data;             // CSV (prepared as `segmenta run` does) or .npy matrix (used as is)
  CsvOptions csv;
  std::string preset = "standard";
  bool raw = false;             // CSV: use the numeric columns as they are, no preparation
  bool drop_outliers = false;   // keep only ECOD inliers (contamination below)
  double contamination = 0.1;
  std::string method = "pca";   // pca | tsne
  std::size_t dims = 2;         // 2 or 3
  double sample = 1.0;          // fraction of the rows, (0, 1] (or up to 10 with replacement)
  bool replace = false;         // sample with replacement (the blog's df.sample(frac=0.5, replace=True))
  double perplexity = 30.0;
  std::optional<double> learning_rate;  // unset = 'auto'
  std::size_t n_iter = 1000;
  std::string init = "pca";     // pca | random
  std::string tsne_method = "auto";  // auto | barnes_hut | fft | exact
  bool standardize = false;     // PCA on standardised columns (prince's default)
  std::uint64_t seed = 0;
  int threads = 0;
  std::string out;              // .csv (row, <method>1..dims) or .npy
  bool quiet = false;
};

/// Projects the rows of params.data and writes the coordinates (with each row's index
/// in the input) to params.out. Returns a readable summary (variance explained, KL).
std::string map_command(const MapParams& params);

struct EmbedParams {
  std::string data;
  CsvOptions csv;
  std::string preset = "standard";
  std::string model = "paraphrase-MiniLM-L6-v2";
  std::string row_template;     // "" = as RunParams
  std::string precision = "fp32";
  std::size_t batch = 32;
  std::string cache;            // "" = none
  int threads = 0;
  std::string out;              // .npy (float32) or .csv
  bool quiet = false;
};

/// Renders every row to a sentence and writes its embedding to params.out. Returns a
/// readable summary (sentences/s, cache hits).
std::string embed_command(const EmbedParams& params);

// ---------------------------------------------------------------------------
// The report of a run
// ---------------------------------------------------------------------------

/// Writes the HTML report (see segmenta/report.hpp) of the run whose outputs are in
/// `run_dir` (metrics.json, run.json, segments.csv; maps.csv when the run made maps)
/// to `out_file`, atomically. Representative customers are shown with their values
/// when the run's input file is still there unchanged. Throws IoError naming a
/// missing file, ParseError for a malformed one, InvalidArgument when the files do
/// not belong together (e.g. a segment column metrics.json does not list).
void write_report(const std::string& run_dir, const std::string& out_file);

}  // namespace segmenta
