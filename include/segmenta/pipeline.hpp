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
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "segmenta/cluster.hpp"
#include "segmenta/core.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/explain.hpp"
#include "segmenta/io.hpp"
#include "segmenta/outliers.hpp"
#include "segmenta/prep.hpp"
#include "segmenta/reduce.hpp"
#include "segmenta/table.hpp"

namespace segmenta {

/// The clustering methods of segmenta/methods.inc, then `all` (every one of them on
/// the same rows).
enum class Method {
#define SEGMENTA_METHOD(name) name,
#include "segmenta/methods.inc"
#undef SEGMENTA_METHOD
  all
};
std::string_view to_string(Method m) noexcept;
/// Every clustering method (not `all`), in the order of methods.inc.
const std::vector<Method>& clustering_methods();
/// A method's name or "all"; throws InvalidArgument naming `what`.
Method parse_method(std::string_view text, std::string_view what = "--method");

/// The k to use: a fixed value, or a range to sweep and recommend from.
struct KSpec {
  std::size_t lo = 2, hi = 10;  // inclusive range
  bool fixed = false;           // lo == hi and no sweep
  bool automatic = true;        // "auto": sweep 2..10, and on while the criterion still improves at the end
  /// "auto", "N" or "A..B" (A >= 2, B > A, B <= 100); throws InvalidArgument naming `what`.
  static KSpec parse(std::string_view text, std::string_view what = "--k");
  std::string str() const;
};

/// What happens to rows ECOD flags.
enum class OutlierPolicy { drop, flag, none };
OutlierPolicy parse_outlier_policy(std::string_view text, std::string_view what = "--outliers");
/// "drop", "flag", "none".
std::string_view to_string(OutlierPolicy p) noexcept;

/// How a sweep chooses k (docs/USAGE.md, --k-criterion); automatic: bic-plateau for
/// lca, else the elbow, then stability, then silhouette.
enum class KCriterion {
  automatic,
  elbow,
  silhouette,
  calinski_harabasz,
  davies_bouldin,
  stability,
  bic,
  bic_plateau,
  icl
};
/// "auto", "elbow", "silhouette", "calinski-harabasz", "davies-bouldin", "stability",
/// "bic", "bic-plateau", "icl".
std::string_view to_string(KCriterion c) noexcept;
/// The names of to_string; throws ParameterError(what, …).
KCriterion parse_k_criterion(std::string_view text, std::string_view what = "k_criterion");

/// Every parameter of a run, with its default. The CLI fills it from flags; the
/// manifest records it.
struct RunParams {
  std::string data;       // input CSV path
  CsvOptions csv;         // delimiter, column selection, type overrides
  Method method = Method::lca;  // the latent-class model: the best recovery of planted segments (docs/QUALITY.md)
  PrepPreset preset = PrepPreset::standard;  // blog: the blog's columns, encoders, inits and template
  NumericTransform numeric = NumericTransform::yeo_johnson;  // numeric columns before every method
  KSpec k;
  double contamination = 0.1;
  OutlierPolicy outliers = OutlierPolicy::drop;
  std::uint64_t seed = 0;
  int threads = 0;  // 0 = SEGMENTA_THREADS or all cores
  std::string out_dir = "segmenta-out";
  bool quiet = false;

  // PostgreSQL (segmenta/postgres.hpp): the table or query a postgresql:// data
  // argument reads; a database the segments are also written to (--to), its table
  // and what to do when that table exists (fail | replace | append).
  std::string table, query;
  std::string to, to_table, if_exists = "fail";

  // k-means. n_init 0 = the preset's default: 10 restarts per k (scikit-learn's
  // default), 30 with the blog preset — with 10, k = 3 and k = 8 of the bank data
  // reach the lowest-inertia optimum (the one scikit-learn's stream found for the
  // blog) only about three times in four; 30 restarts reach it for every seed tried.
  std::size_t n_init = 0;
  std::size_t max_iter = 300;

