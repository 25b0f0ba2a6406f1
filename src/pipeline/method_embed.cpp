// The embed method: every row rendered to a sentence, encoded by a sentence-transformer
// (pooled, L2-normalised), then k-means on the vectors.
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "hub.hpp"
#include "method.hpp"
#include "model_io.hpp"
#include "segmenta/cluster.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/embed.hpp"

namespace segmenta {

ModelLocation locate_model(const std::string& spec, const std::string& revision) {
  namespace fs = std::filesystem;
  if (spec.empty()) throw ParameterError("model", "no model folder given");
  std::error_code ec;
  ModelLocation loc;
  const char* root = std::getenv("SEGMENTA_MODELS");
  const fs::path candidate = root && *root ? fs::path(root) / spec : fs::path();
  if (fs::is_directory(spec, ec)) {
    loc.dir = fs::absolute(spec, ec).lexically_normal().string();
  } else if (!candidate.empty() && fs::is_directory(candidate, ec)) {
    loc.dir = fs::absolute(candidate, ec).lexically_normal().string();
  } else {
    const std::string not_found =
        fmt::format("model: no model folder '{}'{}", spec,
                    root && *root ? fmt::format(" (nor under SEGMENTA_MODELS={})", root) : std::string());
    if (looks_like_hub_id(spec)) {
      loc = locate_hub_model(spec, revision, not_found);
    } else {
      const std::string name = fs::path(spec).filename().string();
      throw IoError(fmt::format(
          "{}; the model is a sentence-transformers folder (config.json, tokenizer files, model.safetensors) or a "
          "Hugging Face id, e.g. sentence-transformers/{}",
          not_found, name.empty() ? "paraphrase-MiniLM-L6-v2" : name));
    }
  }
  check_model_weights(loc.dir);
  return loc;
}

std::string resolve_model_dir(const std::string& spec, const std::string& revision) {
  return locate_model(spec, revision).dir;
}

namespace detail {

std::string row_template_spec(const std::string& user, bool blog, const Table& t, Diagnostics& diag) {
  if (!user.empty()) return user;
  if (blog) return "blog";
  // Every selected column as "name: {name}" (id columns left out; a name with a brace
  // cannot be a placeholder and is skipped with a note).
  std::string s;
  for (const auto& c : t.columns()) {
    if (c.type == ColumnType::id) continue;
    if (c.name.find_first_of("{}") != std::string::npos) {
      diag.info("embed", "template_column_skipped",
                fmt::format("column '{}' has a brace in its name and is left out of the default template", c.name));
      continue;
    }
    if (!s.empty()) s += ", ";
    s += c.name + ": {" + c.name + "}";
  }
  if (s.empty()) throw ParameterError("template", "no column to render into a sentence");
  return s;
}

void embed_rows(RunContext& ctx) {
  const RunParams& p = ctx.params;
  Stopwatch clock;
  const ModelLocation loc = locate_model(p.model, p.revision);
  const std::string& dir = loc.dir;
  const SentenceEncoder encoder = SentenceEncoder::load(dir);
  const RowTemplate tpl = RowTemplate::resolve(row_template_spec(p.row_template, ctx.blog, ctx.table, ctx.diag));
  tpl.check(ctx.table);
  const std::vector<std::string> sentences = tpl.render(ctx.table);

  EncodeOptions eo;
  eo.precision = p.precision;
  eo.batch_size = p.embed_batch;
  eo.normalize = true;
  eo.cache_dir = p.embed_cache;
  const std::string prompt_name = p.prompt.empty() ? encoder.info().default_prompt_name : p.prompt;
  (void)encoder.info().prompt_text(p.prompt);  // an unknown name stops here, before any work
  eo.prompt = prompt_name;
  // Under mpirun each rank encodes its share of the batches; every rank gets every vector.
  if (world().size() > 1) eo.comm = &world();
  EncodeStats st;
  ctx.vectors = encoder.encode(sentences, eo, &st, &ctx.diag);
  if (!st.encoded_by_rank.empty()) {
    std::string per_rank;
    for (std::size_t r = 0; r < st.encoded_by_rank.size(); ++r)
      per_rank += fmt::format("{}rank {}: {} in {:.2f} s", r ? "; " : "", r, st.encoded_by_rank[r], st.seconds_by_rank[r]);
    ctx.diag.info("embed", "ranks",
                  fmt::format("the encoder ran on {} ranks, each on its share of the batches, and the vectors were "
                              "gathered (rank 0 received {} bytes of them); sentences encoded: {}",
                              st.encoded_by_rank.size(), st.bytes_received, per_rank));
  }
  const double seconds = clock.seconds();
  // A model from the Hugging Face cache is recorded by id and commit (another machine
  // or directory finds it the same way); a folder by its absolute path.
  ctx.embedding = {{"model", loc.id.empty() ? dir : loc.id},
                   {"revision", loc.id.empty() ? nlohmann::json(nullptr) : nlohmann::json(loc.revision)},
                   {"weights_sha256", loc.weights_sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(loc.weights_sha256)},
                   {"fingerprint", fmt::format("{:016x}", encoder.fingerprint())},
                   {"dimension", encoder.dimension()},
                   {"layers", encoder.info().bert.num_hidden_layers},
                   {"hidden_size", encoder.info().bert.hidden_size},
                   {"max_seq_length", encoder.info().max_seq_length},
                   {"template", tpl.text()},
                   {"prompt", prompt_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(prompt_name)},
                   {"example_sentence", sentences.empty() ? std::string() : sentences.front()},
                   {"precision", std::string(to_string(eo.precision))},
                   {"accelerated", embed_precision_accelerated(eo.precision)},
                   {"kernel", std::string(embed_precision_kernel(eo.precision))},
                   {"batch_size", eo.batch_size},
                   {"cache", p.embed_cache.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.embed_cache)},
                   {"sentences", st.sentences},
                   {"unique", st.unique},
                   {"cached", st.cached},
                   {"encoded", st.encoded},
                   {"tokens", st.tokens},
                   {"truncated", st.truncated},
                   {"gflop", st.flops / 1e9},
                   {"encoder_seconds", st.seconds},
                   {"sentences_per_second", st.seconds > 0 ? static_cast<double>(st.encoded) / st.seconds : 0.0},
                   {"seconds", seconds}};
  if (!st.encoded_by_rank.empty()) {
    // Only a run on several ranks has this (metrics.json; model.json is the same either way).
    nlohmann::json ranks = nlohmann::json::array();
    for (std::size_t r = 0; r < st.encoded_by_rank.size(); ++r)
      ranks.push_back({{"rank", r}, {"encoded", st.encoded_by_rank[r]}, {"encoder_seconds", st.seconds_by_rank[r]}});
    ctx.embedding["ranks"] = std::move(ranks);
  }
  ctx.timings.add("embed", seconds);
}

namespace {

/// Nearest centre of the rows' sentence embeddings (by the encoder the run used).
class FittedEmbed final : public FittedMethod {
 public:
  FittedEmbed(MatrixD centers, nlohmann::json encoder, std::string origin)
      : centers_(std::move(centers)), encoder_(std::move(encoder)), origin_(std::move(origin)) {}
  Method method() const noexcept override { return Method::embed; }
  std::size_t k() const noexcept override { return centers_.rows(); }
  bool needs_embeddings() const noexcept override { return true; }
  nlohmann::json to_json() const override {
    return {{"k", k()}, {"centers", matrix_to_json(centers_.view())}, {"encoder", encoder_}};
  }
  std::vector<std::int32_t> predict(const ScoringInput& in) const override {
    return predict_nearest_center(centers_.view(), in.vectors, origin_);
  }

