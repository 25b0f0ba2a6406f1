// The parameter table of a run: each parameter declared once with its option, its
// documentation, its parser, its domain check and its run.json entry. The command
// line, validate_run_params(), run.json and the flag table of docs/USAGE.md all
// come from here.
#include <charconv>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "segmenta/embed.hpp"
#include "segmenta/pipeline.hpp"
#include "segmenta/postgres.hpp"
#include "postgres_sink.hpp"

namespace segmenta {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail(std::string_view name, std::string message) { throw ParameterError(std::string(name), std::move(message)); }

/// Runs f; an InvalidArgument from a parser ("what: message") becomes a ParameterError of `name`.
template <class F>
void as_param(std::string_view name, F&& f) {
  try {
    f();
  } catch (const ParameterError&) {
    throw;
  } catch (const InvalidArgument& e) {
    std::string m = e.what();
    const std::size_t colon = m.find(": ");
    fail(name, colon == std::string::npos ? m : m.substr(colon + 2));
  }
}

template <class T>
T parse_integer(std::string_view name, std::string_view text) {
  T v{};
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
    fail(name, fmt::format("expected {} integer, got '{}'", std::is_signed_v<T> ? "an" : "a non-negative", text));
  return v;
}

double parse_number(std::string_view name, std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) fail(name, fmt::format("expected a number, got '{}'", text));
  return v;
}

/// n_init as the methods of the run use it: one number when they agree, else per method.
json n_init_json(const RunParams& p) {
  const std::vector<Method> methods = p.method == Method::all ? clustering_methods() : std::vector<Method>{p.method};
  const std::size_t first = effective_n_init(p, methods.front());
  bool same = true;
  for (Method m : methods) same &= effective_n_init(p, m) == first;
  if (same) return first;
  json per = json::object();
  for (Method m : methods) per[std::string(to_string(m))] = effective_n_init(p, m);
  return per;
}

