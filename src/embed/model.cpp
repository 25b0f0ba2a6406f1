#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "embed/internal.hpp"
#include "segmenta/embed.hpp"

namespace segmenta {
namespace {

namespace fs = std::filesystem;

nlohmann::json parse_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ModelFormatError(fmt::format("{}: {}", path, embed_detail::json_error_text(text, e.byte, e.what())));
  } catch (const nlohmann::json::exception& e) {  // a number beyond a double
    throw ModelFormatError(fmt::format("{}: {}", path, embed_detail::json_error_text(text, 0, e.what())));
  }
}

std::size_t size_field(const nlohmann::json& j, const char* key, const std::string& name, std::optional<std::size_t> fallback,
                       std::size_t limit) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (fallback) return *fallback;
    throw ModelFormatError(fmt::format("{}: '{}' is missing", name, key));
  }
  if (!it->is_number_unsigned() || it->get<std::size_t>() == 0 || it->get<std::size_t>() > limit)
    throw ModelFormatError(fmt::format("{}: '{}' must be an integer in [1, {}]", name, key, limit));
  return it->get<std::size_t>();
}

constexpr const char* kDefaultRepo = "sentence-transformers/paraphrase-MiniLM-L6-v2";

std::string weights_hint(const std::string& dir) {
  return fmt::format(
      "download model.safetensors from the model's Hugging Face repository into {} (for the default model {}: "
      "https://huggingface.co/{}/resolve/main/model.safetensors, 90,868,373 bytes, sha256 "
      "2ce4480dc3b2f8edeee50c43765c72768e79fc0113d3f73773dded4887cca298)",
      dir, kDefaultRepo, kDefaultRepo);
}

}  // namespace

BertConfig BertConfig::parse(std::string_view json_text, const std::string& name) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ModelFormatError(fmt::format("{}: {}", name, embed_detail::json_error_text(json_text, e.byte, e.what())));
  } catch (const nlohmann::json::exception& e) {
    throw ModelFormatError(fmt::format("{}: {}", name, embed_detail::json_error_text(json_text, 0, e.what())));
  }
  if (!j.is_object()) throw ModelFormatError(fmt::format("{}: not a JSON object", name));
  BertConfig c;
  if (j.contains("model_type")) {
    if (!j["model_type"].is_string() ||
        (j["model_type"] != "bert" && j["model_type"] != "xlm-roberta" && j["model_type"] != "roberta"))
      throw ModelFormatError(fmt::format("{}: model_type {} is not supported (bert, xlm-roberta and roberta are)", name,
                                         j["model_type"].dump()));
    c.model_type = j["model_type"].get<std::string>();
  }
  c.vocab_size = size_field(j, "vocab_size", name, std::nullopt, 10'000'000);
  c.hidden_size = size_field(j, "hidden_size", name, std::nullopt, 65536);
  c.num_hidden_layers = size_field(j, "num_hidden_layers", name, std::nullopt, 1000);
  c.num_attention_heads = size_field(j, "num_attention_heads", name, std::nullopt, 4096);
  c.intermediate_size = size_field(j, "intermediate_size", name, std::nullopt, 1 << 20);
  c.max_position_embeddings = size_field(j, "max_position_embeddings", name, std::size_t{512}, 1 << 20);
  c.type_vocab_size = size_field(j, "type_vocab_size", name, std::size_t{2}, 1 << 16);
  if (j.contains("layer_norm_eps")) {
    if (!j["layer_norm_eps"].is_number() || !(j["layer_norm_eps"].get<double>() > 0.0))
      throw ModelFormatError(fmt::format("{}: 'layer_norm_eps' must be a positive number", name));
    c.layer_norm_eps = j["layer_norm_eps"].get<double>();
  }
  if (j.contains("hidden_act")) {
    if (!j["hidden_act"].is_string()) throw ModelFormatError(fmt::format("{}: 'hidden_act' must be a string", name));
    c.hidden_act = j["hidden_act"].get<std::string>();
  }
  if (c.hidden_act != "gelu")
    throw ModelFormatError(fmt::format("{}: hidden_act '{}' is not supported (only the exact erf 'gelu')", name, c.hidden_act));
  if (j.contains("position_embedding_type") && j["position_embedding_type"] != "absolute")
    throw ModelFormatError(fmt::format("{}: position_embedding_type {} is not supported (only 'absolute')", name,
                                       j["position_embedding_type"].dump()));
  if (c.model_type != "bert") {
    // RobertaEmbeddings: position ids run from padding_idx + 1, padding_idx = pad_token_id.
    if (j.contains("pad_token_id") && !j["pad_token_id"].is_number_unsigned())
      throw ModelFormatError(fmt::format("{}: 'pad_token_id' must be a non-negative integer", name));
    c.pad_token_id = j.value("pad_token_id", std::size_t{1});
    c.position_offset = c.pad_token_id + 1;
    if (c.position_offset + 2 > c.max_position_embeddings)
      throw ModelFormatError(fmt::format("{}: max_position_embeddings {} leaves no room after pad_token_id {}", name,
                                         c.max_position_embeddings, c.pad_token_id));
  } else if (j.contains("pad_token_id") && j["pad_token_id"].is_number_unsigned()) {
    c.pad_token_id = j["pad_token_id"].get<std::size_t>();
  }
  if (c.hidden_size % c.num_attention_heads != 0)
    throw ModelFormatError(fmt::format("{}: hidden_size {} is not a multiple of num_attention_heads {}", name, c.hidden_size,
                                       c.num_attention_heads));
  return c;
}

