// Single stages as commands: `segmenta map` (PCA or t-SNE of a table or matrix) and
// `segmenta embed` (sentence embeddings of a table's rows).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "context.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"
#include "segmenta/outliers.hpp"
#include "segmenta/pipeline.hpp"
#include "segmenta/prep.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/reduce.hpp"
#include "segmenta/streams.hpp"

namespace segmenta {
namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// `probe`: also try the destination (false on the ranks that do not write it).
void check_out(const std::string& out, std::string_view what, bool probe = true) {
  if (out.empty()) throw ParameterError(std::string(what), "no output file given");
  if (!ends_with(out, ".csv") && !ends_with(out, ".npy"))
    throw ParameterError(std::string(what), fmt::format("the output must end in .csv or .npy, got '{}'", out));
  // Before any work: the output must be a regular file (or nothing) in a writable
  // directory. The probe's temporary is removed again at once.
  if (probe) AtomicFile try_it(out);
}

Table load_table(const std::string& data, CsvOptions csv, bool blog) {
  if (blog && csv.columns.empty()) csv.columns = "0:8";
  return parse_csv(read_data(data), data == "-" ? std::string(kStdinName) : data, csv);
}

/// The matrix map_command works on, with each row's index in the input; a CSV's
/// table is also handed to `table` when it is given (the prepared, not the --raw, path).
MatrixD map_input(const MapParams& p, std::string& description, Table* table = nullptr) {
  if (ends_with(p.data, ".npy")) {
    MatrixD x = read_npy(p.data);
    for (std::size_t i = 0; i < x.rows(); ++i)
      for (std::size_t j = 0; j < x.cols(); ++j)
        if (!std::isfinite(x(i, j)))
          throw DataError(fmt::format("{}: row {}, column {} is {} (a map needs finite numbers)", p.data, i, j,
                                      format_double(x(i, j))));
    description = fmt::format("{} ({} x {} matrix)", p.data, x.rows(), x.cols());
    return x;
  }
  Table t = load_table(p.data, p.csv, p.preset == PrepPreset::blog);
  if (!p.raw) {
    PrepParams pp;
    pp.preset = p.preset;
    PrepResult prep = fit_prep(t, pp);
    description = fmt::format("{} ({} rows, {} encoded features, preset {})", p.data, t.rows(), prep.features.cols(),
                              to_string(p.preset));
    if (table) *table = std::move(t);
    return std::move(prep.features);
  }
  std::vector<std::size_t> cols;
  for (std::size_t j = 0; j < t.cols(); ++j)
    if (t.column(j).is_numeric()) cols.push_back(j);
  if (cols.empty()) throw ParameterError("raw", fmt::format("{} has no numeric column", p.data));
  MatrixD x(t.rows(), cols.size());
  for (std::size_t c = 0; c < cols.size(); ++c) {
    const Column& col = t.column(cols[c]);
    for (std::size_t i = 0; i < t.rows(); ++i) {
      if (std::isnan(col.numbers[i]))
        throw ParameterError("raw", fmt::format("{}: column '{}' has a missing value in data row {}", p.data, col.name, i + 1));
      x(i, c) = col.numbers[i];
    }
  }
  description = fmt::format("{} ({} rows, {} numeric columns as they are)", p.data, t.rows(), cols.size());
  return x;
}

void validate_map(const MapParams& p) {
  if (p.data.empty()) throw ParameterError("data", "no input file given");
  check_out(p.out, "out");
  if (p.dims != 2 && p.dims != 3) throw ParameterError("dims", fmt::format("must be 2 or 3, got {}", p.dims));
  if (p.method == MapMethod::mca || p.method == MapMethod::famd) {
    if (ends_with(p.data, ".npy"))
      throw ParameterError("method", fmt::format("{} maps the columns of a table (CSV), not a matrix", to_string(p.method)));
    if (p.raw) throw ParameterError("raw", fmt::format("{} prepares its columns itself", to_string(p.method)));
  }
  const double max_frac = p.replace ? 10.0 : 1.0;
  if (!(p.sample > 0 && p.sample <= max_frac))
    throw ParameterError("sample", fmt::format("a fraction in (0, {}] expected, got {}", max_frac, p.sample));
  if (!(p.contamination > 0 && p.contamination <= 0.5))
    throw ParameterError("contamination", fmt::format("must be in (0, 0.5], got {}", p.contamination));
}

}  // namespace