 private:
  MatrixD centers_;
  nlohmann::json encoder_;
  std::string origin_;
};

MethodResult fit(RunContext& ctx) {
  MethodResult r;
  r.id = Method::embed;
  r.name = "embed";
  r.objective = "inertia";
  r.space = fmt::format("sentence embeddings ({} dimensions, L2-normalised)", ctx.vectors.cols());
  MatrixF x = take_rows<float, std::size_t>(ctx.vectors.view(), ctx.rows);
  const std::vector<KMeansModel<float>> models =
      sweep_kmeans<float>(ctx, x.view(), effective_n_init(ctx.params, Method::embed), r);
  const KMeansModel<float>& chosen = models[r.k - ctx.k_range().lo];
  r.labels = chosen.labels;
  MatrixD centers(chosen.centers.rows(), chosen.centers.cols());
  for (std::size_t i = 0; i < centers.size(); ++i) centers.data()[i] = chosen.centers.data()[i];
  number_by_size(r, &centers);
  r.details["embedding"] = ctx.embedding;
  r.fitted = std::make_shared<FittedEmbed>(centers,
                                           nlohmann::json{{"model", ctx.embedding["model"]},
                                                          {"revision", ctx.embedding["revision"]},
                                                          {"weights_sha256", ctx.embedding["weights_sha256"]},
                                                          {"fingerprint", ctx.embedding["fingerprint"]},
                                                          {"template", ctx.embedding["template"]},
                                                          {"prompt", ctx.embedding["prompt"]},
                                                          {"precision", ctx.embedding["precision"]}},
                                           "the fitted model");
  r.rep_space = MatrixD(ctx.vectors.rows(), ctx.vectors.cols());
  for (std::size_t i = 0; i < r.rep_space.size(); ++i) r.rep_space.data()[i] = ctx.vectors.data()[i];
  r.rep_centers = std::move(centers);
  r.map_f = std::move(x);
  r.map_space = r.space;
  return r;
}

std::shared_ptr<const FittedMethod> load(const nlohmann::json& part, const std::string& file) {
  return std::make_shared<FittedEmbed>(matrix_from_json(part.at("centers"), "embed.centers"), part.at("encoder"), file);
}

}  // namespace

extern const MethodSpec embed_method{Method::embed, true, fit, load};

}  // namespace detail
}  // namespace segmenta