BertConfig BertConfig::read(const std::string& path) { return parse(read_file(path), path); }

double bert_forward_flops(const BertConfig& c, std::size_t tokens) noexcept {
  const double T = static_cast<double>(tokens), H = static_cast<double>(c.hidden_size),
               F = static_cast<double>(c.intermediate_size), L = static_cast<double>(c.num_hidden_layers);
  return L * (2.0 * T * H * (4.0 * H + 2.0 * F) + 4.0 * T * T * H);
}

std::optional<PoolingConfig> PoolingConfig::from_name(std::string_view name) {
  PoolingConfig p;
  p.mean = false;
  if (name == "mean")
    p.mean = true;
  else if (name == "cls")
    p.cls = true;
  else if (name == "max")
    p.max = true;
  else if (name == "mean_sqrt_len_tokens")
    p.mean_sqrt_len = true;
  else if (name == "lasttoken")
    p.last_token = true;
  else
    return std::nullopt;
  return p;
}

std::string SentenceModelInfo::prompt_text(const std::string& name) const {
  const std::string& key = name.empty() ? default_prompt_name : name;
  if (key.empty()) return "";
  const auto it = prompts.find(key);
  if (it != prompts.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [n, text] : prompts) names.push_back(n);
  throw ParameterError("prompt", fmt::format("the model has no prompt '{}' ({})", key,
                                             names.empty() ? std::string("it defines no prompts in config_sentence_transformers.json")
                                                           : fmt::format("its prompts: {}", fmt::join(names, ", "))));
}

