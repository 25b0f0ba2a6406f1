// The segmenta command: a thin layer of flags over the pipeline library.
// Exit codes: 0 success, 1 unexpected failure, 2 invalid arguments or parameters,
// 3 malformed input data, 4 file system errors, 5 malformed model files.
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "segmenta/core.hpp"
#include "segmenta/io.hpp"
#include "segmenta/metrics.hpp"
#include "segmenta/pipeline.hpp"

namespace {

using namespace segmenta;

/// --delimiter: one character, or "tab" / "\t"; empty = sniff (0).
char parse_delimiter(const std::string& text) {
  if (text.empty()) return 0;
  const std::string d = text == "\\t" || text == "tab" ? "\t" : text;
  if (d.size() != 1) throw InvalidArgument(fmt::format("--delimiter: expected one character, got '{}'", text));
  return d[0];
}

/// Where embeddings are cached unless --cache or --no-cache says otherwise.
std::string default_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg) return (std::filesystem::path(xdg) / "segmenta" / "embeddings").string();
  const char* home = std::getenv("HOME");
  if (home && *home) return (std::filesystem::path(home) / ".cache" / "segmenta" / "embeddings").string();
  return "";
}

/// Embedding options shared by `run`, `demo` and `embed`.
struct EmbedFlags {
  std::string model = "paraphrase-MiniLM-L6-v2", row_template, precision = "fp32", cache;
  std::size_t batch = 32;
  bool no_cache = false;

  void add_to(CLI::App& app) {
    app.add_option("--model", model,
                   "sentence-transformers model folder (or its name under SEGMENTA_MODELS)")->capture_default_str();
    app.add_option("--template", row_template,
                   "row sentence: 'blog', a template like 'Age: {age}, job: {job}', or @FILE (default: every column as "
                   "'name: value'; the blog's with --preset blog)");
    app.add_option("--precision", precision, "encoder arithmetic: fp32 | bf16 | int8")->capture_default_str();
    app.add_option("--batch-size", batch, "sentences per encoder batch")->capture_default_str();
    app.add_option("--cache", cache, "embedding cache directory (default: $XDG_CACHE_HOME/segmenta/embeddings)");
    app.add_flag("--no-cache", no_cache, "do not read or write the embedding cache");
  }
  std::string template_text() const {
    if (row_template.size() > 1 && row_template[0] == '@') return read_file(row_template.substr(1));
    return row_template;
  }
  std::string cache_dir() const { return no_cache ? std::string() : cache.empty() ? default_cache_dir() : cache; }
};

/// OpenMP threads that finish a parallel region early spin while they wait for the
/// others (libgomp's default). On a machine whose cores are busy with other work a
/// spinning thread takes the core a working thread needs, and short parallel regions
/// (t-SNE runs several per iteration) became four times slower with 2 threads than
/// with 1. Sleeping waits cost a few microseconds per region and nothing measurable on
/// a quiet machine. libgomp reads the policy once, when it is loaded, so the process
/// starts itself again with OMP_WAIT_POLICY=passive unless the user chose a policy.
void prefer_passive_openmp_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (::setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc): carry on with the default policy.
}

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "segmenta: error: %s\n", message.c_str());
  return code;
}

/// Options shared by `run` and `demo`.
struct RunFlags {
  std::string method = "kmeans", k = "auto", preset = "standard", columns, types, delimiter, outliers = "drop";
  double contamination = 0.1;
  std::uint64_t seed = 0;
  int threads = 0;
  std::string out = "segmenta-out";
  std::size_t n_init = 0, max_iter = 300, silhouette_sample = 0;
  double tol = 1e-4;
  bool quiet = false, no_explain = false, kproto_batch = false;
  std::string init;
  std::optional<double> gamma;
  std::size_t kproto_max_iter = 100;
  EmbedFlags embed;
  bool no_maps = false, no_report = false;
  std::size_t tsne_sample = 3000, tsne_dims = 2;
  double perplexity = 30.0;