  // Choosing k over a sweep: "auto" (see docs/USAGE.md), elbow, silhouette,
  // calinski-harabasz, davies-bouldin, stability, bic, bic-plateau or icl (the last
  // three: lca only).
  KCriterion k_criterion = KCriterion::automatic;
  // Pairs of subsamples of the stability criterion; unset: 4, none with the blog
  // preset unless the criterion is stability.
  std::optional<std::size_t> stability_pairs;
  double tol = 1e-4;

  // k-prototypes
  std::optional<KPrototypesInit> kproto_init;  // unset: cao (kmodes' default), huang with the blog preset
  std::optional<double> gamma;  // weight of a categorical mismatch; default 0.5 * mean numeric std
  std::size_t kproto_max_iter = 100;
  bool kproto_batch = false;    // the batch (Lloyd-style) variant instead of kmodes' online updates

  // explanation: a surrogate classifier + TreeSHAP per method
  bool explain = true;

  // metrics: the silhouette of each k is exact up to silhouette_exact_max clustered
  // rows, above that estimated on silhouette_sample rows (0: kSilhouetteEstimateRows)
  // with its standard error; silhouette_sample > 0 asks for the estimate at any size.
  std::size_t silhouette_sample = 0;
  std::size_t silhouette_exact_max = 100000;
  // The k sweep on a sample: above sweep_all_max clustered rows each k is fitted on a
  // seeded sample of sweep_sample rows (0: max(256 x the largest k, 50,000)), then the
  // chosen k on all rows (kmeans and embed).
  std::size_t sweep_sample = 0;
  std::size_t sweep_all_max = 100000;

