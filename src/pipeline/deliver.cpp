// The outputs of a run, all made from the typed SegmentationResult: segments.csv,
// profiles, maps.csv, metrics.json, model.json, report.html and run.json.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <numeric>
#include <ostream>
#include <streambuf>

#include <fmt/format.h>

#include "context.hpp"
#include "core/block_share.hpp"
#include "model_io.hpp"
#include "outputs.hpp"
#include "report_stage.hpp"
#include "segmenta/report.hpp"

namespace segmenta {
namespace {

/// How a column of dates was read: {"order": "dmy", "reference": "2021-03-04"}; its
/// values are days since the reference.
/// null for a column not read from dates.
nlohmann::json date_json(const Provenance& input, const std::string& column) {
  for (const auto& [name, d] : input.dates)
    if (name == column) return {{"order", std::string(to_string(d.order))}, {"reference", format_day(d.reference)}};
  return nullptr;
}

// Feature names are shown shortened (shown_text), as profiles show levels: a
// one-hot feature of a 10 MB text value must not be repeated in metrics.json and the
// report. model.json keeps the names whole (scoring matches levels by their full text).
std::vector<std::string> shown(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const auto& n : names) out.push_back(shown_text(n));
  return out;
}

using json = nlohmann::json;

json timings_json(const std::vector<std::pair<std::string, double>>& items) {
  json j = json::object();
  double total = 0;
  for (const auto& [k, v] : items) {
    j[k] = j.contains(k) ? j[k].get<double>() + v : v;
    total += v;
  }
  j["total"] = total;
  return j;
}

json outliers_json(const SegmentationResult& r) {
  const OutlierResult& o = r.outliers;
  json j{{"method", "ecod"},
         {"space", o.space},
         {"policy", std::string(to_string(o.policy))},
         {"contamination", o.contamination},
         {"flagged", o.count()},
         {"clustered_rows", r.rows.size()}};
  if (!o.model) return j;
  j["threshold"] = o.model->threshold();
  const std::vector<double> means = o.model->outlier_feature_means();
  json contrib = json::array();
  std::vector<std::size_t> order(means.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return means[a] > means[b]; });
  for (std::size_t j2 : order)
    contrib.push_back({{"feature", j2 < o.features.size() ? shown_text(o.features[j2]) : fmt::format("f{}", j2)},
                       {"mean_tail_score", means[j2]}});
  j["feature_contributions"] = contrib;
  // Score histogram for the report: 40 equal bins over [min, max].
  const auto& s = o.score;
  const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
  const std::size_t bins = 40;
  std::vector<std::size_t> counts(bins, 0);
  const double width = (*hi - *lo) / static_cast<double>(bins);
  for (double v : s) {
    std::size_t b = width > 0 ? static_cast<std::size_t>((v - *lo) / width) : 0;
    counts[std::min(b, bins - 1)]++;
  }
  j["score_histogram"] = {{"min", *lo}, {"max", *hi}, {"counts", counts}};
  return j;
}

std::optional<std::size_t> id_column(const Table& t) {
  for (std::size_t j = 0; j < t.cols(); ++j)
    if (t.column(j).type == ColumnType::id) return j;
  return std::nullopt;
}

/// The JSON files are handed to the stream in pieces of about this many bytes.
constexpr std::size_t kPieceBytes = std::size_t{1} << 20;

/// An ostream that hands what it is given to an OutputStream in pieces, for the JSON
/// files: nlohmann's `os << j` writes the same bytes as j.dump() (`os << setw(2) << j`
/// as j.dump(2)) without making the whole text. An error of the stream (IoError)
/// comes out of the serialiser as it is (badbit is in the exceptions mask).
class PieceBuffer final : public std::streambuf {
 public:
  explicit PieceBuffer(detail::OutputStream& out) : out_(out) {}
  void flush_piece() {
    if (!buf_.empty()) out_.write(buf_);
    buf_.clear();
  }

 protected:
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      buf_.push_back(traits_type::to_char_type(c));
      if (buf_.size() >= kPieceBytes) flush_piece();
    }
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    buf_.append(s, static_cast<std::size_t>(n));
    if (buf_.size() >= kPieceBytes) flush_piece();
    return n;
  }

 private:
  detail::OutputStream& out_;
  std::string buf_;
};