SentenceModelInfo read_model_info(const std::string& dir) {
  if (dir.empty()) throw InvalidArgument("model: the model folder is empty (pass --model DIR)");
  if (!fs::is_directory(dir)) throw IoError(fmt::format("model folder {} does not exist or is not a directory", dir));
  SentenceModelInfo info;
  info.dir = dir;
  fs::path transformer = dir;
  std::string pooling_path;
  bool has_pooling_module = false;
  const fs::path modules = fs::path(dir) / "modules.json";
  if (fs::exists(modules)) {
    const auto j = parse_json_file(modules.string());
    if (!j.is_array()) throw ModelFormatError(fmt::format("{}: expected a list of modules", modules.string()));
    bool seen_transformer = false;
    for (const auto& m : j) {
      if (!m.is_object() || !m.contains("type") || !m["type"].is_string())
        throw ModelFormatError(fmt::format("{}: every module needs a 'type'", modules.string()));
      const std::string type = m["type"].get<std::string>();
      const std::string path = m.value("path", std::string());
      if (path.find("..") != std::string::npos || (!path.empty() && path[0] == '/'))
        throw ModelFormatError(fmt::format("{}: module path '{}' leaves the model folder", modules.string(), path));
      if (type == "sentence_transformers.models.Transformer") {
        if (seen_transformer) throw ModelFormatError(fmt::format("{}: more than one Transformer module", modules.string()));
        seen_transformer = true;
        transformer = fs::path(dir) / path;
      } else if (type == "sentence_transformers.models.Pooling") {
        has_pooling_module = true;
        pooling_path = path;
      } else if (type == "sentence_transformers.models.Normalize") {
        info.normalize = true;
      } else {
        throw ModelFormatError(fmt::format("{}: module type '{}' is not supported (Transformer, Pooling and Normalize are)",
                                           modules.string(), type));
      }
    }
    if (!seen_transformer) throw ModelFormatError(fmt::format("{}: no Transformer module", modules.string()));
  }
  const fs::path config = transformer / "config.json";
  if (!fs::exists(config)) throw IoError(fmt::format("model folder {}: {} is missing", dir, config.string()));
  info.bert = BertConfig::read(config.string());
  info.max_seq_length = std::min<std::size_t>(512, info.bert.max_tokens());
  const fs::path sbert = transformer / "sentence_bert_config.json";
  if (fs::exists(sbert)) {
    const auto j = parse_json_file(sbert.string());
    if (!j.is_object()) throw ModelFormatError(fmt::format("{}: not a JSON object", sbert.string()));
    if (j.contains("max_seq_length") && !j["max_seq_length"].is_null()) {
      if (!j["max_seq_length"].is_number_unsigned() || j["max_seq_length"].get<std::size_t>() < 2)
        throw ModelFormatError(fmt::format("{}: 'max_seq_length' must be an integer >= 2", sbert.string()));
      info.max_seq_length = std::min(j["max_seq_length"].get<std::size_t>(), info.bert.max_tokens());
    }
    if (j.contains("do_lower_case") && j["do_lower_case"].is_boolean()) info.do_lower_case = j["do_lower_case"].get<bool>();
  }
  if (has_pooling_module) {
    const fs::path pcfg = fs::path(dir) / pooling_path / "config.json";
    if (fs::exists(pcfg)) {
      const auto j = parse_json_file(pcfg.string());
      if (!j.is_object()) throw ModelFormatError(fmt::format("{}: not a JSON object", pcfg.string()));
      auto flag = [&](const char* key, bool fallback) {
        if (!j.contains(key)) return fallback;
        if (!j[key].is_boolean()) throw ModelFormatError(fmt::format("{}: '{}' must be true or false", pcfg.string(), key));
        return j[key].get<bool>();
      };
      info.pooling.cls = flag("pooling_mode_cls_token", false);
      info.pooling.mean = flag("pooling_mode_mean_tokens", true);
      info.pooling.max = flag("pooling_mode_max_tokens", false);
      info.pooling.mean_sqrt_len = flag("pooling_mode_mean_sqrt_len_tokens", false);
      info.pooling.last_token = flag("pooling_mode_lasttoken", false);
      if (j.contains("pooling_mode")) {
        // The single-mode form: "pooling_mode": "cls" etc.
        if (!j["pooling_mode"].is_string() || !PoolingConfig::from_name(j["pooling_mode"].get<std::string>()))
          throw ModelFormatError(fmt::format("{}: 'pooling_mode' {} is not supported (cls, mean, max, "
                                             "mean_sqrt_len_tokens, lasttoken are)",
                                             pcfg.string(), j["pooling_mode"].dump()));
        info.pooling = *PoolingConfig::from_name(j["pooling_mode"].get<std::string>());
      }
      if (!flag("include_prompt", true))
        throw ModelFormatError(fmt::format("{}: 'include_prompt': false (pooling without the prompt's tokens) is not "
                                           "supported",
                                           pcfg.string()));
      for (const char* unsupported : {"pooling_mode_weightedmean_tokens"})
        if (flag(unsupported, false))
          throw ModelFormatError(fmt::format("{}: '{}' pooling is not supported (cls, mean, max, mean_sqrt_len are)",
                                             pcfg.string(), unsupported));
      if (j.contains("word_embedding_dimension") && j["word_embedding_dimension"] != info.bert.hidden_size)
        throw ModelFormatError(fmt::format("{}: word_embedding_dimension {} differs from hidden_size {}", pcfg.string(),
                                           j["word_embedding_dimension"].dump(), info.bert.hidden_size));
      if (info.pooling.modes() == 0)
        throw ModelFormatError(fmt::format("{}: no pooling mode is enabled (set one of pooling_mode_cls_token, "
                                           "pooling_mode_mean_tokens, pooling_mode_max_tokens, "
                                           "pooling_mode_mean_sqrt_len_tokens, pooling_mode_lasttoken to true)",
                                           pcfg.string()));
    }
  }
  const fs::path st_cfg = fs::path(dir) / "config_sentence_transformers.json";
  if (fs::exists(st_cfg)) {
    const auto j = parse_json_file(st_cfg.string());
    if (!j.is_object()) throw ModelFormatError(fmt::format("{}: not a JSON object", st_cfg.string()));
    if (j.contains("prompts") && !j["prompts"].is_null()) {
      if (!j["prompts"].is_object()) throw ModelFormatError(fmt::format("{}: 'prompts' must be an object", st_cfg.string()));
      for (auto it = j["prompts"].begin(); it != j["prompts"].end(); ++it) {
        if (!it.value().is_string())
          throw ModelFormatError(fmt::format("{}: prompt '{}' must be a string", st_cfg.string(), it.key()));
        info.prompts[it.key()] = it.value().get<std::string>();
      }
    }
    if (j.contains("default_prompt_name") && !j["default_prompt_name"].is_null()) {
      if (!j["default_prompt_name"].is_string() || !info.prompts.count(j["default_prompt_name"].get<std::string>()))
        throw ModelFormatError(fmt::format("{}: 'default_prompt_name' {} is not one of its prompts", st_cfg.string(),
                                           j["default_prompt_name"].dump()));
      info.default_prompt_name = j["default_prompt_name"].get<std::string>();
    }
  }
  info.weights_path = (transformer / "model.safetensors").string();
  return info;
}