  void add_to(CLI::App& app) {
    app.add_option("--method", method, "kmeans | kprototypes | embed | all")->capture_default_str();
    app.add_option("--k", k, "number of segments: auto (sweep 2..10), N, or a range A..B to sweep")->capture_default_str();
    app.add_option("--preset", preset, "standard | blog (reproduce the blog's preprocessing)")->capture_default_str();
    app.add_option("--columns", columns, "columns to use: names and/or 0-based ranges, e.g. age,job or 0:8");
    app.add_option("--types", types, "type overrides, e.g. zip=categorical,score=numeric");
    app.add_option("--delimiter", delimiter, "field delimiter (default: sniffed among , ; tab |)");
    app.add_option("--contamination", contamination, "share of rows ECOD flags as outliers, in (0, 0.5]")->capture_default_str();
    app.add_option("--outliers", outliers, "drop | flag | none: what to do with flagged rows")->capture_default_str();
    app.add_option("--seed", seed, "random seed (same seed, same result, any thread count)")->capture_default_str();
    app.add_option("--threads", threads, "worker threads (default: SEGMENTA_THREADS or all cores)");
    app.add_option("--out", out, "output directory")->capture_default_str();
    app.add_option("--n-init", n_init, "k-means restarts per k (default 10; 30 with --preset blog)");
    app.add_option("--max-iter", max_iter, "k-means iterations per restart")->capture_default_str();
    app.add_option("--tol", tol, "k-means tolerance (relative to the mean feature variance)")->capture_default_str();
    app.add_option("--silhouette-sample", silhouette_sample, "rows in a sampled silhouette (0 = exact)")->capture_default_str();
    app.add_option("--init", init, "k-prototypes initialisation: huang | cao (default cao; huang with --preset blog)");
    app.add_option("--gamma", gamma, "k-prototypes weight of one categorical mismatch (default 0.5 x mean numeric std)");
    app.add_option("--kproto-max-iter", kproto_max_iter, "k-prototypes passes per restart")->capture_default_str();
    app.add_flag("--kproto-batch", kproto_batch, "batch (Lloyd-style, parallel) k-prototypes instead of kmodes' online updates");
    app.add_flag("--no-explain", no_explain, "skip the surrogate model and SHAP importance");
    embed.add_to(app);
    app.add_flag("--no-maps", no_maps, "skip the PCA / FAMD / MCA / t-SNE maps");
    app.add_option("--tsne-sample", tsne_sample, "clustered rows in the t-SNE map (0 = no t-SNE)")->capture_default_str();
    app.add_option("--tsne-dims", tsne_dims, "t-SNE map dimensions: 2 or 3")->capture_default_str();
    app.add_option("--perplexity", perplexity, "t-SNE perplexity")->capture_default_str();
    app.add_flag("--no-report", no_report, "do not write report.html");
    app.add_flag("--quiet,-q", quiet, "no progress bars or summary");
  }

  RunParams params(const std::string& data, const std::vector<std::string>& argv) const {
    RunParams p;
    p.data = data;
    p.method = parse_method(method);
    p.k = KSpec::parse(k);
    p.preset = preset;
    p.csv.columns = columns;
    p.csv.delimiter = parse_delimiter(delimiter);
    std::size_t start = 0;
    while (start < types.size()) {
      std::size_t comma = types.find(',', start);
      if (comma == std::string::npos) comma = types.size();
      const std::string item = types.substr(start, comma - start);
      start = comma + 1;
      const std::size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0)
        throw InvalidArgument(fmt::format("--types: expected column=type, got '{}'", item));
      p.csv.types.emplace_back(item.substr(0, eq), parse_column_type(item.substr(eq + 1), "--types"));
    }
    p.contamination = contamination;
    p.outliers = parse_outlier_policy(outliers);
    p.seed = seed;
    p.threads = threads;
    p.out_dir = out;
    p.n_init = n_init;
    p.max_iter = max_iter;
    p.tol = tol;
    p.silhouette_sample = silhouette_sample;
    p.quiet = quiet;
    p.explain = !no_explain;
    p.kproto_init = init;
    p.gamma = gamma;
    p.kproto_max_iter = kproto_max_iter;
    p.kproto_batch = kproto_batch;
    p.model = embed.model;
    p.row_template = embed.template_text();
    p.precision = embed.precision;
    p.embed_batch = embed.batch;
    p.embed_cache = embed.cache_dir();
    p.maps = !no_maps;
    p.tsne_sample = tsne_sample;
    p.tsne_dims = tsne_dims;
    p.perplexity = perplexity;
    p.report = !no_report;
    p.command_line = argv;
    return p;
  }
};