/// Writes `j` as the file `name`: dump(indent) and a newline.
void stream_json(detail::OutputStream& out, const std::string& name, const json& j, int indent) {
  out.begin(name);
  PieceBuffer buf(out);
  std::ostream os(&buf);
  os.exceptions(std::ios::badbit | std::ios::failbit);
  if (indent >= 0) os << std::setw(indent);
  os << j << '\n';
  buf.flush_piece();
  out.end();
}

/// segments.csv's header line.
std::string segments_header(const SegmentationResult& r) {
  const Table& t = r.table;
  const bool single = r.methods.size() == 1;
  std::string s = "row";
  if (const std::optional<std::size_t> id_col = id_column(t)) {
    s += ',';
    s += csv_escape(t.column(*id_col).name);
  }
  for (const auto& m : r.methods) {
    s += ",segment";
    if (!single) s.append("_").append(m.name);
    if (m.probability.empty()) continue;
    s += ",probability";
    if (!single) s.append("_").append(m.name);
  }
  s += ",outlier,outlier_score\n";
  return s;
}

/// segments.csv's rows [begin, end), appended to `s`.
void segments_rows(const SegmentationResult& r, std::size_t begin, std::size_t end, std::string& s) {
  const Table& t = r.table;
  const std::optional<std::size_t> id_col = id_column(t);
  for (std::size_t i = begin; i < end; ++i) {
    s += std::to_string(i);
    if (id_col) {
      s += ',';
      s += csv_escape(t.column(*id_col).text(i));
    }
    for (const auto& m : r.methods) {
      s += ",";
      if (m.segment_of_row[i] >= 0) s += std::to_string(m.segment_of_row[i]);
      if (!m.probability.empty()) {
        s += ",";
        if (!std::isnan(m.probability[i])) s += format_double(m.probability[i]);
      }
    }
    s += r.outliers.flagged[i] ? ",1," : ",0,";
    if (!std::isnan(r.outliers.score[i])) s += format_double(r.outliers.score[i]);
    s += "\n";
  }
}

Column numeric_column(std::string name, std::vector<double> values, bool integral) {
  Column c;
  c.name = std::move(name);
  c.type = ColumnType::numeric;
  c.integral = integral;
  c.missing = static_cast<std::size_t>(std::count_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }));
  c.numbers = std::move(values);
  return c;
}

/// The table segments.csv holds, built from the result (for the report).
Table segments_table(const SegmentationResult& r) {
  const Table& t = r.table;
  const std::size_t n = t.rows();
  const bool single = r.methods.size() == 1;
  std::vector<Column> cols;
  std::vector<double> rows(n);
  std::iota(rows.begin(), rows.end(), 0.0);
  cols.push_back(numeric_column("row", std::move(rows), true));
  if (const auto id_col = id_column(t)) {
    Column c;
    c.name = t.column(*id_col).name;
    c.type = ColumnType::id;
    for (std::size_t i = 0; i < n; ++i) {
      if (t.column(*id_col).is_missing(i)) {
        c.codes.push_back(-1);
        ++c.missing;
      } else {
        c.codes.push_back(static_cast<std::int32_t>(c.levels.size()));
        c.levels.push_back(t.column(*id_col).text(i));
      }
    }
    cols.push_back(std::move(c));
  }
  for (const auto& m : r.methods) {
    std::vector<double> seg(n);
    for (std::size_t i = 0; i < n; ++i)
      seg[i] = m.segment_of_row[i] >= 0 ? static_cast<double>(m.segment_of_row[i]) : std::nan("");
    cols.push_back(numeric_column(single ? "segment" : "segment_" + m.name, std::move(seg), true));
    if (!m.probability.empty())
      cols.push_back(numeric_column(single ? "probability" : "probability_" + m.name, m.probability, false));
  }
  std::vector<double> flag(n);
  for (std::size_t i = 0; i < n; ++i) flag[i] = r.outliers.flagged[i] ? 1.0 : 0.0;
  cols.push_back(numeric_column("outlier", std::move(flag), true));
  cols.push_back(numeric_column("outlier_score", r.outliers.score, false));
  return Table("segments.csv", std::move(cols));
}