void check_model_weights(const std::string& dir) {
  const SentenceModelInfo info = read_model_info(dir);
  const fs::path weights = info.weights_path;
  const fs::path folder = weights.parent_path();
  std::error_code ec;
  if (!fs::exists(weights, ec)) {
    std::string have;
    if (fs::exists(folder / "pytorch_model.bin"))
      have = " The folder has pytorch_model.bin, a Python pickle that segmenta does not read; convert it to "
             "model.safetensors (the safetensors package does this) or";
    else if (fs::exists(folder / "onnx") || fs::exists(folder / "model.onnx"))
      have = " The folder has ONNX weights, which segmenta does not read;";
    else
      have = " The folder holds only the configuration and tokenizer files;";
    throw IoError(fmt::format("model weights not found: {} is missing.{} {}", weights.string(), have,
                              weights_hint(folder.string())));
  }
  const auto size = fs::file_size(weights, ec);
  if (ec) throw IoError(fmt::format("cannot read {}: {}", weights.string(), ec.message()));
  if (size < 1024) {
    const std::string head = read_file(weights.string());
    if (head.rfind("version https://git-lfs", 0) == 0)
      throw IoError(fmt::format("{} is a Git LFS pointer ({} bytes), not the weights: run `git lfs pull` in the clone, or {}",
                                weights.string(), size, weights_hint(folder.string())));
  }
}

}  // namespace segmenta