std::string map_command(const MapParams& p) {
  validate_map(p);
  set_num_threads(p.threads);
  Progress::set_enabled(!p.quiet);
  Stopwatch clock;
  std::string description;
  const bool by_columns = p.method == MapMethod::mca || p.method == MapMethod::famd;
  Table table;
  MatrixD x = map_input(p, description, by_columns ? &table : nullptr);
  // The stages below need two rows; say so in terms of the data, not of a stage.
  if (x.rows() < 2)
    throw DataError(fmt::format("{}: {} row{}; a map needs at least 2 rows", p.data, x.rows(), x.rows() == 1 ? "" : "s"));
  std::vector<std::size_t> rows(x.rows());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  std::string text = fmt::format("input     {}\n", description);

  if (p.drop_outliers) {
    EcodParams ep;
    ep.contamination = p.contamination;
    const EcodModel ecod = fit_ecod(x.view(), ep);
    const auto flags = ecod.labels();
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < flags.size(); ++i)
      if (!flags[i]) keep.push_back(i);
    text += fmt::format("outliers  ECOD, contamination {}: {} dropped, {} rows kept\n", p.contamination,
                        x.rows() - keep.size(), keep.size());
    x = take_rows<double, std::size_t>(x.view(), keep);
    rows = std::move(keep);
  }

  const std::size_t n = x.rows();
  if (p.sample != 1.0 || p.replace) {
    const auto count = static_cast<std::size_t>(std::llround(p.sample * static_cast<double>(n)));
    if (count < 2) throw ParameterError("sample", fmt::format("{} of {} rows leaves fewer than 2", p.sample, n));
    Rng rng = Rng::stream(p.seed, 0x5a3b);
    std::vector<std::size_t> pick;
    if (p.replace) {
      for (std::size_t i = 0; i < count; ++i) pick.push_back(static_cast<std::size_t>(rng.below(n)));
    } else {
      pick = rng.sample_without_replacement(n, count);
      std::sort(pick.begin(), pick.end());
    }
    x = take_rows<double, std::size_t>(x.view(), pick);
    std::vector<std::size_t> picked_rows;
    for (std::size_t i : pick) picked_rows.push_back(rows[i]);
    rows = std::move(picked_rows);
    text += fmt::format("sample    {} rows ({} of {}{})\n", count, p.sample, n, p.replace ? ", with replacement" : "");
  }

  MatrixD coords;
  Diagnostics diag;
  if (p.method == MapMethod::pca) {
    PcaParams pp;
    pp.n_components = p.dims;
    pp.standardize = p.standardize;
    const PcaModel m = fit_pca<double>(x.view(), pp, &diag);
    coords = m.row_coordinates;
    std::string var;
    for (std::size_t c = 0; c < m.n_components(); ++c)
      var += fmt::format("{}pca{} {:.2f}%", c ? ", " : "", c + 1, m.percentage_of_variance[c]);
    text += fmt::format("pca       eigenvalues {}; variance {} (cumulative {:.2f}%)\n",
                        fmt::join(m.eigenvalues, ", "), var, m.cumulative_percentage_of_variance.back());
  } else if (by_columns) {
    // The columns as k-prototypes sees them, fitted on the mapped rows.
    const MixedPlan plan = fit_mixed_plan(table, rows, &diag);
    const MixedPlan::Data all = plan.transform(table);
    const MatrixD numeric = take_rows<double, std::size_t>(all.numeric.view(), rows);
    const Matrix<std::int32_t> codes = take_rows<std::int32_t, std::size_t>(all.codes.view(), rows);
    const bool famd = p.method == MapMethod::famd;
    if (codes.cols() == 0 || (famd && numeric.cols() == 0))
      throw ParameterError("method", fmt::format("{} needs {} columns, but {} has {}; use {}", to_string(p.method),
                                                 famd ? "numeric and categorical" : "categorical", p.data,
                                                 codes.cols() == 0 ? "no categorical one" : "no numeric one",
                                                 famd ? "mca or pca" : "pca"));
    std::vector<double> eigenvalues, percent;
    double cumulative = 0;
    if (famd) {
      FamdParams fp;
      fp.n_components = p.dims;
      const FamdModel f = fit_famd(numeric.view(), codes.view(), fp, &diag);
      coords = f.row_coordinates;
      eigenvalues = f.eigenvalues;
      percent = f.percentage_of_variance;
      cumulative = f.cumulative_percentage_of_variance.back();
    } else {
      McaParams mp;
      mp.n_components = p.dims;
      const McaModel m = fit_mca(codes.view(), mp, &diag);
      coords = m.row_coordinates;
      eigenvalues = m.eigenvalues;
      percent = m.percentage_of_variance;
      cumulative = m.cumulative_percentage_of_variance.back();
    }
    std::string var;
    for (std::size_t c = 0; c < percent.size(); ++c)
      var += fmt::format("{}{}{} {:.2f}%", c ? ", " : "", to_string(p.method), c + 1, percent[c]);
    text += fmt::format("{:<9} {} numeric and {} categorical columns; eigenvalues {}; variance {} (cumulative {:.2f}%)\n",
                        to_string(p.method), numeric.cols(), codes.cols(), fmt::join(eigenvalues, ", "), var, cumulative);
  } else {
    TsneParams tp;
    tp.n_components = p.dims;
    tp.perplexity = p.perplexity;
    tp.learning_rate = p.learning_rate;
    tp.n_iter = p.n_iter;
    tp.init = p.init;
    tp.method = p.tsne_method;
    tp.random_state = p.seed;
    const TsneResult t = fit_tsne<double>(x.view(), tp, &diag);
    coords = t.embedding;
    text += fmt::format("t-SNE     {}D of {} rows, perplexity {}, learning rate {:.1f}, {} iterations: KL divergence {:.4f} "
                        "(neighbours {:.2f}s, affinities {:.2f}s, optimisation {:.2f}s)\n",
                        p.dims, x.rows(), p.perplexity, t.learning_rate, t.n_iter, t.kl_divergence,
                        t.seconds_neighbors, t.seconds_affinities, t.seconds_optimize);
  }
  for (const auto& d : diag.items())
    if (d.level == Diagnostic::Level::warning) text += fmt::format("warning   [{}] {}\n", d.stage, d.message);

  if (ends_with(p.out, ".npy")) {
    write_file_atomic(p.out, matrix_to_npy(coords.view()));
  } else {
    std::string s = "row";
    for (std::size_t c = 0; c < coords.cols(); ++c) s += fmt::format(",{}{}", to_string(p.method), c + 1);
    s += "\n";
    for (std::size_t i = 0; i < coords.rows(); ++i) {
      s += std::to_string(rows[i]);
      for (std::size_t c = 0; c < coords.cols(); ++c) s += "," + format_double(coords(i, c));
      s += "\n";
    }
    write_file_atomic(p.out, s);
  }
  text += fmt::format("wrote     {} ({} rows) in {:.2f}s\n", p.out, coords.rows(), clock.seconds());
  return text;
}