std::vector<ParamSpec> make_specs() {
  std::vector<ParamSpec> s;
  s.push_back(
      {"method", "--method", false, "kmeans|kprototypes|embed|lca|all", "lca",
       "`kmeans`, `kprototypes`, `embed`, `lca` (latent-class model), or `all` (every method on the same rows, "
       "compared)",
       [](RunParams& p, std::string_view t) { as_param("method", [&] { p.method = parse_method(t, "method"); }); },
       nullptr, [](const RunParams& p) -> json { return std::string(to_string(p.method)); }});
  s.push_back({"k", "--k", false, "auto|N|A..B", "auto", "number of segments: `auto` (sweep 2..10, further while the deciding criterion still improves at the end), `N`, or a range `A..B` to sweep",
               [](RunParams& p, std::string_view t) { as_param("k", [&] { p.k = KSpec::parse(t, "k"); }); }, nullptr,
               [](const RunParams& p) -> json { return p.k.str(); }});
  s.push_back({"k_criterion", "--k-criterion", false,
               "auto|elbow|silhouette|calinski-harabasz|davies-bouldin|stability|bic|bic-plateau|icl", "auto",
               "how a sweep chooses k: `auto` (lca: `bic-plateau`, the smallest k whose BIC is within 2 % of the "
               "sweep's BIC range of the lowest; other methods: the elbow of the objective curve, else stability, "
               "else silhouette), or one criterion (`bic`, `bic-plateau`, `icl`: lca only); a criterion that finds "
               "nothing says so and the `auto` order decides",
               [](RunParams& p, std::string_view t) { p.k_criterion = parse_k_criterion(t, "k_criterion"); }, nullptr,
               [](const RunParams& p) -> json { return std::string(to_string(p.k_criterion)); }});
  s.push_back({"stability_pairs", "--stability-pairs", false, "N", "4 (0 with blog)",
               "pairs of seeded subsamples (80 % of at most 2500 clustered rows each, 2 restarts per fit) whose "
               "mean ARI is the stability of each k; 0 = not measured",
               [](RunParams& p, std::string_view t) {
                 p.stability_pairs = parse_integer<std::size_t>("stability_pairs", t);
               },
               [](const RunParams& p) {
                 if (p.stability_pairs && *p.stability_pairs > 100)
                   fail("stability_pairs", fmt::format("must be in 0..100, got {}", *p.stability_pairs));
                 if (p.k_criterion == KCriterion::stability && p.stability_pairs && *p.stability_pairs == 0)
                   fail("stability_pairs", "--k-criterion stability needs at least 1 pair");
               },
               [](const RunParams& p) -> json { return effective_stability_pairs(p); }});
  s.push_back({"preset", "--preset", false, "standard|blog", "standard",
               "`blog` reproduces the blog's preprocessing (first 8 columns, OrdinalEncoder + PowerTransformer; Huang "
               "init and the blog template)",
               [](RunParams& p, std::string_view t) { as_param("preset", [&] { p.preset = parse_prep_preset(t, "preset"); }); },
               nullptr, [](const RunParams& p) -> json { return std::string(to_string(p.preset)); }});
  s.push_back({"numeric", "--numeric", false, "yeo-johnson|standard|none", "yeo-johnson",
               "numeric columns before every method: Yeo-Johnson then standardised (scikit-learn's PowerTransformer), "
               "`standard` (standardised only, as after a StandardScaler), or `none` (the numbers as they are; with "
               "the standard preset the one-hot indicators stay 0/1 too)",
               [](RunParams& p, std::string_view t) {
                 as_param("numeric", [&] { p.numeric = parse_numeric_transform(t, "numeric"); });
               },
               nullptr, [](const RunParams& p) -> json { return std::string(to_string(p.numeric)); }});
  s.push_back({"columns", "--columns", false, "SPEC", "all",
               "columns to use: names and/or 0-based ranges, e.g. `age,job` or `0:8`",
               [](RunParams& p, std::string_view t) { p.csv.columns = std::string(t); }, nullptr,
               [](const RunParams& p) -> json { return p.csv.columns; }});
  s.push_back({"types", "--types", false, "COL=TYPE,...", "inferred", "type overrides, e.g. `zip=categorical,score=numeric`; `date`, `date-dmy`, `date-mdy`, `date-ymd` read dates (days since the earliest)",
               [](RunParams& p, std::string_view t) {
                 p.csv.types.clear();
                 p.csv.dates.clear();
                 std::size_t start = 0;
                 while (start < t.size()) {
                   std::size_t comma = t.find(',', start);
                   if (comma == std::string_view::npos) comma = t.size();
                   const std::string_view item = t.substr(start, comma - start);
                   start = comma + 1;
                   const std::size_t eq = item.find('=');
                   if (eq == std::string_view::npos || eq == 0) fail("types", fmt::format("expected column=type, got '{}'", item));
                   if (const auto date = parse_date_type(item.substr(eq + 1))) {
                     p.csv.dates.emplace_back(std::string(item.substr(0, eq)), *date);
                     continue;
                   }
                   as_param("types", [&] {
                     p.csv.types.emplace_back(std::string(item.substr(0, eq)), parse_column_type(item.substr(eq + 1), "types"));
                   });
                 }
               },
               nullptr,
               [](const RunParams& p) -> json {
                 json types = json::object();
                 for (const auto& [c, t] : p.csv.types) types[c] = std::string(to_string(t));
                 for (const auto& [c, d] : p.csv.dates)
                   types[c] = d.order ? "date-" + std::string(to_string(*d.order)) : std::string("date");
                 return types;
               }});
  s.push_back({"delimiter", "--delimiter", false, "CHAR", "sniffed", "field delimiter: one character or `tab`; sniffed among comma, semicolon, tab and pipe when not given",
               [](RunParams& p, std::string_view t) {
                 if (t.empty()) {
                   p.csv.delimiter = 0;
                   return;
                 }
                 const std::string_view d = t == "\\t" || t == "tab" ? std::string_view("\t") : t;
                 if (d.size() != 1) fail("delimiter", fmt::format("expected one character, got '{}'", t));
                 p.csv.delimiter = d[0];
               },
               nullptr,
               [](const RunParams& p) -> json {
                 return p.csv.delimiter ? std::string(1, p.csv.delimiter) : std::string("auto");
               }});
  s.push_back({"decimal", "--decimal", false, ".|,", "per column",
               "decimal mark of numbers: `,` for a decimal comma (`3,14`, `1.234,5`), `.` for a point with commas "
               "as thousands separators (`1,234.5`); when not given, each column is read the way all its cells "
               "agree on (a note says so)",
               [](RunParams& p, std::string_view t) {
                 if (t.empty()) {
                   p.csv.decimal = 0;
                   return;
                 }
                 if (t != "." && t != ",") fail("decimal", fmt::format("expected . or , got '{}'", t));
                 p.csv.decimal = t[0];
               },
               nullptr,
               [](const RunParams& p) -> json {
                 return p.csv.decimal ? std::string(1, p.csv.decimal) : std::string("auto");
               }});
  s.push_back({"contamination", "--contamination", false, "X", "0.1", "share of rows ECOD flags as outliers, in (0, 0.5]",
               [](RunParams& p, std::string_view t) { p.contamination = parse_number("contamination", t); },
               [](const RunParams& p) {
                 if (!(p.contamination > 0.0 && p.contamination <= 0.5))
                   fail("contamination", fmt::format("must be in (0, 0.5], got {}", p.contamination));
               },
               [](const RunParams& p) -> json { return p.contamination; }});
  s.push_back({"outliers", "--outliers", false, "drop|flag|none", "drop",
               "what to do with flagged rows: `drop`, `flag` (cluster them too) or `none` (no detection)",
               [](RunParams& p, std::string_view t) { as_param("outliers", [&] { p.outliers = parse_outlier_policy(t, "outliers"); }); },
               nullptr, [](const RunParams& p) -> json { return std::string(to_string(p.outliers)); }});
  s.push_back({"seed", "--seed", false, "N", "0", "random seed of every stage (same seed, same result, any thread count)",
               [](RunParams& p, std::string_view t) { p.seed = parse_integer<std::uint64_t>("seed", t); }, nullptr,
               [](const RunParams& p) -> json { return p.seed; }});
  s.push_back({"threads", "--threads", false, "N", "all cores", "worker threads; 0 or not given: `SEGMENTA_THREADS`, else all cores",
               [](RunParams& p, std::string_view t) { p.threads = parse_integer<int>("threads", t); },
               [](const RunParams& p) {
                 if (p.threads < 0) fail("threads", fmt::format("must be >= 0 (0 = all cores), got {}", p.threads));
               },
               [](const RunParams&) -> json { return num_threads(); }});
  s.push_back({"out", "--out", false, "DIR", "segmenta-out", "output directory",
               [](RunParams& p, std::string_view t) { p.out_dir = std::string(t); }, nullptr, nullptr});
  s.push_back({"table", "--table", false, "NAME", "none",
               "with a `postgresql://` data argument: the table to read (optionally `schema.table`; in primary-key "
               "order when it has a one-column key)",
               [](RunParams& p, std::string_view t) { p.table = std::string(t); },
               [](const RunParams& p) {
                 if (!p.table.empty() && !p.query.empty()) fail("query", "give either --table or --query, not both");
                 if (!p.table.empty() && !p.data.empty() && !is_postgres_uri(p.data))
                   fail("table", "only with a postgresql:// data argument");
               },
               [](const RunParams& p) -> json { return p.table.empty() ? json(nullptr) : json(p.table); }});
  s.push_back({"query", "--query", false, "SQL", "none",
               "with a `postgresql://` data argument: the query whose rows to read",
               [](RunParams& p, std::string_view t) { p.query = std::string(t); },
               [](const RunParams& p) {
                 if (!p.query.empty() && !p.data.empty() && !is_postgres_uri(p.data))
                   fail("query", "only with a postgresql:// data argument");
               },
               [](const RunParams& p) -> json { return p.query.empty() ? json(nullptr) : json(p.query); }});
  s.push_back({"to", "--to", false, "URI", "none",
               "also write the segments to this PostgreSQL database (`postgresql://...`): one row per input row, in "
               "one transaction; the files still go to `--out`",
               [](RunParams& p, std::string_view t) { p.to = std::string(t); },
               [](const RunParams& p) { detail::check_database_target(p.to, p.to_table, p.if_exists); },
               [](const RunParams& p) -> json { return p.to.empty() ? json(nullptr) : json(redact_postgres_uri(p.to)); }});
  s.push_back({"to_table", "--to-table", false, "NAME", "none", "the table `--to` writes (optionally `schema.table`)",
               [](RunParams& p, std::string_view t) { p.to_table = std::string(t); }, nullptr,
               [](const RunParams& p) -> json { return p.to_table.empty() ? json(nullptr) : json(p.to_table); }});
  s.push_back({"if_exists", "--if-exists", false, "fail|replace|append", "fail",
               "when the `--to-table` exists: `fail` (before any work), `replace` it, or `append` to it",
               [](RunParams& p, std::string_view t) { p.if_exists = std::string(t); }, nullptr,
               [](const RunParams& p) -> json { return p.if_exists; }});
  s.push_back({"n_init", "--n-init", false, "N", "10 (30 for kmeans with blog)",
               "k-means, k-prototypes and latent-class (EM) restarts per k",
               [](RunParams& p, std::string_view t) { p.n_init = parse_integer<std::size_t>("n_init", t); },
               [](const RunParams& p) {
                 if (p.n_init > 1000)
                   fail("n_init", fmt::format("must be in 1..1000 (0 = the default), got {}", p.n_init));
               },
               n_init_json});
  s.push_back({"max_iter", "--max-iter", false, "N", "300", "k-means iterations per restart",
               [](RunParams& p, std::string_view t) { p.max_iter = parse_integer<std::size_t>("max_iter", t); },
               [](const RunParams& p) {
                 if (p.max_iter < 1) fail("max_iter", "must be at least 1");
               },
               [](const RunParams& p) -> json { return p.max_iter; }});
  s.push_back({"tol", "--tol", false, "X", "1e-4", "k-means tolerance (relative to the mean feature variance)",
               [](RunParams& p, std::string_view t) { p.tol = parse_number("tol", t); },
               [](const RunParams& p) {
                 if (!(p.tol >= 0.0)) fail("tol", "must be >= 0");
               },
               [](const RunParams& p) -> json { return p.tol; }});
  s.push_back({"silhouette_sample", "--silhouette-sample", false, "N", "0",
               "rows of the estimated silhouette (`0` = exact up to --silhouette-exact-max rows, 2000 rows above; N: "
               "the estimate on N rows at any size)",
               [](RunParams& p, std::string_view t) { p.silhouette_sample = parse_integer<std::size_t>("silhouette_sample", t); },
               [](const RunParams& p) {
                 if (p.silhouette_sample == 1) fail("silhouette_sample", "a sample needs at least 2 rows");
               },
               [](const RunParams& p) -> json { return p.silhouette_sample; }});
  s.push_back({"silhouette_exact_max", "--silhouette-exact-max", false, "N", "100000",
               "clustered rows up to which the silhouette of each k is exact (O(n²)); above, it is estimated with its "
               "standard error",
               [](RunParams& p, std::string_view t) {
                 p.silhouette_exact_max = parse_integer<std::size_t>("silhouette_exact_max", t);
               },
               nullptr, [](const RunParams& p) -> json { return p.silhouette_exact_max; }});
  s.push_back({"sweep_all_max", "--sweep-all-max", false, "N", "100000",
               "clustered rows up to which the k sweep fits every k on all rows; above, on a seeded sample "
               "(--sweep-sample), then the chosen k on all rows from the sample's centres, prototypes or class "
               "parameters (every method)",
               [](RunParams& p, std::string_view t) { p.sweep_all_max = parse_integer<std::size_t>("sweep_all_max", t); },
               nullptr, [](const RunParams& p) -> json { return p.sweep_all_max; }});
  s.push_back({"sweep_sample", "--sweep-sample", false, "N", "0",
               "rows of the k sweep's sample above --sweep-all-max (`0` = max(256 × the largest k, 50000))",
               [](RunParams& p, std::string_view t) { p.sweep_sample = parse_integer<std::size_t>("sweep_sample", t); },
               [](const RunParams& p) {
                 if (p.sweep_sample == 1) fail("sweep_sample", "a sample needs at least 2 rows");
               },
               [](const RunParams& p) -> json { return p.sweep_sample; }});
  s.push_back({"init", "--init", false, "huang|cao", "cao (huang with blog)", "k-prototypes initialisation",
               [](RunParams& p, std::string_view t) { as_param("init", [&] { p.kproto_init = parse_kprototypes_init(t, "init"); }); },
               nullptr, [](const RunParams& p) -> json { return std::string(to_string(effective_kproto_init(p))); }});
  s.push_back({"gamma", "--gamma", false, "X", "0.5",
               "k-prototypes weight of one categorical mismatch; the default is kmodes' 0.5 × the mean standard "
               "deviation of the numeric columns, which are standardised first, so 0.5 (up to rounding)",
               [](RunParams& p, std::string_view t) { p.gamma = parse_number("gamma", t); },
               [](const RunParams& p) {
                 if (p.gamma && !(std::isfinite(*p.gamma) && *p.gamma >= 0))
                   fail("gamma", fmt::format("must be a finite number >= 0, got {}", *p.gamma));
               },
               [](const RunParams& p) -> json { return p.gamma ? json(*p.gamma) : json("default"); }});
  s.push_back({"kproto_max_iter", "--kproto-max-iter", false, "N", "100", "k-prototypes passes per restart",
               [](RunParams& p, std::string_view t) { p.kproto_max_iter = parse_integer<std::size_t>("kproto_max_iter", t); },
               [](const RunParams& p) {
                 if (p.kproto_max_iter < 1) fail("kproto_max_iter", "must be at least 1");
               },
               [](const RunParams& p) -> json { return p.kproto_max_iter; }});
  s.push_back({"kproto_batch", "--kproto-batch", true, "", "off",
               "batch (Lloyd-style, parallel) k-prototypes instead of kmodes' online updates (a different algorithm)",
               [](RunParams& p, std::string_view) { p.kproto_batch = true; }, nullptr,
               [](const RunParams& p) -> json { return p.kproto_batch; }});
  s.push_back({"explain", "--no-explain", true, "", "on", "skip the surrogate model and its SHAP importance",
               [](RunParams& p, std::string_view) { p.explain = false; }, nullptr,
               [](const RunParams& p) -> json { return p.explain; }});
  s.push_back({"model", "--model", false, "DIR|ID", "paraphrase-MiniLM-L6-v2",
               "embed: sentence-transformers model folder, its name under `SEGMENTA_MODELS`, or a Hugging Face id "
               "(`org/name`; a bare name is `sentence-transformers/<name>`) from the Hugging Face cache, downloaded "
               "when missing",
               [](RunParams& p, std::string_view t) { p.model = std::string(t); }, nullptr,
               [](const RunParams& p) -> json { return p.model; }});
  s.push_back({"revision", "--revision", false, "REV", "main",
               "embed: branch, tag or commit of a Hugging Face id",
               [](RunParams& p, std::string_view t) {
                 if (t.empty() || t.find("..") != std::string_view::npos || t.front() == '/')
                   fail("revision", fmt::format("expected a branch, tag or commit, got '{}'", t));
                 p.revision = std::string(t);
               },
               nullptr, [](const RunParams& p) -> json { return p.revision.empty() ? "main" : p.revision; }});
  s.push_back({"prompt", "--prompt", false, "NAME", "the model's default",
               "embed: a prompt of the model (config_sentence_transformers.json, e.g. e5's `query` or `passage`) put "
               "before every sentence",
               [](RunParams& p, std::string_view t) {
                 if (t.empty()) fail("prompt", "expected the name of one of the model's prompts");
                 p.prompt = std::string(t);
               },
               nullptr, [](const RunParams& p) -> json { return p.prompt.empty() ? json(nullptr) : json(p.prompt); }});
  s.push_back({"template", "--template", false, "TEXT|blog|@FILE", "every column",
               "embed: the row sentence, `blog`, a template like `Age: {age}, job: {job}`, or `@FILE` (default: every "
               "column as `name: value`; the blog's with `--preset blog`)",
               [](RunParams& p, std::string_view t) {
                 if (t.size() > 1 && t[0] == '@') {
                   p.row_template = read_file(std::string(t.substr(1)));
                   return;
                 }
                 p.row_template = std::string(t);
               },
               [](const RunParams& p) {
                 // The template's syntax is checked with the other flags, before any file is read.
                 if (!p.row_template.empty()) as_param("template", [&] { (void)RowTemplate::resolve(p.row_template); });
               },
               [](const RunParams& p) -> json {
                 return p.row_template.empty() ? (p.preset == PrepPreset::blog ? "blog" : "default") : p.row_template;
               }});
  s.push_back({"precision", "--precision", false, "fp32|bf16|int8", "fp32", "embed: the encoder's arithmetic",
               [](RunParams& p, std::string_view t) { as_param("precision", [&] { p.precision = parse_embed_precision(t, "precision"); }); },
               nullptr, [](const RunParams& p) -> json { return std::string(to_string(p.precision)); }});
  s.push_back({"batch_size", "--batch-size", false, "N", "32", "embed: sentences per encoder batch",
               [](RunParams& p, std::string_view t) { p.embed_batch = parse_integer<std::size_t>("batch_size", t); },
               [](const RunParams& p) {
                 if (p.embed_batch < 1) fail("batch_size", "must be at least 1");
               },
               [](const RunParams& p) -> json { return p.embed_batch; }});
  s.push_back({"embed_cache", "--cache", false, "DIR", "`$XDG_CACHE_HOME/segmenta/embeddings`",
               "embed: the embedding cache directory (`--no-cache`: none)",
               [](RunParams& p, std::string_view t) { p.embed_cache = std::string(t); }, nullptr,
               [](const RunParams& p) -> json { return p.embed_cache; }});
  s.push_back({"maps", "--no-maps", true, "", "on", "skip the PCA / FAMD / MCA / t-SNE maps",
               [](RunParams& p, std::string_view) { p.maps = false; }, nullptr,
               [](const RunParams& p) -> json { return p.maps; }});
  s.push_back({"tsne_sample", "--tsne-sample", false, "N", "3000", "clustered rows in the t-SNE map (0 = no t-SNE)",
               [](RunParams& p, std::string_view t) { p.tsne_sample = parse_integer<std::size_t>("tsne_sample", t); },
               nullptr, [](const RunParams& p) -> json { return p.tsne_sample; }});
  s.push_back({"tsne_dims", "--tsne-dims", false, "2|3", "2", "t-SNE map dimensions",
               [](RunParams& p, std::string_view t) { p.tsne_dims = parse_integer<std::size_t>("tsne_dims", t); },
               [](const RunParams& p) {
                 if (p.tsne_dims != 2 && p.tsne_dims != 3) fail("tsne_dims", fmt::format("must be 2 or 3, got {}", p.tsne_dims));
               },
               [](const RunParams& p) -> json { return p.tsne_dims; }});
  s.push_back({"perplexity", "--perplexity", false, "X", "30", "t-SNE perplexity",
               [](RunParams& p, std::string_view t) { p.perplexity = parse_number("perplexity", t); },
               [](const RunParams& p) {
                 if (!(std::isfinite(p.perplexity) && p.perplexity > 0))
                   fail("perplexity", fmt::format("must be a positive number, got {}", p.perplexity));
               },
               [](const RunParams& p) -> json { return p.perplexity; }});
  s.push_back({"report", "--no-report", true, "", "on", "do not write report.html",
               [](RunParams& p, std::string_view) { p.report = false; }, nullptr,
               [](const RunParams& p) -> json { return p.report; }});
  s.push_back({"quiet", "--quiet", true, "", "off", "no progress bars or summary",
               [](RunParams& p, std::string_view) { p.quiet = true; }, nullptr, nullptr});
  return s;
}

}  // namespace