/// maps.csv's columns: header names and the values of each clustered row.
struct MapColumns {
  std::vector<std::string> header;  // without "row"
  std::vector<const std::vector<double>*> values;
  json info;
  /// Set when the maps hold only this rank's rows (MethodMaps::rank_rows): which rows,
  /// and where in the columns.
  std::optional<detail::RowRounds> rounds;
};

/// `comm`: the ranks that format maps.csv's rows, required when the maps hold only
/// each rank's rows (they are then the rows each formats).
MapColumns map_columns(const SegmentationResult& r, const Communicator* comm) {
  MapColumns out;
  const bool on_ranks = std::any_of(r.methods.begin(), r.methods.end(), [](const auto& m) { return m.maps && m.maps->rank_rows; });
  if (on_ranks) {
    if (comm == nullptr || comm->size() <= 1)
      throw Error("maps.csv: the maps hold only this rank's rows; the ranks must write them together");
    out.rounds = detail::RowRounds::of(comm, r.rows.size());
  }
  const bool single = r.methods.size() == 1;
  out.info = {{"methods", json::object()}};
  for (const auto& m : r.methods) {
    if (!m.maps) continue;
    const std::string prefix = single ? "" : m.name + "_";
    const std::size_t held = out.rounds ? out.rounds->own_rows() : r.rows.size();
    for (const auto& [name, values] : m.maps->columns) {
      if (values.size() != held)
        throw Error(fmt::format("maps.csv: column {} holds {} rows, not the {} expected", name, values.size(), held));
      out.header.push_back(prefix + name);
      out.values.push_back(&values);
    }
    json info = m.maps->info;
    for (auto& i : info)
      for (auto& c : i["columns"]) c = prefix + c.get<std::string>();
    out.info["methods"][m.name] = std::move(info);
  }
  return out;
}

/// maps.csv's header line.
std::string maps_header(const MapColumns& mc) {
  std::string s = "row";
  for (const auto& h : mc.header) s += "," + h;
  s += "\n";
  return s;
}

/// maps.csv's rows [begin, end) (of the clustered rows; one block of the rows' rounds
/// when the maps are on ranks: this rank's), appended to `s`.
void maps_rows(const SegmentationResult& r, const MapColumns& mc, std::size_t begin, std::size_t end, std::string& s) {
  if (begin >= end) return;
  std::size_t at = begin;  // where row `begin` is in the columns
  if (mc.rounds) {
    if (!mc.rounds->owns(begin) || !mc.rounds->owns(end - 1) ||
        (end - 1) / detail::kRowRoundBlock != begin / detail::kRowRoundBlock)
      throw Error(fmt::format("maps.csv: rows {}..{} are not this rank's", begin, end - 1));
    at = mc.rounds->local_row(begin);
  }
  for (std::size_t i = begin; i < end; ++i, ++at) {
    s += std::to_string(r.rows[i]);
    for (const auto* col : mc.values) {
      s += ",";
      if (!std::isnan((*col)[at])) s += format_double((*col)[at]);
    }
    s += "\n";
  }
}

Table maps_table(const SegmentationResult& r, const MapColumns& mc) {
  std::vector<Column> cols;
  std::vector<double> rows(r.rows.begin(), r.rows.end());
  cols.push_back(numeric_column("row", std::move(rows), true));
  for (std::size_t c = 0; c < mc.header.size(); ++c) cols.push_back(numeric_column(mc.header[c], *mc.values[c], false));
  return Table("maps.csv", std::move(cols));
}

