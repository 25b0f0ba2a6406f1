// The segmenta command: a thin layer of flags over the pipeline library.
// Exit codes: 0 success, 1 unexpected failure, 2 invalid arguments or parameters,
// 3 malformed input data, 4 file system or database errors, 5 malformed model files.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "segmenta/comm.hpp"
#include "segmenta/core.hpp"
#include "segmenta/io.hpp"
#include "segmenta/metrics.hpp"
#include "segmenta/pipeline.hpp"
#include "segmenta/postgres.hpp"

namespace {

using namespace segmenta;

/// --delimiter: one character, or "tab" / "\t"; empty = sniff (0).
char parse_delimiter(const std::string& text) {
  if (text.empty()) return 0;
  const std::string d = text == "\\t" || text == "tab" ? "\t" : text;
  if (d.size() != 1) throw InvalidArgument(fmt::format("--delimiter: expected one character, got '{}'", text));
  return d[0];
}

/// --decimal: "." or ","; empty = per column (0).
char parse_decimal(const std::string& text) {
  if (text.empty()) return 0;
  if (text != "." && text != ",") throw InvalidArgument(fmt::format("--decimal: expected . or , got '{}'", text));
  return text[0];
}

/// A check for integer options of map, embed, score and demo: CLI11 would read "-1"
/// as a huge unsigned number (a seed) or hand it on (threads).
const CLI::Validator non_negative(
    [](std::string& text) {
      const std::size_t start = text.find_first_not_of(" \t");
      return start != std::string::npos && text[start] == '-' ? "must be >= 0, got " + text : std::string();
    },
    "N >= 0");

/// Where embeddings are cached unless --cache or --no-cache says otherwise.
std::string default_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg) return (std::filesystem::path(xdg) / "segmenta" / "embeddings").string();
  const char* home = std::getenv("HOME");
  if (home && *home) return (std::filesystem::path(home) / ".cache" / "segmenta" / "embeddings").string();
  return "";
}

/// The options of `embed` that name its encoder.
struct EmbedFlags {
  std::string model = "paraphrase-MiniLM-L6-v2", revision, prompt, row_template, precision = "fp32", cache;
  std::size_t batch = 32;
  bool no_cache = false;

  void add_to(CLI::App& app) {
    app.add_option("--model", model,
                   "sentence-transformers model: a folder, its name under SEGMENTA_MODELS, or a Hugging Face id "
                   "(from the Hugging Face cache, downloaded when missing)")->capture_default_str();
    app.add_option("--revision", revision, "branch, tag or commit of a Hugging Face id (default: main)");
    app.add_option("--prompt", prompt,
                   "a prompt of the model (config_sentence_transformers.json, e.g. e5's query or passage) put before "
                   "every sentence (default: the model's default prompt, if any)");
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
  // Under mpirun every rank fails alike; rank 0 says why.
  if (segmenta::world().rank() == 0) std::fprintf(stderr, "segmenta: error: %s\n", message.c_str());
  return code;
}

/// The options of `run` and `demo`: one per entry of the parameter table
/// (segmenta::run_param_specs), plus --no-cache.
struct RunFlags {
  std::vector<std::string> values;
  std::unique_ptr<bool[]> switches;
  std::vector<CLI::Option*> options;
  bool no_cache = false;
  std::string out;  // the default output directory

  explicit RunFlags(std::string default_out) : out(std::move(default_out)) {}

  void add_to(CLI::App& app) {
    const auto& specs = run_param_specs();
    values.assign(specs.size(), std::string());
    switches.reset(new bool[specs.size()]());
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const ParamSpec& s = specs[i];
      std::string help(s.help);
      if (s.name == "out") {
        values[i] = out;
        options.push_back(
            app.add_option(std::string(s.flag), values[i], help)->capture_default_str()->type_name(std::string(s.value)));
      } else if (s.is_switch) {
        const std::string names = s.name == "quiet" ? std::string(s.flag) + ",-q" : std::string(s.flag);
        options.push_back(app.add_flag(names, switches[i], help));
      } else {
        if (!s.default_text.empty()) help += fmt::format(" (default: {})", s.default_text);
        options.push_back(app.add_option(std::string(s.flag), values[i], help)->type_name(std::string(s.value)));
      }
    }
    app.add_flag("--no-cache", no_cache, "do not read or write the embedding cache");
  }