  // embed: the sentence-transformers model folder, the row template ("" = the blog's
  // template with --preset blog, otherwise "name: {name}, ..." over every selected
  // column), the encoder's arithmetic, batch size and on-disk cache ("" = none).
  std::string model = "paraphrase-MiniLM-L6-v2";
  std::string revision;  // of a Hugging Face id ("" = main)
  std::string prompt;    // name of a prompt of the model (config_sentence_transformers.json; "" = its default)
  std::string row_template;
  EmbedPrecision precision = EmbedPrecision::fp32;
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

// ---------------------------------------------------------------------------
// The parameter table: every run parameter declared once
// ---------------------------------------------------------------------------

/// A run parameter is out of its domain. what() is "<parameter>: <message>" with the
/// parameter's library name (e.g. "contamination"); a front end says it with its own
/// name for the parameter instead (the CLI's --contamination).

/// One run parameter: its names, how it is given, its documentation, how a value is
/// parsed into RunParams, its domain check and its entry in run.json.
struct ParamSpec {
  std::string_view name;   // the library's name, and the run.json key
  std::string_view flag;   // the command-line option
  bool is_switch = false;  // a flag without a value (set() receives "true")
  std::string_view value;  // what the value looks like, e.g. "N", "A..B", "kmeans|..."
  std::string_view default_text;  // the default as the documentation states it ("" = none)
  std::string_view help;
  /// Parses `text` into p; throws ParameterError naming the parameter.
  void (*set)(RunParams& p, std::string_view text) = nullptr;
  /// Checks p's value; throws ParameterError. Null: every parsed value is valid.
  void (*check)(const RunParams& p) = nullptr;
  /// The value recorded in run.json's "parameters"; null: not recorded.
  nlohmann::json (*manifest)(const RunParams& p) = nullptr;
};

/// Every parameter of `segmenta run`, in the order of the documentation.
const std::vector<ParamSpec>& run_param_specs();
/// The parameter called `name` (library name) or with the option `flag`; null if none.
const ParamSpec* find_run_param(std::string_view name_or_flag);
/// Sets the parameter `name` of p from text (as the command line gives it).
void set_run_param(RunParams& p, std::string_view name, std::string_view text);
/// run.json's "parameters": every recorded parameter of p.
nlohmann::json run_params_json(const RunParams& p);
/// The flag table of docs/USAGE.md (Markdown), generated from the specs.
std::string run_params_markdown();

/// The defaults that depend on the preset and the method, resolved in one place:
/// restarts per k (n_init 0: 30 for kmeans with the blog preset, else 10) and the
/// k-prototypes initialisation ("cao", "huang" with the blog preset).
std::size_t effective_n_init(const RunParams& params, Method method);
KPrototypesInit effective_kproto_init(const RunParams& params);
std::size_t effective_stability_pairs(const RunParams& params);

/// Per-k results of a sweep.
struct SweepPoint {
  std::size_t k = 0;
  double inertia = 0, silhouette = 0, calinski_harabasz = 0, davies_bouldin = 0;
  // An estimated silhouette: its standard error and the rows of its sample (NaN and 0
  // for the exact silhouette of every row).
  double silhouette_se = std::numeric_limits<double>::quiet_NaN();
  std::size_t silhouette_rows = 0;
  // Mean ARI between fits on pairs of seeded subsamples (NaN: not measured); the
  // latent-class model's BIC and ICL (NaN for the other methods).
  double stability = std::numeric_limits<double>::quiet_NaN();
  double bic = std::numeric_limits<double>::quiet_NaN(), icl = std::numeric_limits<double>::quiet_NaN();
  std::size_t n_iter = 0;
  std::vector<std::size_t> sizes;
  double seconds = 0;
};

/// Which k each criterion prefers and the recommendation drawn from them.
struct KRecommendation {
  std::optional<std::size_t> elbow;  // knee of the inertia curve
  std::size_t best_silhouette = 0, best_calinski_harabasz = 0, best_davies_bouldin = 0;
  std::optional<std::size_t> best_stability, best_bic, best_icl;  // where measured
  std::size_t k = 0;
  std::string criterion;  // the criterion that chose k ("fixed" for a single k)
  std::string reason;
};

/// Where a sentence-transformers model was found: its folder and, for a model named
/// by Hugging Face id, the id, the commit of the revision and the sha256 of its
/// weights as the cache names them ("" for a plain folder).
struct ModelLocation {
  std::string dir;
  std::string id;
  std::string revision;
  std::string weights_sha256;
};

/// The model `spec` names, in this order: an existing directory as given; the folder
/// of that name under $SEGMENTA_MODELS; a Hugging Face id ("org/name", or a bare name
/// read as sentence-transformers/<name>) at `revision` ("" = main) in the Hugging Face
/// cache (HF_HUB_CACHE, HF_HOME, ~/.cache/huggingface/hub), downloaded into it from
/// HF_ENDPOINT when missing unless HF_HUB_OFFLINE is set. Throws IoError saying what
/// is missing (the folder, the cached model, its model.safetensors, the download's
/// URL and cause) and where to get it.
ModelLocation locate_model(const std::string& spec, const std::string& revision = "");
std::string resolve_model_dir(const std::string& spec, const std::string& revision = "");

/// Rows of the estimated silhouette when RunParams::silhouette_sample is 0: a
/// standard error of about 0.004 for the usual spread of silhouette values (0.15 to
/// 0.25), at O(2000 n p) per k.
inline constexpr std::size_t kSilhouetteEstimateRows = 2000;

/// The k sweep of one method: per-k criteria in the method's space, silhouette plot
/// data per k (of the sampled rows when the silhouette was estimated) and the
/// recommendation. A sweep on a sample (sample_rows > 0 of all_rows) fits and scores
/// every k on those rows; the chosen k is then fitted on all rows, from the sample
/// fit's centres, prototypes or class parameters, and `final_all_rows` holds its
/// criteria on every row.
struct KSweep {
  std::vector<SweepPoint> points;
  std::vector<nlohmann::json> silhouette_profiles;
  KRecommendation recommendation;
  double silhouette_seconds = 0, metrics_seconds = 0, stability_seconds = 0;
  std::size_t sample_rows = 0, all_rows = 0;
  std::optional<SweepPoint> final_all_rows;
};

/// Rows to score with a fitted method: the table (the model's columns, by name), its
/// encoded features (prep's transform) and, for methods that cluster sentence
/// embeddings, the rows' vectors (empty otherwise).
struct ScoringInput {
  const Table& table;
  ViewD features;
  ViewD vectors;
};

/// A fitted segmentation of one method: everything `segmenta score` needs to assign
/// new rows. Each registered method has its own (see src/pipeline/method.hpp).
class FittedMethod {
 public:
  virtual ~FittedMethod() = default;
  virtual Method method() const noexcept = 0;
  virtual std::size_t k() const noexcept = 0;
  /// Whether predict() needs ScoringInput::vectors.
  virtual bool needs_embeddings() const noexcept { return false; }
  /// The method's part of model.json.
  virtual nlohmann::json to_json() const = 0;
  /// The segment of every row (0..k-1; -1 where the row cannot be assigned).
  virtual std::vector<std::int32_t> predict(const ScoringInput& in) const = 0;
  /// Per row, the posterior probability of the segment predict() gives; empty for
  /// methods without a posterior (only lca has one).
  virtual std::vector<double> probability(const ScoringInput& in) const {
    (void)in;
    return {};
  }
};

/// Map coordinates of one method's clustered rows: named columns (NaN outside a
/// sample, e.g. t-SNE's) and their description for metrics.json.
struct MethodMaps {
  std::vector<std::pair<std::string, std::vector<double>>> columns;
  nlohmann::json info = nlohmann::json::array();
  /// Under mpirun (several ranks): the columns hold only this rank's clustered rows,
  /// in row order: those it projected and formats in maps.csv (its share of each
  /// round of 4,096-row blocks, as PcaModel::row_coordinates). False: every row.
  bool rank_rows = false;
};

/// The outcome of one method.
struct MethodSegmentation {
  Method method = Method::kmeans;
  std::string name;       // kmeans | kprototypes | embed | lca
  std::string objective;  // "inertia" | "cost" | "bic"
  std::string space;      // where silhouette, Calinski-Harabasz and Davies-Bouldin were measured
  KSweep sweep;
  std::size_t k = 0;
  std::vector<std::int32_t> labels;          // per clustered row, segments numbered by decreasing size
  std::vector<std::int32_t> segment_of_row;  // per table row; -1 = not clustered
  /// Per table row, the posterior probability of its segment (NaN = not clustered);
  /// empty for methods without one (only lca has one).
  std::vector<double> probability;
  SweepPoint final;                          // metrics of the chosen k (sizes renumbered)
  std::shared_ptr<const FittedMethod> model;
  nlohmann::json details = nlohmann::json::object();  // method-specific facts for metrics.json
  Profiles profiles;
  std::optional<SurrogateExplanation> explanation;  // absent with explain off or k < 2
  std::optional<MethodMaps> maps;                   // absent with maps off
};

/// ECOD's verdict on every table row and the fitted detector.
struct OutlierResult {
  OutlierPolicy policy = OutlierPolicy::drop;
  double contamination = 0.1;
  std::vector<std::uint8_t> flagged;  // per table row
  std::vector<double> score;          // per table row; NaN with --outliers none
  std::optional<EcodModel> model;
  std::vector<std::string> features;  // names of the dimensions ECOD saw
  std::string space;                  // their description
  bool on_embeddings = false;         // ECOD ran on sentence embeddings (embed alone)
  std::size_t count() const noexcept;
};

/// Methods compared on the same rows in the common (encoded feature) space.
struct MethodComparison {
  struct Entry {
    std::string method;
    std::size_t k = 0;
    SweepPoint common;  // silhouette, Calinski-Harabasz, Davies-Bouldin in the common space
  };
  std::string common_space;
  std::vector<Entry> methods;
  std::vector<std::vector<double>> adjusted_rand_index;  // method x method
};

/// Everything a run computes, typed; the output files, the summary and the report are
/// all made from it.
struct SegmentationResult {
  RunParams params;  // as given (defaults that depend on the preset are resolved per method)
  bool blog = false;
  Provenance input;  // where the table came from (kind "memory" when handed over in memory)
  Table table;  // the selected columns of every input row
  PrepModel prep;
  OutlierResult outliers;
  std::vector<std::size_t> rows;  // the clustered rows (indices into table), ascending
  std::vector<MethodSegmentation> methods;
  std::optional<MethodComparison> comparison;  // with several methods
  nlohmann::json embedding;                    // how the sentence embeddings were made (null without)
  Diagnostics diagnostics;
  std::vector<std::pair<std::string, double>> timings;  // stage -> seconds
  /// The method of that name; throws InvalidArgument when the run did not use it.
  const MethodSegmentation& method(std::string_view name) const;
};

/// Checks every parameter of a run; throws ParameterError naming the first bad one.
void validate_run_params(const RunParams& params);

/// Segments a table in memory: prepare, flag outliers, run each method of
/// params.method (sweep k, cluster, evaluate), profile, explain, map and compare.
/// Nothing is read or written (the embed method reads its model folder and cache).
/// `input` says where the table came from. Throws InvalidArgument naming the
/// parameter for bad parameters.
SegmentationResult segment(const Table& table, const RunParams& params, Provenance input = {});
/// The same, taking the table over instead of copying it (the result keeps it).
SegmentationResult segment(Table&& table, const RunParams& params, Provenance input = {});

/// The output files of a result, as run() writes them: name -> content, in the order
/// written (segments.csv, profiles, maps.csv, metrics.json, model.json, report.html
/// when params.report, run.json).
struct OutputFiles {
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<std::pair<std::string, double>> timings;  // the result's, plus write and report
};
OutputFiles render_outputs(const SegmentationResult& result);

/// Writes render_outputs(result) to `dir` (created if needed) all or nothing.
/// Returns the file names written.
std::vector<std::string> write_outputs(const SegmentationResult& result, const std::string& dir);

/// Where the results of a run go: a directory of files today, later a database
/// table. A sink is opened before any data are read, so that a destination that
/// cannot be written fails first, and it commits a result as a whole: after a
/// failure (or an interrupted run) the destination is as it was.
class Sink {
 public:
  virtual ~Sink() = default;
  /// Writes the result (its outputs already rendered as `files`) and commits it.
  /// Returns what was written, as the summary lists it (file or table names).
  virtual std::vector<std::string> write(const SegmentationResult& result, const OutputFiles& files) = 0;
  /// Where the results go, for messages and the summary.
  virtual std::string describe() const = 0;
};

/// A directory of output files (segments.csv ... run.json): staged beside `dir`
/// and swapped in as a whole (docs/USAGE.md, "Outputs"). Throws IoError when `dir`
/// cannot be written.
std::unique_ptr<Sink> open_directory_sink(const std::string& dir);

/// The sink a destination names. Today every destination is a directory.
std::unique_ptr<Sink> open_sink(const std::string& destination);

/// The readable summary of a result (what the CLI prints); `files` and `dir` say
/// what was written, `seconds` the run's total time.
std::string summary_text(const SegmentationResult& result, const std::vector<std::string>& files,
                         const std::string& dir, const std::vector<std::pair<std::string, double>>& timings,
                         double seconds);

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
  std::shared_ptr<const SegmentationResult> result;
};

/// Reads params.data (a CSV file, or standard input for "-"), segments it and writes the outputs to params.out_dir (created
/// if needed). Throws the segmenta::Error subtypes for bad input; nothing is written
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
  bool quiet = false;  // no progress line (the CLI also leaves out its summary)
  // A postgresql:// data argument's table or query; a database table to write the
  // scores to (--to, --to-table, --if-exists), with or without the CSV of `out`.
  std::string table, query;
  std::string to, to_table, if_exists = "fail";
};