json metrics_json(const SegmentationResult& r, const MapColumns* maps) {
  json metrics;
  metrics["segmenta"] = std::string(version());
  metrics["input"] = {{"file", r.params.data},
                      {"rows", r.table.rows()},
                      {"preset", std::string(to_string(r.params.preset))},
                      {"columns", json::array()},
                      {"features", shown(r.prep.feature_names)}};
  for (const auto& c : r.table.columns()) {
    json col{{"name", c.name},
             {"type", std::string(to_string(c.type))},
             {"missing", c.missing},
             {"distinct", c.is_numeric() ? json(nullptr) : json(c.levels.size())}};
    if (auto date = date_json(r.input, c.name); !date.is_null()) col["date"] = std::move(date);
    metrics["input"]["columns"].push_back(std::move(col));
  }
  metrics["outliers"] = outliers_json(r);
  metrics["method"] = std::string(to_string(r.params.method));
  metrics["methods"] = json::object();
  for (const auto& m : r.methods) {
    json final_block{{"k", m.k},
                     {m.objective, m.final.inertia},
                     {"silhouette", m.final.silhouette},
                     {"calinski_harabasz", m.final.calinski_harabasz},
                     {"davies_bouldin", m.final.davies_bouldin},
                     {"n_iter", m.final.n_iter},
                     {"sizes", m.final.sizes}};
    if (m.final.silhouette_rows > 0) {
      final_block["silhouette_standard_error"] = m.final.silhouette_se;
      final_block["silhouette_sample_rows"] = m.final.silhouette_rows;
    }
    json block{{"objective", m.objective},
               {"space", m.space},
               {"sweep", detail::sweep_json(m.sweep, m.objective)},
               {"final", final_block},
               {"details", m.details},
               {"profiles", detail::profiles_json(m.profiles)}};
    if (m.explanation) block["explanation"] = detail::explanation_json(*m.explanation, shown(r.prep.feature_names));
    metrics["methods"][m.name] = std::move(block);
  }
  if (r.comparison) {
    const MethodComparison& c = *r.comparison;
    json per = json::array();
    for (std::size_t i = 0; i < c.methods.size(); ++i) {
      const MethodSegmentation& m = r.methods[i];
      per.push_back({{"method", m.name},
                     {"k", m.k},
                     {"sizes", m.final.sizes},
                     {"own_space", {{"space", m.space},
                                    {"silhouette", m.final.silhouette},
                                    {"calinski_harabasz", m.final.calinski_harabasz},
                                    {"davies_bouldin", m.final.davies_bouldin}}},
                     {"common_space", {{"silhouette", c.methods[i].common.silhouette},
                                       {"calinski_harabasz", c.methods[i].common.calinski_harabasz},
                                       {"davies_bouldin", c.methods[i].common.davies_bouldin}}}});
    }
    std::vector<std::string> names;
    for (const auto& m : r.methods) names.push_back(m.name);
    metrics["comparison"] = {{"common_space", c.common_space},
                             {"methods", per},
                             {"adjusted_rand_index", {{"methods", names}, {"matrix", c.adjusted_rand_index}}}};
  }
  if (maps) metrics["maps"] = maps->info;
  if (!r.embedding.is_null()) metrics["embedding"] = r.embedding;
  metrics["diagnostics"] = detail::diagnostics_json(r.diagnostics);
  return metrics;
}

json model_json(const SegmentationResult& r) {
  json model{{"format", "segmenta-model"},
             {"version", detail::kModelVersion},
             {"segmenta", std::string(version())},
             {"method", r.methods.front().name},
             {"columns", json::array()},
             {"prep", detail::prep_to_json(r.prep)},
             {"outlier_policy", std::string(to_string(r.outliers.policy))},
             {"outlier_space", r.outliers.on_embeddings ? "embeddings" : "features"},
             {"methods", json::object()}};
  for (const auto& c : r.table.columns()) {
    json column{{"name", c.name}, {"type", std::string(to_string(c.type))}};
    // A column the run read with a decimal comma says so, and scoring reads new rows
    // the same way (alone, '1,125' would read as thousands). Other columns carry no
    // mark, so a table built in memory and the same table read from a file give the
    // same model.json.
    if (c.is_numeric() && c.decimal == ',') column["decimal"] = ",";
    if (auto date = date_json(r.input, c.name); !date.is_null()) column["date"] = std::move(date);
    model["columns"].push_back(std::move(column));
  }
  if (r.outliers.model) model["outliers"] = detail::ecod_to_json(*r.outliers.model);
  for (const auto& m : r.methods) model["methods"][m.name] = m.model->to_json();
  return model;
}