  /// The run's parameters: every given option parsed by its parameter's entry.
  RunParams params(const std::string& data, const std::vector<std::string>& argv) const {
    const auto& specs = run_param_specs();
    RunParams p;
    p.data = data;
    p.out_dir = out;
    bool cache_given = false;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (options[i]->count() == 0) continue;
      specs[i].set(p, specs[i].is_switch ? std::string_view("true") : std::string_view(values[i]));
      cache_given |= specs[i].name == "embed_cache";
    }
    if (no_cache)
      p.embed_cache.clear();
    else if (!cache_given)
      p.embed_cache = default_cache_dir();
    p.command_line = argv;
    return p;
  }
};

int run_and_report(const RunParams& params) {
  const RunSummary summary = run(params);
  if (!params.quiet) std::fputs(summary.text.c_str(), stdout);
  return 0;
}

int command(int argc, char** argv);

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp_waits(argv);
  // Started by mpirun / mpiexec: every rank joins one run (docs/USAGE.md "Many machines").
  if (segmenta::launched_by_mpi()) {
    try {
      segmenta::start_mpi(&argc, &argv);
    } catch (const segmenta::Error& e) {
      // Built without MPI: one process is fine, several would each write the outputs.
      const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
      const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
      if (size != nullptr && std::atoi(size) > 1) {
        if (rank == nullptr || std::atoi(rank) == 0) std::fprintf(stderr, "segmenta: error: %s\n", e.what());
        return 2;
      }
    }
  }
  // Ranks on one machine share its cores: unless told (--threads, SEGMENTA_THREADS),
  // each takes its share rather than all of them (results do not depend on it).
  if (segmenta::world().size() > 1 && std::getenv("SEGMENTA_THREADS") == nullptr) {
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const long ranks_here = local != nullptr ? std::atol(local) : 1;
    const long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (ranks_here > 1 && cores > 0)
      ::setenv("SEGMENTA_THREADS", std::to_string(std::max(1L, cores / ranks_here)).c_str(), 1);
  }
  const int code = command(argc, argv);
  segmenta::finish_mpi();
  return code;
}