/// What a saved model says about each row of a table: the segment (-1 where the
/// model cannot assign it), the posterior of that segment (lca only, else empty),
/// the ECOD flag and score (NaN when the run had no outlier stage). `dropped`: the
/// model's run dropped outliers, so their segment is not meaningful.
struct TableScores {
  std::string method;
  std::vector<std::int32_t> segment;
  std::vector<double> probability;
  std::vector<std::uint8_t> outlier;
  std::vector<double> outlier_score;
  bool dropped = false;
};

/// The columns a model reads, by name, with the type to read each as (binary
/// columns as categorical): the type overrides for reading new rows.
std::vector<std::pair<std::string, ColumnType>> model_columns(const nlohmann::json& model);
/// The model's columns read from dates: their order and reference date, so that new
/// rows count days from the same date as the fit.
std::vector<std::pair<std::string, DateSpec>> model_dates(const nlohmann::json& model);

/// Scores `table` (the model's columns, by name, typed as model_columns says) with
/// the parsed model file `model` (`origin` names it in messages), as score() does for
/// a file: the same preparation, ECOD against the training data, the method's
/// predict. `method` "" = the model's own. Throws ModelFormatError for a malformed
/// model, InvalidArgument for a missing column or an unknown method.
TableScores score_table(const nlohmann::json& model, const Table& table, const std::string& method = "",
                        const std::string& origin = "model");