/// run.json's "input": where the rows came from, as the source says it.
json input_json(const Provenance& in) {
  json j{{"file", in.name}};
  if (in.bytes) j["bytes"] = *in.bytes;
  if (in.fnv1a64) j["fnv1a64"] = in.fnv1a64_hex();
  if (in.kind != "file") j["kind"] = in.kind;
  for (const auto& [key, value] : in.extra) j[key] = value;
  return j;
}

}  // namespace

namespace detail {

namespace {

/// The report's maps table when the maps are on the ranks (every rank calls it; rank
/// 0 gets the table, the others nothing): every clustered row, in which the rows the
/// report draws (report_map_lines) and rank 0's own rows hold their coordinates, and
/// the other rows a stand-in of the same finiteness (0, or NaN where the coordinate
/// is not finite), which is all the report reads of them, so the report is the one
/// process's. Each rank sends rank 0 the ranges of its rows whose coordinates are
/// not finite (t-SNE's, outside its sample), rank 0 works out the lines the report
/// draws and sends their list, and each rank sends the coordinates of its own among
/// them. `received`: the bytes rank 0 received.
std::optional<Table> gather_report_maps(const SegmentationResult& r, const MapColumns& mc, const Communicator& comm,
                                        std::uint64_t* received) {
  const RowRounds& rounds = *mc.rounds;
  const bool root = comm.rank() == 0;
  const std::size_t n = r.rows.size(), cols = mc.values.size();
  const std::uint64_t before = comm.bytes_gathered();
  // Per column: the number of ranges, then [begin, end) of each (clustered rows).
  std::vector<std::int64_t> ranges;
  for (std::size_t c = 0; c < cols; ++c) {
    const std::vector<double>& v = *mc.values[c];
    const std::size_t at = ranges.size();
    ranges.push_back(0);
    rounds.for_each_own_block([&](std::size_t b, std::size_t e, std::size_t, std::size_t local) {
      for (std::size_t i = b; i < e;) {
        if (std::isfinite(v[local + (i - b)])) {
          ++i;
          continue;
        }
        const std::size_t first = i;
        while (i < e && !std::isfinite(v[local + (i - b)])) ++i;
        ranges.push_back(static_cast<std::int64_t>(first));
        ranges.push_back(static_cast<std::int64_t>(i));
        ++ranges[at];
      }
    });
  }
  auto bytes_of = [](const auto& v) {
    return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(v[0]));
  };
  const std::vector<std::string> parts = comm.gather_bytes(bytes_of(ranges), 0);
  std::optional<Table> table;
  std::vector<std::int64_t> wanted;  // the lines rank 0 asks the others for
  agree_on_failure(comm, [&] {
    if (!root) return;
    std::vector<Column> columns;
    std::vector<double> row_numbers(r.rows.begin(), r.rows.end());
    columns.push_back(numeric_column("row", std::move(row_numbers), true));
    std::vector<std::vector<double>> values(cols, std::vector<double>(n, 0.0));
    for (const std::string& part : parts) {
      const std::size_t count = part.size() / sizeof(std::int64_t);
      std::vector<std::int64_t> got(count);
      if (count) std::memcpy(got.data(), part.data(), count * sizeof(std::int64_t));
      std::size_t at = 0;
      for (std::size_t c = 0; c < cols; ++c) {
        if (at >= count) throw Error("maps.csv: the ranks' ranges of coordinates differ");
        const auto m = static_cast<std::size_t>(got[at++]);
        for (std::size_t q = 0; q < m; ++q, at += 2) {
          if (at + 1 >= count || got[at] < 0 || got[at] > got[at + 1] || static_cast<std::size_t>(got[at + 1]) > n)
            throw Error("maps.csv: the ranks' ranges of coordinates differ");
          std::fill(values[c].begin() + got[at], values[c].begin() + got[at + 1], std::nan(""));
        }
      }
    }
    rounds.for_each_own_block([&](std::size_t b, std::size_t e, std::size_t, std::size_t local) {
      for (std::size_t c = 0; c < cols; ++c)
        std::copy((*mc.values[c]).begin() + static_cast<std::ptrdiff_t>(local),
                  (*mc.values[c]).begin() + static_cast<std::ptrdiff_t>(local + (e - b)),
                  values[c].begin() + static_cast<std::ptrdiff_t>(b));
    });
    for (std::size_t c = 0; c < cols; ++c) columns.push_back(numeric_column(mc.header[c], std::move(values[c]), false));
    table.emplace("maps.csv", std::move(columns));
    ReportInput in;
    in.metrics = metrics_json(r, &mc);
    in.segments = segments_table(r);
    in.maps = *table;
    in.options.seed = r.params.seed;
    for (std::size_t line : report_map_lines(in))
      if (!rounds.owns(line)) wanted.push_back(static_cast<std::int64_t>(line));
  });
  std::string list = root ? bytes_of(wanted) : std::string();
  comm.broadcast(list, 0);
  wanted.resize(list.size() / sizeof(std::int64_t));
  if (!wanted.empty()) std::memcpy(wanted.data(), list.data(), wanted.size() * sizeof(std::int64_t));
  // This rank's wanted lines, in the list's order: every column's value.
  std::vector<double> mine;
  for (std::int64_t line : wanted) {
    const auto i = static_cast<std::size_t>(line);
    if (!rounds.owns(i)) continue;
    for (std::size_t c = 0; c < cols; ++c) mine.push_back((*mc.values[c])[rounds.local_row(i)]);
  }
  const std::vector<std::string> sent = comm.gather_bytes(bytes_of(mine), 0);
  agree_on_failure(comm, [&] {
    if (!root) return;
    std::vector<std::size_t> at(sent.size(), 0);
    for (std::int64_t line : wanted) {
      const auto i = static_cast<std::size_t>(line);
      const auto q = static_cast<std::size_t>(rounds.owner(i));
      if (q >= sent.size() || (at[q] + cols) * sizeof(double) > sent[q].size())
        throw Error("maps.csv: a rank did not send the report's map points");
      for (std::size_t c = 0; c < cols; ++c) {
        double v;
        std::memcpy(&v, sent[q].data() + (at[q] + c) * sizeof(double), sizeof(double));
        table->column(c + 1).numbers[i] = v;
      }
      at[q] += cols;
    }
  });
  if (received) *received = comm.bytes_gathered() - before;
  return table;
}

}  // namespace