const std::vector<ParamSpec>& run_param_specs() {
  static const std::vector<ParamSpec> specs = make_specs();
  return specs;
}

const ParamSpec* find_run_param(std::string_view key) {
  for (const auto& s : run_param_specs())
    if (s.name == key || s.flag == key) return &s;
  return nullptr;
}

void set_run_param(RunParams& p, std::string_view name, std::string_view text) {
  const ParamSpec* s = find_run_param(name);
  if (!s) throw InvalidArgument(fmt::format("{}: not a run parameter", name));
  s->set(p, text);
}

void validate_run_params(const RunParams& p) {
  for (const auto& s : run_param_specs())
    if (s.check) s.check(p);
}

nlohmann::json run_params_json(const RunParams& p) {
  json j = json::object();
  j["data"] = p.data;
  for (const auto& s : run_param_specs())
    if (s.manifest) j[std::string(s.name)] = s.manifest(p);
  return j;
}

std::string run_params_markdown() {
  std::string md = "| flag | parameter | default | meaning |\n|---|---|---|---|\n";
  for (const auto& s : run_param_specs()) {
    std::string flag = fmt::format("`{}`", s.flag);
    if (!s.is_switch) {
      std::string value;
      for (char c : s.value) value += c == '|' ? std::string("\\|") : std::string(1, c);
      flag = fmt::format("`{} {}`", s.flag, value);
    }
    if (s.name == "quiet") flag += ", `-q`";
    if (s.name == "embed_cache") flag += ", `--no-cache`";
    md += fmt::format("| {} | `{}` | {} | {} |\n", flag, s.name, s.default_text, s.help);
  }
  return md;
}

}  // namespace segmenta