/// Assigns every row of params.data to a segment with the frozen model: the same
/// preparation (unseen categories treated as missing), ECOD scores against the
/// training distribution (no refit), nearest segment — k-means centre, k-prototypes
/// prototype (unseen categories mismatch every mode), or, for embed, the nearest
/// centre of the row's sentence embedding by the run's encoder folder, template and
/// precision (a folder whose weights changed since the run is an error), or the most
/// probable latent class (lca). Writes `row, segment, outlier, outlier_score` (lca:
/// `probability`, the segment's posterior, after `segment`; both left empty for
/// outliers when the model's run dropped them). Returns the number of rows scored. Throws ModelFormatError for a
/// malformed model, InvalidArgument when a model column is missing from the data.
std::size_t score(const ScoreParams& params);

/// score() for any source and destination: a postgresql:// data argument (table or
/// query) and/or a database table (params.to) beside or instead of the CSV output.
/// The output CSV and the table are written only when every row was scored; the
/// table in one transaction. Returns the number of rows scored.
std::size_t score_to_database(const ScoreParams& params);

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

/// pca and tsne project the prepared table (or a .npy matrix); mca projects the
/// categorical columns, famd the numeric and categorical ones (as k-prototypes sees
/// them: numeric Yeo-Johnson + standardised, categories coded).
enum class MapMethod { pca, tsne, mca, famd };
std::string_view to_string(MapMethod m) noexcept;
/// "pca", "tsne", "mca" or "famd"; throws ParameterError(what, …).
MapMethod parse_map_method(std::string_view text, std::string_view what = "method");

struct MapParams {
  std::string data;             // CSV (prepared as `segmenta run` does) or .npy matrix (used as is)
  CsvOptions csv;
  PrepPreset preset = PrepPreset::standard;
  bool raw = false;             // CSV: use the numeric columns as they are, no preparation
  bool drop_outliers = false;   // keep only ECOD inliers (contamination below)
  double contamination = 0.1;
  MapMethod method = MapMethod::pca;
  std::size_t dims = 2;         // 2 or 3
  double sample = 1.0;          // fraction of the rows, (0, 1] (or up to 10 with replacement)
  bool replace = false;         // sample with replacement (the blog's df.sample(frac=0.5, replace=True))
  double perplexity = 30.0;
  std::optional<double> learning_rate;  // unset = 'auto'
  std::size_t n_iter = 1000;
  TsneInit init = TsneInit::pca;
  TsneMethod tsne_method = TsneMethod::automatic;
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
  PrepPreset preset = PrepPreset::standard;
  std::string model = "paraphrase-MiniLM-L6-v2";
  std::string revision;         // of a Hugging Face id ("" = main)
  std::string prompt;           // "" = the model's default prompt, if any
  std::string row_template;     // "" = as RunParams
  EmbedPrecision precision = EmbedPrecision::fp32;
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