int run_and_report(const RunParams& params) {
  const RunSummary summary = run(params);
  if (!params.quiet) std::fputs(summary.text.c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp_waits(argv);
  CLI::App app{"segmenta: customer segmentation from a table to explained segments"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(segmenta::version()));
  std::vector<std::string> args(argv, argv + argc);

  auto* run_cmd = app.add_subcommand("run", "segment the customers of a CSV file");
  std::string data;
  run_cmd->add_option("DATA", data, "customer table (CSV)")->required();
  RunFlags run_flags;
  run_flags.add_to(*run_cmd);

  auto* demo_cmd = app.add_subcommand("demo", "generate seeded synthetic customers with planted segments and segment them");
  RunFlags demo_flags;
  demo_flags.out = "segmenta-demo";
  demo_flags.add_to(*demo_cmd);
  std::size_t demo_rows = 5000;
  std::uint64_t demo_data_seed = 7;
  demo_cmd->add_option("--rows", demo_rows, "customers to generate")->capture_default_str();
  demo_cmd->add_option("--data-seed", demo_data_seed, "seed of the data generator")->capture_default_str();

  auto* score_cmd = app.add_subcommand("score", "assign new customers to the segments of a saved model");
  ScoreParams score_params;
  std::string score_delimiter;
  score_cmd->add_option("MODEL", score_params.model, "model.json written by segmenta run")->required();
  score_cmd->add_option("DATA", score_params.data, "customer table (CSV) with the model's columns")->required();
  score_cmd->add_option("--out", score_params.out, "output CSV (row, segment, outlier, outlier_score)")->required();
  score_cmd->add_option("--delimiter", score_delimiter, "field delimiter (default: sniffed)");
  score_cmd->add_option("--threads", score_params.threads, "worker threads");
  score_cmd->add_option("--method", score_params.method, "which of the model's segmentations (default: the first)");

  auto* report_cmd = app.add_subcommand("report", "write the HTML report of a run from its output directory");
  std::string report_dir, report_out;
  report_cmd->add_option("RUN_DIR", report_dir, "output directory of segmenta run or demo")->required();
  report_cmd->add_option("--out", report_out, "HTML file to write (default: RUN_DIR/report.html)");

  auto* map_cmd = app.add_subcommand("map", "project the rows of a table or matrix with PCA or t-SNE");
  MapParams map_params;
  std::string map_columns, map_delimiter;
  map_cmd->add_option("DATA", map_params.data, "customer table (CSV, prepared as in run) or matrix (.npy, used as is)")->required();
  map_cmd->add_option("--method", map_params.method, "pca | tsne")->capture_default_str();
  map_cmd->add_option("--dims", map_params.dims, "2 or 3")->capture_default_str();
  map_cmd->add_option("--out", map_params.out, "output: .csv (row, <method>1..) or .npy")->required();
  map_cmd->add_option("--preset", map_params.preset, "standard | blog (preparation of a CSV)")->capture_default_str();
  map_cmd->add_option("--columns", map_columns, "columns to use: names and/or 0-based ranges");
  map_cmd->add_option("--delimiter", map_delimiter, "field delimiter (default: sniffed)");
  map_cmd->add_flag("--raw", map_params.raw, "use a CSV's numeric columns as they are (no preparation)");
  map_cmd->add_flag("--drop-outliers", map_params.drop_outliers, "keep only the rows ECOD does not flag");
  map_cmd->add_option("--contamination", map_params.contamination, "ECOD contamination")->capture_default_str();
  map_cmd->add_option("--sample", map_params.sample, "fraction of the rows to map")->capture_default_str();
  map_cmd->add_flag("--replace", map_params.replace, "sample with replacement");
  map_cmd->add_option("--perplexity", map_params.perplexity, "t-SNE perplexity")->capture_default_str();
  map_cmd->add_option("--learning-rate", map_params.learning_rate, "t-SNE learning rate (default: auto)");
  map_cmd->add_option("--n-iter", map_params.n_iter, "t-SNE iterations")->capture_default_str();
  map_cmd->add_option("--init", map_params.init, "t-SNE initialisation: pca | random")->capture_default_str();
  map_cmd->add_option("--tsne-method", map_params.tsne_method, "auto | barnes_hut | fft | exact")->capture_default_str();
  map_cmd->add_flag("--standardize", map_params.standardize, "PCA of standardised columns");
  map_cmd->add_option("--seed", map_params.seed, "random seed")->capture_default_str();
  map_cmd->add_option("--threads", map_params.threads, "worker threads");
  map_cmd->add_flag("--quiet,-q", map_params.quiet, "no progress bars or summary");

  auto* embed_cmd = app.add_subcommand("embed", "render each row to a sentence and write its sentence embedding");
  EmbedParams embed_params;
  EmbedFlags embed_flags;
  std::string embed_columns, embed_delimiter;
  embed_cmd->add_option("DATA", embed_params.data, "customer table (CSV)")->required();
  embed_cmd->add_option("--out", embed_params.out, "output: .npy (float32) or .csv")->required();
  embed_cmd->add_option("--preset", embed_params.preset, "standard | blog (the blog's columns and template)")->capture_default_str();
  embed_cmd->add_option("--columns", embed_columns, "columns to use: names and/or 0-based ranges");
  embed_cmd->add_option("--delimiter", embed_delimiter, "field delimiter (default: sniffed)");
  embed_cmd->add_option("--threads", embed_params.threads, "worker threads");
  embed_cmd->add_flag("--quiet,-q", embed_params.quiet, "no progress bar or summary");
  embed_flags.add_to(*embed_cmd);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(2, std::string(e.what()) + " (see segmenta --help)");
  }

  try {
    if (*run_cmd) return run_and_report(run_flags.params(data, args));
    if (*report_cmd) {
      const std::string out =
          report_out.empty() ? (std::filesystem::path(report_dir) / "report.html").string() : report_out;
      write_report(report_dir, out);
      std::printf("wrote %s\n", out.c_str());
      return 0;
    }
    if (*map_cmd) {
      map_params.csv.columns = map_columns;
      map_params.csv.delimiter = parse_delimiter(map_delimiter);
      const std::string text = map_command(map_params);
      if (!map_params.quiet) std::fputs(text.c_str(), stdout);
      return 0;
    }
    if (*embed_cmd) {
      embed_params.csv.columns = embed_columns;
      embed_params.csv.delimiter = parse_delimiter(embed_delimiter);
      embed_params.model = embed_flags.model;
      embed_params.row_template = embed_flags.template_text();
      embed_params.precision = embed_flags.precision;
      embed_params.batch = embed_flags.batch;
      embed_params.cache = embed_flags.cache_dir();
      const std::string text = embed_command(embed_params);
      if (!embed_params.quiet) std::fputs(text.c_str(), stdout);
      return 0;
    }
    if (*score_cmd) {
      score_params.csv.delimiter = parse_delimiter(score_delimiter);
      const std::size_t rows = score(score_params);
      std::printf("scored %zu rows -> %s\n", rows, score_params.out.c_str());
      return 0;
    }
    if (*demo_cmd) {
      std::vector<std::int32_t> truth;
      const Table demo = make_demo_table({demo_rows, demo_data_seed}, &truth);
      std::filesystem::create_directories(demo_flags.out);
      const std::string csv_path = (std::filesystem::path(demo_flags.out) / "demo.csv").string();
      write_file_atomic(csv_path, demo_csv(demo));
      std::string truth_csv = "row,planted_segment\n";
      for (std::size_t i = 0; i < truth.size(); ++i) truth_csv += fmt::format("{},{}\n", i, truth[i]);
      write_file_atomic((std::filesystem::path(demo_flags.out) / "demo_truth.csv").string(), truth_csv);
      RunParams p = demo_flags.params(csv_path, args);
      const RunSummary summary = run(p);
      if (!p.quiet) {
        std::fputs(summary.text.c_str(), stdout);
        // How well the planted segments were found (outliers excluded).
        const std::string seg_path = (std::filesystem::path(demo_flags.out) / "segments.csv").string();
        CsvOptions o;
        o.delimiter = ',';
        const Table segs = read_csv(seg_path, o);
        const Column& seg = segs.column(segs.index_of("segment"));
        std::vector<std::int32_t> found, planted;
        for (std::size_t i = 0; i < segs.rows(); ++i)
          if (!seg.is_missing(i)) {
            found.push_back(static_cast<std::int32_t>(seg.numbers[i]));
            planted.push_back(truth[i]);
          }
        std::printf("demo      adjusted Rand index vs the 5 planted segments: %.3f (demo.csv, demo_truth.csv)\n",
                    adjusted_rand_score(found, planted));
      }
      return 0;
    }
  } catch (const InvalidArgument& e) {
    return fail(2, e.what());
  } catch (const ParseError& e) {
    return fail(3, e.what());
  } catch (const IoError& e) {
    return fail(4, e.what());
  } catch (const ModelFormatError& e) {
    return fail(5, e.what());
  } catch (const Error& e) {
    return fail(1, e.what());
  } catch (const std::bad_alloc&) {
    return fail(1, "out of memory");
  } catch (const std::exception& e) {
    return fail(1, std::string("unexpected failure: ") + e.what());
  }
  return 0;
}
