// run(): read the source, segment() it, write the outputs, summarise.
#include <algorithm>
#include <ctime>
#include <optional>
#include <span>

#include <fmt/format.h>

#include "io/internal.hpp"
#include "io/source_bytes.hpp"
#include "method.hpp"
#include "segmenta/comm.hpp"
#include "outputs.hpp"
#include "postgres_sink.hpp"

namespace segmenta {
namespace {

/// "rank 0: [R rows typed, ]B bytes received; rank 1: …" for metrics.json's note on
/// the reading: every rank's bytes received since `gathered_before` and, when given,
/// the rows it typed, gathered on every rank.
std::string read_per_rank(const Communicator& comm, std::uint64_t gathered_before,
                          std::optional<std::size_t> rows_typed) {
  const std::int64_t mine[] = {static_cast<std::int64_t>(rows_typed.value_or(0)),
                               static_cast<std::int64_t>(comm.bytes_gathered() - gathered_before)};
  const std::vector<std::int64_t> all = comm.allgather(std::span<const std::int64_t>(mine, 2));
  std::string per_rank;
  for (std::size_t r = 0; r + 1 < all.size(); r += 2)
    per_rank += fmt::format("{}rank {}: {}{} bytes received", r ? "; " : "", r / 2,
                            rows_typed ? fmt::format("{} rows typed, ", all[r]) : "", all[r + 1]);
  return per_rank;
}

}  // namespace

RunSummary run(const RunParams& params) {
  if (params.data.empty()) throw ParameterError("data", "no input file given");
  validate_run_params(params);
  Stopwatch total_clock;
  Progress::set_enabled(!params.quiet && world().rank() == 0);  // a model download shows its bar
  // Under mpirun (docs/USAGE.md "Many machines") every rank runs this function on its
  // share of the rows' blocks; rank 0 alone opens the destination, fits the
  // explanation's surrogate, writes (the other ranks format their share of
  // segments.csv's and maps.csv's rows) and prints, and every rank fails alike when
  // reading or writing fails on any.
  const Communicator& comm = world();
  // Fail before reading anything when the encoder's weights are not there. Rank 0
  // looks first (downloading a model named by its Hugging Face id), then the other
  // ranks, which find it in the cache on a machine that shares it; a failure on any
  // rank is every rank's, so no rank waits in a later exchange for one that stopped.
  const std::vector<Method> methods = params.method == Method::all ? clustering_methods() : std::vector<Method>{params.method};
  for (Method m : methods)
    if (detail::method_spec(m).needs_embeddings) {
      root_first(comm, [&] { resolve_model_dir(params.model, params.revision); });
      break;
    }

  const bool root = comm.rank() == 0, several = comm.size() > 1;
  if (several && params.data == "-")
    throw ParameterError("data", "standard input cannot be read by several ranks (mpirun); give a file");

  // The destination is checked (a directory: its staging directory made) before any work.
  // With --to, the database table too (connected and checked here).
  std::unique_ptr<Sink> sink;
  agree_on_failure(comm, [&] {
    if (root) sink = detail::open_run_sink(params);
  });

  // ---- load
  Stopwatch load_clock;
  CsvOptions csv = params.csv;
  if (params.preset == PrepPreset::blog && csv.columns.empty()) csv.columns = "0:8";  // the blog keeps the first eight columns
  Diagnostics load_diagnostics;  // what reading the rows found (stray cells read as missing)
  csv.diagnostics = &load_diagnostics;
  DateReadings dates;  // the columns read from dates, for model.json
  csv.dates_read = &dates;
  Progress load_progress(fmt::format("read {}", redact_postgres_uri(params.data)));
  SourceData data;
  const std::uint64_t read_gathered_before = comm.bytes_gathered();
  std::string read_note;  // how the ranks read the data, for metrics.json's mpi diagnostics
  if (several && !is_postgres_uri(params.data)) {
    data = read_csv_on_ranks(params.data, csv, comm);
    const io_detail::RanksReadCount count = io_detail::last_read_on_ranks();
    const std::string per_rank = read_per_rank(
        comm, read_gathered_before, count.fast ? std::optional<std::size_t>(count.rows_typed) : std::nullopt);
    read_note = fmt::format("{} ranks read {}: {}; {}", comm.size(), params.data,
                            count.fast ? "each split and typed the records of its share of the bytes, the column "
                                         "types and levels merged, and the typed rows were gathered"
                                       : "the text was gathered and every rank parsed it whole (a case the ranks do "
                                         "not merge, or a gzip file)",
                            per_rank);
  } else if (several) {
    // A database: rank 0 alone connects and runs the query (once: its side effects
    // once, and every rank computes on the rows in the one order the server sent
    // them), and broadcasts the typed table with its provenance, the reading's
    // diagnostics and the columns read from dates.
    std::size_t broadcast = 0;
    data = io_detail::read_on_root(
        [&] { return open_source(params.data, csv, PostgresQuery{params.table, params.query})->read(); }, comm,
        load_diagnostics, dates, &broadcast);
    const std::string per_rank = read_per_rank(comm, read_gathered_before, std::nullopt);
    read_note = fmt::format("{} ranks read {}: rank 0 alone read the database and broadcast {} bytes (the typed "
                            "table, its provenance and the reading's notes); {}",
                            comm.size(), redact_postgres_uri(params.data), broadcast, per_rank);
  } else {
    agree_on_failure(comm, [&] { data = open_source(params.data, csv, PostgresQuery{params.table, params.query})->read(); });
  }
  load_progress.finish();
  data.provenance.dates = std::move(dates);
  const double load_seconds = load_clock.seconds();
  detail::trace_memory("load");

  RunParams run_params = detail::redacted_params(params);
  if (!root) {
    // The other ranks share the profiles, the explanation and the maps' row passes
    // with rank 0; the terminal is rank 0's alone.
    run_params.quiet = true;
  }
  const std::uint64_t gathered_before = comm.bytes_gathered();
  const std::clock_t cpu_before = std::clock();
  auto result = std::make_shared<SegmentationResult>(segment(std::move(data.table), run_params, std::move(data.provenance)));
  result->timings.insert(result->timings.begin(), {"load", load_seconds});
  if (!read_note.empty()) load_diagnostics.info("mpi", "read", read_note);
  load_diagnostics.append(result->diagnostics);
  result->diagnostics = std::move(load_diagnostics);
  if (several) {
    // Every rank's CPU time (its process's, MPI's polling included) and bytes received
    // while segmenting, for the measurements in docs/PERFORMANCE.md.
    const double mine[] = {static_cast<double>(std::clock() - cpu_before) / CLOCKS_PER_SEC,
                           static_cast<double>(comm.bytes_gathered() - gathered_before)};
    const std::vector<double> all = comm.allgather(mine);
    std::string per_rank;
    for (std::size_t r = 0; r + 1 < all.size(); r += 2)
      per_rank += fmt::format("{}rank {}: {:.2f} s CPU, {:.0f} bytes received", r ? "; " : "", r / 2, all[r], all[r + 1]);
    result->diagnostics.info(
        "mpi", "ranks",
        fmt::format("{} ranks shared the divided stages that ran (the preparation's statistics, the row "
                    "blocks of k-means and of the latent-class model's EM, the k-prototypes restarts, the "
                    "sentence encoder's batches, the outlier scores, the silhouette's rows, the stability "
                    "fits, the profiles, the explanation's predicted rows and SHAP rows and the maps' passes "
                    "over the rows); while segmenting, {}",
                    comm.size(), per_rank));
  }
  // Writing. Under mpirun, every rank formats its share of the per-row files' rows
  // (segments.csv, and maps.csv: the rows whose coordinates it holds) and rank 0 writes them
  // in row order with the rest (detail::render_outputs); the ranks agree on the
  // outcome, rank 0's failure after the shared rows included, so every rank exits
  // alike and none waits for a rank that stopped.
  detail::RowShare share;
  share.comm = &comm;
  OutputFiles files;
  RunSummary summary;
  auto* streaming = root ? dynamic_cast<detail::StreamingSink*>(sink.get()) : nullptr;
  const bool shared_rows = several && comm.allreduce_max(streaming != nullptr ? 1 : 0) == 1;
  if (!root) {
    if (shared_rows) detail::render_outputs(*result, nullptr, &share);  // fails with rank 0 in the shared part
    agree_on_root_outcome(comm, 0, [] {});                              // rank 0's outcome of the rest
    summary.out_dir = params.out_dir;
    return summary;
  }
  auto write = [&] {
    // A sink of files takes the outputs as a stream, none of them held whole.
    if (streaming) {
      summary.files = streaming->write_streamed(*result, files.timings, shared_rows ? &share : nullptr);
    } else {
      files = render_outputs(*result);
      detail::trace_memory("render outputs");
      summary.files = sink->write(*result, files);
    }
  };
  if (!several) {
    write();
  } else {
    std::string failure;
    try {
      write();
    } catch (...) {
      // A failure in the shared part was every rank's already.
      if (shared_rows && !share.rows_done) throw;
      failure = encode_current_error();
    }
    agree_on_root_outcome(comm, 0, [&] { rethrow_encoded_error(failure); });
  }
  detail::trace_memory("write outputs");
  summary.out_dir = params.out_dir;
  summary.rows = result->table.rows();
  summary.clustered = result->rows.size();
  summary.outliers = result->outliers.count();
  const MethodSegmentation& first = result->methods.front();
  summary.k = first.k;
  summary.sweep = first.sweep.points;
  summary.recommendation = first.sweep.recommendation;
  summary.final = first.final;
  summary.timings = files.timings;
  summary.diagnostics = result->diagnostics;
  summary.text = summary_text(*result, summary.files, params.out_dir, files.timings, total_clock.seconds());
  if (!params.to.empty())
    summary.text += fmt::format("wrote     {} rows to table {} of {}\n", result->table.rows(), params.to_table,
                                redact_postgres_uri(params.to));
  summary.result = std::move(result);
  return summary;
}

}  // namespace segmenta