void write_rows(const Communicator* comm, std::size_t rows, const RowFormatter& format, OutputStream* out,
                RowWriteCounts* counts, std::size_t blocks_per_rank) {
  // The rounds of blocks and each rank's share of them (enough blocks a round for
  // every thread; the text does not depend on the split), the same as the maps'
  // projections keep (their rows are the rows a rank formats).
  const RowRounds rounds = RowRounds::of(comm, rows, blocks_per_rank);
  const bool several = rounds.distributed();
  const int rank = rounds.rank;
  const Blocks& blocks = rounds.blocks;
  static_assert(kRowFileBlock == kRowRoundBlock);
  std::vector<std::string> texts;
  for (std::size_t t = 0; t < rounds.rounds(); ++t) {
    const RankBlocks mine = rounds.mine(t);
    std::string failure, text;
    try {
      // This rank's blocks of the round, each formatted by one thread, in order.
      texts.assign(mine.last - mine.first, std::string());
      parallel_for(texts.size(), [&](std::size_t u) {
        const std::size_t b = mine.first + u;
        texts[u].reserve(blocks.size(b) * 48);
        format(blocks.begin(b), blocks.end(b), texts[u]);
      });
      if (counts && !texts.empty()) counts->rows_formatted += blocks.end(mine.last - 1) - blocks.begin(mine.first);
      if (several) {
        std::size_t bytes = 0;
        for (const auto& piece : texts) bytes += piece.size();
        text.reserve(bytes);
        for (auto& piece : texts) {
          text += piece;
          std::string().swap(piece);
        }
      } else {
        for (const auto& piece : texts) out->write(piece);
      }
    } catch (...) {
      if (!several) throw;
      failure = encode_current_error();
      text.clear();
    }
    if (!several) continue;
    const std::uint64_t received_before = comm->bytes_gathered();
    const std::vector<std::string> parts = comm->gather_bytes(text, 0);
    if (counts) counts->bytes_received += comm->bytes_gathered() - received_before;
    std::string().swap(text);
    if (rank == 0 && failure.empty()) {
      try {
        for (const auto& part : parts) out->write(part);
      } catch (...) {
        failure = encode_current_error();
      }
    }
    if (counts) ++counts->rounds;
    agree_on_failure_encoded(*comm, failure);
  }
}