namespace segmenta {

void write_random_model(const std::string& dir, const BertConfig& c, std::uint64_t seed, const std::string& tokenizer_dir,
                        std::size_t max_seq_length, PoolingConfig pooling, bool normalize, SafeTensorsDType dtype) {
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "1_Pooling", ec);
  if (ec) throw IoError(fmt::format("cannot create {}: {}", dir, ec.message()));
  const std::size_t H = c.hidden_size, F = c.intermediate_size;
  std::vector<NamedTensor> tensors;
  std::uint64_t stream = 0;
  auto add = [&](const std::string& name, std::vector<std::size_t> shape, bool layer_norm_weight = false) {
    NamedTensor t{name, shape, {}};
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    t.values.resize(n);
    Rng rng = Rng::stream(seed, stream++);
    for (auto& v : t.values) v = static_cast<float>((layer_norm_weight ? 1.0 : 0.0) + 0.05 * rng.normal());
    tensors.push_back(std::move(t));
  };
  add("embeddings.word_embeddings.weight", {c.vocab_size, H});
  add("embeddings.position_embeddings.weight", {c.max_position_embeddings, H});
  add("embeddings.token_type_embeddings.weight", {c.type_vocab_size, H});
  add("embeddings.LayerNorm.weight", {H}, true);
  add("embeddings.LayerNorm.bias", {H});
  for (std::size_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string b = fmt::format("encoder.layer.{}.", l);
    for (const char* part : {"query", "key", "value"}) {
      add(b + "attention.self." + part + ".weight", {H, H});
      add(b + "attention.self." + part + ".bias", {H});
    }
    add(b + "attention.output.dense.weight", {H, H});
    add(b + "attention.output.dense.bias", {H});
    add(b + "attention.output.LayerNorm.weight", {H}, true);
    add(b + "attention.output.LayerNorm.bias", {H});
    add(b + "intermediate.dense.weight", {F, H});
    add(b + "intermediate.dense.bias", {F});
    add(b + "output.dense.weight", {H, F});
    add(b + "output.dense.bias", {H});
    add(b + "output.LayerNorm.weight", {H}, true);
    add(b + "output.LayerNorm.bias", {H});
  }
  write_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, dtype);

  nlohmann::ordered_json config = {{"architectures", {"BertModel"}},
                                   {"model_type", "bert"},
                                   {"vocab_size", c.vocab_size},
                                   {"hidden_size", H},
                                   {"num_hidden_layers", c.num_hidden_layers},
                                   {"num_attention_heads", c.num_attention_heads},
                                   {"intermediate_size", F},
                                   {"hidden_act", c.hidden_act},
                                   {"max_position_embeddings", c.max_position_embeddings},
                                   {"type_vocab_size", c.type_vocab_size},
                                   {"layer_norm_eps", c.layer_norm_eps},
                                   {"position_embedding_type", "absolute"},
                                   {"pad_token_id", c.pad_token_id}};
  if (c.model_type != "bert") {
    config["architectures"] = {"XLMRobertaModel"};
    config["model_type"] = c.model_type;
  }
  write_file_atomic((fs::path(dir) / "config.json").string(), config.dump(2) + "\n");
  nlohmann::ordered_json modules = nlohmann::ordered_json::array();
  modules.push_back({{"idx", 0}, {"name", "0"}, {"path", ""}, {"type", "sentence_transformers.models.Transformer"}});
  modules.push_back({{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}});
  if (normalize)
    modules.push_back({{"idx", 2}, {"name", "2"}, {"path", "2_Normalize"}, {"type", "sentence_transformers.models.Normalize"}});
  write_file_atomic((fs::path(dir) / "modules.json").string(), modules.dump(2) + "\n");
  write_file_atomic((fs::path(dir) / "sentence_bert_config.json").string(),
                                   nlohmann::ordered_json({{"max_seq_length", max_seq_length}, {"do_lower_case", false}}).dump(2) + "\n");
  const nlohmann::ordered_json pool = {{"word_embedding_dimension", H},
                                       {"pooling_mode_cls_token", pooling.cls},
                                       {"pooling_mode_mean_tokens", pooling.mean},
                                       {"pooling_mode_max_tokens", pooling.max},
                                       {"pooling_mode_mean_sqrt_len_tokens", pooling.mean_sqrt_len},
                                       {"pooling_mode_lasttoken", pooling.last_token}};
  write_file_atomic((fs::path(dir) / "1_Pooling" / "config.json").string(), pool.dump(2) + "\n");
  for (const char* name : {"tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}) {
    const fs::path src = fs::path(tokenizer_dir) / name;
    if (fs::exists(src)) write_file_atomic((fs::path(dir) / name).string(), read_file(src.string()));
  }
}

}  // namespace segmenta