std::string_view to_string(MapMethod m) noexcept {
  switch (m) {
    case MapMethod::tsne: return "tsne";
    case MapMethod::mca: return "mca";
    case MapMethod::famd: return "famd";
    case MapMethod::pca: break;
  }
  return "pca";
}

MapMethod parse_map_method(std::string_view text, std::string_view what) {
  for (MapMethod m : {MapMethod::pca, MapMethod::tsne, MapMethod::mca, MapMethod::famd})
    if (text == to_string(m)) return m;
  throw ParameterError(std::string(what), fmt::format("expected pca, tsne, mca or famd, got '{}'", text));
}

std::string embed_command(const EmbedParams& p) {
  // Under mpirun (docs/USAGE.md "Many machines") every rank reads the file as `run`
  // does and encodes its share of the batches; rank 0 alone checks and writes the
  // output and prints. A step that may fail on one rank only is agreed on by all.
  const Communicator& comm = world();
  const bool root = comm.rank() == 0, several = comm.size() > 1;
  if (p.data.empty()) throw ParameterError("data", "no input file given");
  if (several && p.data == "-")
    throw ParameterError("data", "standard input cannot be read by several ranks (mpirun); give a file");
  agree_on_failure(comm, [&] { check_out(p.out, "out", root); });
  const EmbedPrecision precision = p.precision;
  if (p.batch < 1) throw ParameterError("batch_size", "must be at least 1");
  set_num_threads(p.threads);
  Progress::set_enabled(!p.quiet && root);
  ModelLocation loc;
  // Rank 0 first (downloading a model named by its Hugging Face id), then the other
  // ranks, which find it in the cache on a machine that shares it.
  root_first(comm, [&] { loc = locate_model(p.model, p.revision); });
  const std::string& dir = loc.dir;
  // An id is named with its commit; a folder by its path.
  const std::string model_name = loc.id.empty() ? dir : fmt::format("{} at {}", loc.id, loc.revision);
  Stopwatch clock;
  const bool blog = p.preset == PrepPreset::blog;
  Table t;
  if (several) {
    CsvOptions csv = p.csv;
    if (blog && csv.columns.empty()) csv.columns = "0:8";  // as load_table
    t = std::move(read_csv_on_ranks(p.data, csv, comm).table);
  } else {
    t = load_table(p.data, p.csv, blog);
  }
  Diagnostics diag;
  std::vector<std::string> sentences;
  SentenceEncoder encoder;
  agree_on_failure(comm, [&] {
    const RowTemplate tpl = RowTemplate::resolve(detail::row_template_spec(p.row_template, blog, t, diag));
    tpl.check(t);
    sentences = tpl.render(t);
    encoder = SentenceEncoder::load(dir);
  });
  EncodeOptions eo;
  eo.precision = precision;
  eo.batch_size = p.batch;
  eo.normalize = true;
  eo.cache_dir = p.cache;
  if (!p.prompt.empty()) eo.prompt = p.prompt;
  if (several) eo.comm = &comm;  // each rank its share of the batches; every rank gets every vector
  EncodeStats st;
  const MatrixF v = encoder.encode(sentences, eo, &st, &diag);
  agree_on_failure(comm, [&] {
    if (!root) return;
    if (ends_with(p.out, ".npy")) {
      write_file_atomic(p.out, matrix_to_npy(v.view()));
    } else {
      std::vector<std::string> names;
      for (std::size_t j = 0; j < v.cols(); ++j) names.push_back(fmt::format("dim{}", j));
      write_file_atomic(p.out, matrix_to_csv(v.view(), names));
    }
  });
  if (!root) return {};
  std::string text = fmt::format(
      "embedded  {} rows of {} with {} ({} dimensions, {} on {}): {} distinct sentences, {} from the cache, {} encoded, "
      "{} tokens, {} truncated\n",
      t.rows(), p.data, model_name, v.cols(), to_string(precision), embed_precision_kernel(precision), st.unique, st.cached, st.encoded, st.tokens, st.truncated);
  if (st.layer0_pairs)
    text += fmt::format("          layer 0 computed once per distinct (token, position) pair: {} pairs for {} tokens\n",
                        st.layer0_pairs, st.tokens);
  if (!st.encoded_by_rank.empty()) {
    std::string per_rank;
    for (std::size_t r = 0; r < st.encoded_by_rank.size(); ++r)
      per_rank += fmt::format("{}{} in {:.1f}s", r ? ", " : "", st.encoded_by_rank[r], st.seconds_by_rank[r]);
    text += fmt::format("ranks     {} ranks encoded their shares of the batches: {}; rank 0 received {} bytes of vectors\n",
                        st.encoded_by_rank.size(), per_rank, st.bytes_received);
  }
  text += fmt::format("speed     {:.1f}s encoding: {:.1f} sentences/s, {:.1f} GFLOP/s\n", st.seconds,
                      st.seconds > 0 ? static_cast<double>(st.encoded) / st.seconds : 0.0,
                      st.seconds > 0 ? st.flops / st.seconds / 1e9 : 0.0);
  for (const auto& d : diag.items())
    if (d.level == Diagnostic::Level::warning) text += fmt::format("warning   [{}] {}\n", d.stage, d.message);
  text += fmt::format("wrote     {} ({} x {}) in {:.2f}s\n", p.out, v.rows(), v.cols(), clock.seconds());
  return text;
}

}  // namespace segmenta