std::vector<std::pair<std::string, double>> render_outputs(const SegmentationResult& r, OutputStream* out,
                                                           RowShare* share) {
  if (r.methods.empty()) throw InvalidArgument("result: no method to write");
  const Communicator* comm = share != nullptr && share->comm != nullptr && share->comm->size() > 1 ? share->comm : nullptr;
  const bool root = comm == nullptr || comm->rank() == 0;
  Stopwatch clock;
  std::vector<std::pair<std::string, double>> timings = r.timings;
  Progress progress("outputs (segments, profiles, metrics, model)");
  progress.note(fmt::format("{} rows", r.table.rows()));
  const bool single = r.methods.size() == 1;
  std::vector<std::string> names;
  auto add = [&](const std::string& name, std::string_view content) {
    names.push_back(name);
    out->begin(name);
    out->write(content);
    out->end();
  };
  // Rank 0's own work while files shared with the other ranks are still to come: its
  // outcome is agreed, so the others never wait for a rank 0 that stopped.
  auto root_step = [&](const std::function<void()>& step) {
    if (comm == nullptr)
      step();
    else
      agree_on_failure(*comm, [&] {
        if (root) step();
      });
  };
  RowWriteCounts counts;
  // A per-row file: header by rank 0, rows formatted by every rank of the share.
  auto row_file = [&](const std::string& name, const std::string& header, std::size_t rows, const RowFormatter& format,
                      bool shared) {
    if (!shared) {
      if (!root) return;
      names.push_back(name);
      out->begin(name);
      out->write(header);
      write_rows(nullptr, rows, format, out);
      out->end();
      return;
    }
    root_step([&] {
      names.push_back(name);
      out->begin(name);
      out->write(header);
    });
    write_rows(comm, rows, format, root ? out : nullptr, &counts);
    root_step([&] { out->end(); });
  };

  const bool any_maps = std::any_of(r.methods.begin(), r.methods.end(), [](const auto& m) { return m.maps.has_value(); });
  const bool share_maps = comm != nullptr && any_maps;
  row_file("segments.csv", segments_header(r), r.table.rows(),
           [&](std::size_t b, std::size_t e, std::string& text) { segments_rows(r, b, e, text); }, comm != nullptr);
  if (share_maps) {
    root_step([&] {
      for (const auto& m : r.methods)
        add(single ? "profiles.csv" : "profiles_" + m.name + ".csv", profiles_to_csv(m.profiles));
    });
  } else if (root) {
    for (const auto& m : r.methods)
      add(single ? "profiles.csv" : "profiles_" + m.name + ".csv", profiles_to_csv(m.profiles));
  }
  std::optional<MapColumns> maps;
  std::optional<Table> report_maps;  // rank 0's, when the maps are on the ranks
  std::uint64_t report_bytes = 0;
  if (any_maps && (root || share_maps)) {
    maps = map_columns(r, share_maps ? comm : nullptr);
    row_file("maps.csv", maps_header(*maps), r.rows.size(),
             [&](std::size_t b, std::size_t e, std::string& text) { maps_rows(r, *maps, b, e, text); }, share_maps);
    if (share_maps && maps->rounds && r.params.report) report_maps = gather_report_maps(r, *maps, *comm, &report_bytes);
  }
  // The shared files are written: the other ranks are done, rank 0 writes the rest alone.
  if (!root) return {};
  if (comm != nullptr) {
    share->rows_done = true;
    share->bytes_received = counts.bytes_received;
    share->rounds = counts.rounds;
  }
  json metrics = metrics_json(r, maps ? &*maps : nullptr);
  if (comm != nullptr)
    metrics["diagnostics"].push_back(
        {{"level", "info"},
         {"stage", "mpi"},
         {"code", "write"},
         {"message", fmt::format("{} ranks formatted the rows of {}; rank 0 received {} bytes of them in {} "
                                 "round{} and wrote them in row order{}",
                                 comm->size(), share_maps ? "segments.csv and maps.csv" : "segments.csv",
                                 counts.bytes_received, counts.rounds, counts.rounds == 1 ? "" : "s",
                                 report_maps ? fmt::format(", and {} bytes of the report's map points and of which "
                                                           "coordinates are not finite", report_bytes)
                                             : std::string())}});
  metrics["timings"] = timings_json(timings);
  names.push_back("metrics.json");
  stream_json(*out, "metrics.json", metrics, 2);
  names.push_back("model.json");
  stream_json(*out, "model.json", model_json(r), -1);
  progress.finish();
  timings.emplace_back("write", clock.seconds());

  json manifest{{"segmenta", std::string(version())},
                {"started", utc_now_iso8601()},
                {"command_line", r.params.command_line},
                {"parameters", run_params_json(r.params)},
                {"input", input_json(r.input)},
                {"timings", timings_json(timings)},
                {"files", names}};
  if (r.params.report) {
    // The report is made from the same result, not from the files just rendered.
    Stopwatch report_clock;
    Progress report_progress("report");
    std::string report;
    {
      ReportInput in;
      in.metrics = metrics;
      in.manifest = manifest;
      in.segments = segments_table(r);
      if (report_maps)
        in.maps = std::move(*report_maps);
      else if (maps)
        in.maps = maps_table(r, *maps);
      in.data = &r.table;
      in.options.seed = r.params.seed;
      report = render_report(in);
    }
    add("report.html", report);
    report_progress.finish();
    timings.emplace_back("report", report_clock.seconds());
    manifest["files"] = names;
  }
  names.push_back("run.json");
  stream_json(*out, "run.json", manifest, 2);
  return timings;
}

}  // namespace detail