namespace {

int command(int argc, char** argv) {
  // Temporaries (staged outputs) are removed on SIGINT and SIGTERM.
  segmenta::install_temporary_cleanup();
  CLI::App app{"segmenta: customer segmentation from a table to explained segments"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(segmenta::version()));
  std::vector<std::string> args(argv, argv + argc);

  auto* run_cmd = app.add_subcommand("run", "segment the customers of a CSV file");
  std::string data;
  run_cmd->add_option("DATA", data, "customer table: a CSV file, - for standard input, or a postgresql:// URI with --table or --query")->required();
  RunFlags run_flags("segmenta-out");
  run_flags.add_to(*run_cmd);

  auto* demo_cmd = app.add_subcommand("demo", "generate seeded synthetic customers with planted segments and segment them");
  RunFlags demo_flags("segmenta-demo");
  demo_flags.add_to(*demo_cmd);
  std::size_t demo_rows = 5000;
  std::uint64_t demo_data_seed = 7;
  demo_cmd->add_option("--rows", demo_rows, "customers to generate")->capture_default_str()->check(non_negative);
  demo_cmd->add_option("--data-seed", demo_data_seed, "seed of the data generator")
      ->capture_default_str()
      ->check(non_negative);

  auto* score_cmd = app.add_subcommand("score", "assign new customers to the segments of a saved model");
  ScoreParams score_params;
  std::string score_delimiter, score_decimal;
  score_cmd->add_option("MODEL", score_params.model, "model.json written by segmenta run")->required();
  score_cmd->add_option("DATA", score_params.data, "customer table with the model's columns: a CSV file (.csv.gz: gzip; -: standard input), or a postgresql:// URI with --table or --query")->required();
  score_cmd->add_option("--out", score_params.out, "output CSV (row, segment, outlier, outlier_score); .gz: gzip; -: standard output; optional with --to");
  score_cmd->add_option("--delimiter", score_delimiter, "field delimiter (default: sniffed)");
  score_cmd->add_option("--decimal", score_decimal,
                        "decimal mark: . or , (default: as the run read each of the model's columns)");
  // (Negative numbers are refused here: CLI11 would read "-1" as a huge unsigned seed.)
  score_cmd->add_option("--threads", score_params.threads, "worker threads (0: all cores)")->check(non_negative);
  score_cmd->add_option("--method", score_params.method, "which of the model's segmentations (default: the first)");
  score_cmd->add_option("--table", score_params.table, "with a postgresql:// DATA: the table to score");
  score_cmd->add_option("--query", score_params.query, "with a postgresql:// DATA: the query whose rows to score");
  score_cmd->add_option("--to", score_params.to, "also write the scores to this PostgreSQL database (postgresql://...)");
  score_cmd->add_option("--to-table", score_params.to_table, "the table --to writes");
  score_cmd->add_flag("--quiet,-q", score_params.quiet, "no progress line or summary");
  score_cmd->add_option("--if-exists", score_params.if_exists, "when the --to-table exists: fail | replace | append")
      ->capture_default_str();

  auto* report_cmd = app.add_subcommand("report", "write the HTML report of a run from its output directory");
  std::string report_dir, report_out;
  report_cmd->add_option("RUN_DIR", report_dir, "output directory of segmenta run or demo")->required();
  report_cmd->add_option("--out", report_out, "HTML file to write (default: RUN_DIR/report.html)");

  auto* map_cmd = app.add_subcommand("map", "project the rows of a table or matrix with PCA, t-SNE, MCA or FAMD");
  MapParams map_params;
  std::string map_columns, map_delimiter, map_decimal, map_method = "pca", map_preset = "standard", map_init = "pca",
                                                        map_tsne_method = "auto";
  map_cmd->add_option("DATA", map_params.data, "customer table (CSV, prepared as in run) or matrix (.npy, used as is)")->required();
  map_cmd->add_option("--method", map_method, "pca | tsne | mca | famd")->capture_default_str();
  map_cmd->add_option("--dims", map_params.dims, "2 or 3")->capture_default_str();
  map_cmd->add_option("--out", map_params.out, "output: .csv (row, <method>1..) or .npy")->required();
  map_cmd->add_option("--preset", map_preset, "standard | blog (preparation of a CSV)")->capture_default_str();
  map_cmd->add_option("--columns", map_columns, "columns to use: names and/or 0-based ranges");
  map_cmd->add_option("--delimiter", map_delimiter, "field delimiter (default: sniffed)");
  map_cmd->add_option("--decimal", map_decimal, "decimal mark: . or , (default: per column)");
  map_cmd->add_flag("--raw", map_params.raw, "use a CSV's numeric columns as they are (no preparation)");
  map_cmd->add_flag("--drop-outliers", map_params.drop_outliers, "keep only the rows ECOD does not flag");
  map_cmd->add_option("--contamination", map_params.contamination, "ECOD contamination")->capture_default_str();
  map_cmd->add_option("--sample", map_params.sample, "fraction of the rows to map")->capture_default_str();
  map_cmd->add_flag("--replace", map_params.replace, "sample with replacement");
  map_cmd->add_option("--perplexity", map_params.perplexity, "t-SNE perplexity")->capture_default_str();
  map_cmd->add_option("--learning-rate", map_params.learning_rate, "t-SNE learning rate (default: auto)");
  map_cmd->add_option("--n-iter", map_params.n_iter, "t-SNE iterations")->capture_default_str();
  map_cmd->add_option("--init", map_init, "t-SNE initialisation: pca | random")->capture_default_str();
  map_cmd->add_option("--tsne-method", map_tsne_method, "auto | barnes_hut | fft | exact")->capture_default_str();
  map_cmd->add_flag("--standardize", map_params.standardize, "PCA of standardised columns");
  map_cmd->add_option("--seed", map_params.seed, "random seed")->capture_default_str()->check(non_negative);
  map_cmd->add_option("--threads", map_params.threads, "worker threads (0: all cores)")->check(non_negative);
  map_cmd->add_flag("--quiet,-q", map_params.quiet, "no progress bars or summary");

  auto* embed_cmd = app.add_subcommand("embed", "render each row to a sentence and write its sentence embedding");
  EmbedParams embed_params;
  EmbedFlags embed_flags;
  std::string embed_columns, embed_delimiter, embed_decimal, embed_preset = "standard";
  embed_cmd->add_option("DATA", embed_params.data, "customer table (CSV)")->required();
  embed_cmd->add_option("--out", embed_params.out, "output: .npy (float32) or .csv")->required();
  embed_cmd->add_option("--preset", embed_preset, "standard | blog (the blog's columns and template)")->capture_default_str();
  embed_cmd->add_option("--columns", embed_columns, "columns to use: names and/or 0-based ranges");
  embed_cmd->add_option("--delimiter", embed_delimiter, "field delimiter (default: sniffed)");
  embed_cmd->add_option("--decimal", embed_decimal, "decimal mark: . or , (default: per column)");
  embed_cmd->add_option("--threads", embed_params.threads, "worker threads (0: all cores)")->check(non_negative);
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
    if (world().size() > 1 && !*run_cmd && !*embed_cmd)
      throw InvalidArgument(
          "only `segmenta run` and `segmenta embed` run on several ranks (mpirun -np N); run the others as one process");
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
      map_params.method = parse_map_method(map_method, "method");
      map_params.preset = parse_prep_preset(map_preset, "--preset");
      map_params.init = parse_tsne_init(map_init, "init");
      map_params.tsne_method = parse_tsne_method(map_tsne_method, "tsne_method");
      map_params.csv.decimal = parse_decimal(map_decimal);
      const std::string text = map_command(map_params);
      if (!map_params.quiet) std::fputs(text.c_str(), stdout);
      return 0;
    }
    if (*embed_cmd) {
      embed_params.csv.columns = embed_columns;
      embed_params.csv.delimiter = parse_delimiter(embed_delimiter);
      embed_params.csv.decimal = parse_decimal(embed_decimal);
      embed_params.model = embed_flags.model;
      embed_params.revision = embed_flags.revision;
      embed_params.prompt = embed_flags.prompt;
      embed_params.row_template = embed_flags.template_text();
      embed_params.preset = parse_prep_preset(embed_preset, "--preset");
      embed_params.precision = parse_embed_precision(embed_flags.precision, "--precision");
      embed_params.batch = embed_flags.batch;
      embed_params.cache = embed_flags.cache_dir();
      const std::string text = embed_command(embed_params);  // "" on the ranks after 0
      if (!embed_params.quiet) std::fputs(text.c_str(), stdout);
      return 0;
    }
    if (*score_cmd) {
      score_params.csv.delimiter = parse_delimiter(score_delimiter);
      score_params.csv.decimal = parse_decimal(score_decimal);
      if (is_postgres_uri(score_params.data) || !score_params.to.empty() || score_params.out.empty()) {
        const std::size_t rows = score_to_database(score_params);
        std::string where = score_params.out;
        if (!score_params.to.empty())
          where += fmt::format("{}table {} of {}", where.empty() ? "" : " and ", score_params.to_table,
                               redact_postgres_uri(score_params.to));
        if (!score_params.quiet) std::printf("scored %zu rows -> %s\n", rows, where.c_str());
        return 0;
      }
      const std::size_t rows = score(score_params);
      // With --out - the scores are standard output: the summary goes to standard error.
      if (!score_params.quiet)
        std::fprintf(score_params.out == "-" ? stderr : stdout, "scored %zu row%s -> %s\n", rows, rows == 1 ? "" : "s",
                   score_params.out == "-" ? "<stdout>" : score_params.out.c_str());
      return 0;
    }
    if (*demo_cmd) {
      std::vector<std::int32_t> truth;
      const Table demo = make_demo_table({demo_rows, demo_data_seed}, &truth);
      const std::string out_dir = demo_flags.params("", args).out_dir;
      const std::string csv_path = (std::filesystem::path(out_dir) / "demo.csv").string();
      RunParams p = demo_flags.params(csv_path, args);
      // Every flag is checked before the demo data is written.
      validate_run_params(p);
      std::filesystem::create_directories(p.out_dir);
      write_file_atomic(csv_path, demo_csv(demo));
      std::string truth_csv = "row,planted_segment\n";
      for (std::size_t i = 0; i < truth.size(); ++i) truth_csv += fmt::format("{},{}\n", i, truth[i]);
      write_file_atomic((std::filesystem::path(p.out_dir) / "demo_truth.csv").string(), truth_csv);
      const RunSummary summary = run(p);
      if (!p.quiet) {
        std::fputs(summary.text.c_str(), stdout);
        // How well the planted segments were found (outliers excluded).
        const std::vector<std::int32_t>& seg = summary.result->methods.front().segment_of_row;
        std::vector<std::int32_t> found, planted;
        for (std::size_t i = 0; i < seg.size(); ++i)
          if (seg[i] >= 0) {
            found.push_back(seg[i]);
            planted.push_back(truth[i]);
          }
        std::printf("demo      adjusted Rand index vs the 5 planted segments: %.3f (demo.csv, demo_truth.csv)\n",
                    adjusted_rand_score(found, planted));
      }
      return 0;
    }
  } catch (const ParameterError& e) {
    // The library names its parameter; say it as the option the user typed: the
    // parameter table's option, or for the options of map, embed and demo that
    // are not run parameters, the name spelled as an option.
    const ParamSpec* spec = find_run_param(e.parameter());
    std::string flag = spec ? std::string(spec->flag) : "--" + e.parameter();
    if (!spec) std::replace(flag.begin(), flag.end(), '_', '-');
    if (e.parameter() == "data") flag = "DATA";
    return fail(2, fmt::format("{}: {}", flag, e.message()));
  } catch (const InvalidArgument& e) {
    return fail(2, e.what());
  } catch (const ParseError& e) {
    return fail(3, e.what());
  } catch (const DataError& e) {
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

}  // namespace