namespace {

/// Collects the streamed files whole, for render_outputs(result).
class StringOutputs final : public detail::OutputStream {
 public:
  explicit StringOutputs(OutputFiles& files) : files_(files) {}
  void begin(const std::string& name) override { files_.files.emplace_back(name, std::string()); }
  void write(std::string_view piece) override { files_.files.back().second.append(piece); }
  void end() override {}

 private:
  OutputFiles& files_;
};

}  // namespace

OutputFiles render_outputs(const SegmentationResult& r) {
  OutputFiles out;
  StringOutputs strings(out);
  out.timings = detail::render_outputs(r, strings);
  return out;
}

namespace {

class DirectorySink final : public Sink, public detail::StreamingSink {
 public:
  explicit DirectorySink(const std::string& dir) : out_(dir) {}
  std::vector<std::string> write(const SegmentationResult&, const OutputFiles& files) override {
    for (const auto& [name, content] : files.files) out_.add(name, content);
    out_.commit();
    return out_.names();
  }
  std::vector<std::string> write_streamed(const SegmentationResult& result,
                                          std::vector<std::pair<std::string, double>>& timings,
                                          detail::RowShare* share = nullptr) override {
    timings = detail::render_outputs(result, &out_, share);
    out_.commit();
    return out_.names();
  }
  std::string describe() const override { return out_.dir(); }

 private:
  detail::OutputSet out_;
};

}  // namespace

std::unique_ptr<Sink> open_directory_sink(const std::string& dir) { return std::make_unique<DirectorySink>(dir); }

std::unique_ptr<Sink> open_sink(const std::string& destination) { return open_directory_sink(destination); }

std::vector<std::string> write_outputs(const SegmentationResult& result, const std::string& dir) {
  DirectorySink sink(dir);
  std::vector<std::pair<std::string, double>> timings;
  return sink.write_streamed(result, timings);
}

}  // namespace segmenta
