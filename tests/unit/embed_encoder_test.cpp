// Model folders (errors, weight formats, pooling modules), the encoder's bookkeeping
// (deduplication, on-disk cache) on small random models written by write_random_model.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "segmenta/embed.hpp"
#include "support.hpp"

using namespace segmenta;
namespace fs = std::filesystem;

namespace {

BertConfig small_shape() {
  BertConfig c;
  c.vocab_size = 30522;
  c.hidden_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 64;
  return c;
}

std::string tokenizer_dir() { return test::shared_path("models/paraphrase-MiniLM-L6-v2"); }

std::string make_model(const std::string& name, PoolingConfig pooling = {}, bool normalize = false,
                       SafeTensorsDType dtype = SafeTensorsDType::f32) {
  const std::string dir = test::temp_dir(name);
  write_random_model(dir, small_shape(), 99, tokenizer_dir(), 32, pooling, normalize, dtype);
  return dir;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void rewrite_json(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = nlohmann::json::parse(std::ifstream(path));
  edit(j);
  std::ofstream(path) << j.dump();
}

const std::vector<std::string> kTexts = {"Age: 58, Job: management", "hello world", "", "Age: 58, Job: management",
                                         "une phrase en français", "[MASK] token"};

}  // namespace

TEST(EmbedModelFolder, MissingWeightsSayWhatAndWhere) {
  const std::string dir = tokenizer_dir();
  const SentenceModelInfo info = read_model_info(dir);
  EXPECT_EQ(info.bert.hidden_size, 384u);
  EXPECT_EQ(info.max_seq_length, 128u);
  EXPECT_TRUE(info.pooling.mean);
  EXPECT_FALSE(info.normalize);
  EXPECT_EQ(info.dimension(), 384u);
  for (const auto& msg : {error_of([&] { check_model_weights(dir); }), error_of([&] { SentenceEncoder::load(dir); })}) {
    EXPECT_NE(msg.find("model.safetensors is missing"), std::string::npos) << msg;
    EXPECT_NE(msg.find("sentence-transformers/paraphrase-MiniLM-L6-v2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("https://huggingface.co/"), std::string::npos) << msg;
  }
  EXPECT_THROW(SentenceEncoder::load(dir), IoError);
  EXPECT_THROW(read_model_info(dir + "/no-such-folder"), IoError);
  EXPECT_THROW(read_model_info(""), InvalidArgument);
}

TEST(EmbedModelFolder, LfsPointerAndPickleAreExplained) {
  const std::string dir = make_model("embed_model_lfs");
  std::ofstream(dir + "/model.safetensors")
      << "version https://git-lfs.github.com/spec/v1\noid sha256:2ce4480dc3b2f8edeee50c43765c72768e79fc0113d3f73773dded4887cca298\n"
         "size 90868373\n";
  std::string msg = error_of([&] { SentenceEncoder::load(dir); });
  EXPECT_NE(msg.find("Git LFS pointer"), std::string::npos) << msg;
  fs::remove(dir + "/model.safetensors");
  std::ofstream(dir + "/pytorch_model.bin") << "pickle";
  msg = error_of([&] { check_model_weights(dir); });
  EXPECT_NE(msg.find("pytorch_model.bin"), std::string::npos) << msg;
}

TEST(EmbedModelFolder, MalformedFilesAreModelFormatErrors) {
  const std::string dir = make_model("embed_model_bad");
  const std::string config = dir + "/config.json";
  auto expect_format_error = [&](const std::function<void(nlohmann::json&)>& edit, const std::string& file,
                                 const std::string& needle) {
    const std::string backup = dir + "/backup.json";
    fs::copy_file(file, backup, fs::copy_options::overwrite_existing);
    rewrite_json(file, edit);
    const std::string msg = error_of([&] { SentenceEncoder::load(dir); });
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_THROW(SentenceEncoder::load(dir), ModelFormatError);
    fs::copy_file(backup, file, fs::copy_options::overwrite_existing);
  };
  expect_format_error([](nlohmann::json& j) { j["hidden_act"] = "relu"; }, config, "hidden_act");
  expect_format_error([](nlohmann::json& j) { j["num_attention_heads"] = 5; }, config, "multiple");
  expect_format_error([](nlohmann::json& j) { j.erase("hidden_size"); }, config, "hidden_size");
  expect_format_error([](nlohmann::json& j) { j["model_type"] = "gpt2"; }, config, "model_type");
  expect_format_error([](nlohmann::json& j) { j["vocab_size"] = 40000; }, config, "word_embeddings");  // shape mismatch
  expect_format_error([](nlohmann::json& j) { j.push_back({{"type", "sentence_transformers.models.Dense"}, {"path", "2"}}); },
                      dir + "/modules.json", "Dense");
  expect_format_error([](nlohmann::json& j) { j["pooling_mode_weightedmean_tokens"] = true; },
                      dir + "/1_Pooling/config.json", "weightedmean");
  // A tensor missing from the weights.
  const SafeTensors st = SafeTensors::read(dir + "/model.safetensors");
  std::vector<NamedTensor> kept;
  for (const auto& t : st.tensors())
    if (t.name != "encoder.layer.1.intermediate.dense.bias") kept.push_back({t.name, t.shape, st.to_float(t)});
  write_safetensors(dir + "/model.safetensors", kept);
  const std::string msg = error_of([&] { SentenceEncoder::load(dir); });
  EXPECT_NE(msg.find("encoder.layer.1.intermediate.dense.bias"), std::string::npos) << msg;
  // A corrupted file.
  std::ofstream(dir + "/model.safetensors", std::ios::binary) << std::string("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":", 13);
  EXPECT_THROW(SentenceEncoder::load(dir), ModelFormatError);
}

TEST(EmbedModelFolder, HalfPrecisionFilesAndTensorNameVariants) {
  const std::string f32 = make_model("embed_model_f32");
  const SentenceEncoder a = SentenceEncoder::load(f32);
  EncodeOptions o;
  o.progress = false;
  const MatrixF va = a.encode(kTexts, o);
  for (auto dt : {SafeTensorsDType::f16, SafeTensorsDType::bf16}) {
    const SentenceEncoder b = SentenceEncoder::load(make_model("embed_model_half", {}, false, dt));
    const MatrixF vb = b.encode(kTexts, o);
    for (std::size_t i = 0; i < va.rows(); ++i) {
      double ab = 0, aa = 0, bb = 0;
      for (std::size_t k = 0; k < va.cols(); ++k) {
        ab += va(i, k) * vb(i, k);
        aa += va(i, k) * va(i, k);
        bb += vb(i, k) * vb(i, k);
      }
      EXPECT_GT(ab / std::sqrt(aa * bb), 0.999);
    }
  }
  // "bert." prefixes and TensorFlow-style LayerNorm gamma/beta give the same model.
  const SafeTensors st = SafeTensors::read(f32 + "/model.safetensors");
  std::vector<NamedTensor> renamed;
  for (const auto& t : st.tensors()) {
    std::string name = "bert." + t.name;
    if (name.find("LayerNorm.weight") != std::string::npos) name.replace(name.find(".weight"), 7, ".gamma");
    if (name.find("LayerNorm.bias") != std::string::npos) name.replace(name.find(".bias"), 5, ".beta");
    renamed.push_back({name, t.shape, st.to_float(t)});
  }
  renamed.push_back({"bert.pooler.dense.weight", {32, 32}, std::vector<float>(32 * 32, 0.5f)});  // ignored
  write_safetensors(f32 + "/model.safetensors", renamed);
  const MatrixF vr = SentenceEncoder::load(f32).encode(kTexts, o);
  EXPECT_EQ(0, std::memcmp(va.data(), vr.data(), va.size() * sizeof(float)));
}

TEST(EmbedEncoder, PoolingModesAndNormalize) {
  PoolingConfig all;
  all.cls = all.max = all.mean = all.mean_sqrt_len = all.last_token = true;
  const SentenceEncoder e = SentenceEncoder::load(make_model("embed_model_pool", all, true));
  EXPECT_TRUE(e.info().normalize);
  ASSERT_EQ(e.dimension(), 160u);
  EncodeOptions o;
  o.progress = false;
  o.normalize = false;
  const MatrixF v = e.encode(kTexts, o);
  const auto ids = e.token_ids(kTexts);
  for (std::size_t s = 0; s < kTexts.size(); ++s) {
    const MatrixF h = e.hidden_states(ids[s]);
    const double T = static_cast<double>(h.rows());
    for (std::size_t k = 0; k < 32; ++k) {
      double sum = 0, mx = -1e30;
      for (std::size_t t = 0; t < h.rows(); ++t) {
        sum += h(t, k);
        mx = std::max(mx, double(h(t, k)));
      }
      // hidden_states runs one sentence alone: BLAS may round the last bit differently.
      EXPECT_NEAR(v(s, k), h(0, k), 1e-5);  // cls
      EXPECT_NEAR(v(s, 32 + k), mx, 1e-5);
      EXPECT_NEAR(v(s, 64 + k), sum / T, 1e-5);
      EXPECT_NEAR(v(s, 96 + k), sum / std::sqrt(T), 1e-5);
      EXPECT_NEAR(v(s, 128 + k), h(h.rows() - 1, k), 1e-5);  // last token: [SEP]
    }
  }
  o.normalize.reset();  // the Normalize module
  const MatrixF n = e.encode(kTexts, o);
  for (std::size_t s = 0; s < n.rows(); ++s) {
    double sq = 0;
    for (std::size_t k = 0; k < n.cols(); ++k) sq += double(n(s, k)) * n(s, k);
    EXPECT_NEAR(sq, 1.0, 1e-6);
  }
}

TEST(EmbedEncoder, DuplicatesCacheAndValidation) {
  const std::string dir = make_model("embed_model_cache");
  const SentenceEncoder e = SentenceEncoder::load(dir);
  EncodeOptions o;
  o.progress = false;
  EncodeStats st;
  const MatrixF plain = e.encode(kTexts, o, &st);
  EXPECT_EQ(st.sentences, 6u);
  EXPECT_EQ(st.unique, 5u);
  EXPECT_EQ(st.encoded, 5u);
  EXPECT_EQ(0, std::memcmp(plain.row(0), plain.row(3), plain.cols() * sizeof(float)));

  o.cache_dir = dir + "/cache";
  const MatrixF first = e.encode(kTexts, o, &st);
  EXPECT_EQ(st.cached, 0u);
  EXPECT_EQ(0, std::memcmp(first.data(), plain.data(), plain.size() * sizeof(float)));
  const MatrixF again = e.encode(kTexts, o, &st);
  EXPECT_EQ(st.cached, 5u);
  EXPECT_EQ(st.encoded, 0u);
  EXPECT_EQ(0, std::memcmp(again.data(), plain.data(), plain.size() * sizeof(float)));
  // A new sentence is added to the same file; another precision has a file of its own.
  std::vector<std::string> more = kTexts;
  more.push_back("one more");
  e.encode(more, o, &st);
  EXPECT_EQ(st.cached, 5u);
  EXPECT_EQ(st.encoded, 1u);
  o.precision = EmbedPrecision::int8;
  e.encode(more, o, &st);
  EXPECT_EQ(st.cached, 0u);
  o.precision = EmbedPrecision::fp32;
  // A damaged cache file is ignored (with a warning) and rewritten.
  for (const auto& f : fs::directory_iterator(o.cache_dir)) std::ofstream(f.path(), std::ios::binary) << "garbage";
  Diagnostics diag;
  const MatrixF after = e.encode(kTexts, o, &st, &diag);
  EXPECT_EQ(st.cached, 0u);
  EXPECT_EQ(0, std::memcmp(after.data(), plain.data(), plain.size() * sizeof(float)));
  ASSERT_FALSE(diag.empty());
  EXPECT_EQ(diag.items()[0].code, "cache_unreadable");
  e.encode(kTexts, o, &st);
  EXPECT_EQ(st.cached, 5u);

  EXPECT_EQ(e.encode({}, EncodeOptions{}).rows(), 0u);
  EncodeOptions zero;
  zero.batch_size = 0;
  EXPECT_THROW(e.encode(kTexts, zero), InvalidArgument);
  EXPECT_THROW(e.encode_ids({{101, 99999, 102}}), InvalidArgument);
  EXPECT_THROW(e.encode_ids({{}}), InvalidArgument);
  EXPECT_THROW(e.encode_ids({std::vector<std::int32_t>(65, 101)}), InvalidArgument);  // > max_position_embeddings
  EXPECT_THROW(SentenceEncoder().encode(kTexts), NotFitted);
  // encode_ids gives what encode gives for the same ids.
  EncodeOptions quiet;
  quiet.progress = false;
  const MatrixF by_ids = e.encode_ids(e.token_ids(kTexts), quiet);
  EXPECT_EQ(0, std::memcmp(by_ids.data(), plain.data(), plain.size() * sizeof(float)));
}

// Templated sentences repeat (token, position) pairs, so a batch computes layer 0's
// embedding and Q|K|V rows once per pair. Each sentence encoded on its own (no sharing:
// a lone sentence has no repeated pair) must give the same vector: bit for bit in bf16 and
// int8, whose kernels compute a row from that row alone, and to rounding in fp32 (BLAS).
TEST(EmbedEncoder, SharedLayerZeroRowsChangeNothing) {
  const SentenceEncoder e = SentenceEncoder::load(make_model("embed_model_layer0"));
  std::vector<std::string> texts;
  const char* jobs[] = {"management", "technician", "blue-collar"};
  for (int i = 0; i < 40; ++i)  // ~600 tokens: past the 256 below which no table is built
    texts.push_back("Age: " + std::to_string(30 + i % 5) + ", Job: " + jobs[i % 3] + ", Balance: " + std::to_string(100 * i));
  for (EmbedPrecision p : {EmbedPrecision::fp32, EmbedPrecision::bf16, EmbedPrecision::int8}) {
    EncodeOptions o;
    o.progress = false;
    o.precision = p;
    o.batch_size = 5;
    EncodeStats st;
    const MatrixF batch = e.encode(texts, o, &st);
    EXPECT_GT(st.layer0_pairs, 0u) << to_string(p);
    EXPECT_LT(st.layer0_pairs, st.tokens / 2) << to_string(p);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      EncodeStats one;
      const MatrixF alone = e.encode({texts[i]}, o, &one);
      EXPECT_EQ(one.layer0_pairs, 0u);
      for (std::size_t c = 0; c < e.dimension(); ++c) {
        if (p == EmbedPrecision::fp32)
          EXPECT_NEAR(alone(0, c), batch(i, c), 1e-5) << i << " " << c;
        else
          EXPECT_EQ(std::bit_cast<std::uint32_t>(alone(0, c)), std::bit_cast<std::uint32_t>(batch(i, c)))
              << to_string(p) << " " << i << " " << c;
      }
    }
  }
}

TEST(EmbedEncoder, ModelLevelLowerCasing) {
  const std::string dir = make_model("embed_model_lower");
  const SentenceEncoder plain = SentenceEncoder::load(dir);
  rewrite_json(dir + "/sentence_bert_config.json", [](nlohmann::json& j) { j["do_lower_case"] = true; });
  const SentenceEncoder lower = SentenceEncoder::load(dir);
  EXPECT_TRUE(lower.info().do_lower_case);
  EXPECT_NE(plain.fingerprint(), lower.fingerprint());
  // The tokenizer lower-cases words anyway; the difference shows on special tokens, which
  // sentence-transformers' str.lower() turns into ordinary text.
  EXPECT_EQ(plain.token_ids({"[MASK]"})[0], (std::vector<std::int32_t>{101, 103, 102}));
  EXPECT_EQ(lower.token_ids({"[MASK]"})[0], plain.token_ids({"[mask]"})[0]);
  EXPECT_EQ(lower.token_ids({"HeLLo"})[0], plain.token_ids({"hello"})[0]);
  // max_seq_length comes from sentence_bert_config.json.
  EXPECT_EQ(plain.info().max_seq_length, 32u);
  EXPECT_EQ(plain.token_ids({std::string(200, 'a') + " b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g"})[0].size(),
            32u);
}

TEST(EmbedModelFolder, SentenceTransformersConfigFiles) {
  const std::string dir = make_model("embed_model_st_config");
  // No config_sentence_transformers.json: no prompts.
  EXPECT_TRUE(read_model_info(dir).prompts.empty());
  EXPECT_EQ(read_model_info(dir).prompt_text(""), "");
  EXPECT_NE(error_of([&] { (void)read_model_info(dir).prompt_text("query"); }).find("defines no prompts"), std::string::npos);
  std::ofstream(dir + "/config_sentence_transformers.json")
      << R"({"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": "query"})";
  SentenceModelInfo info = read_model_info(dir);
  EXPECT_EQ(info.prompts.size(), 2u);
  EXPECT_EQ(info.prompt_text(""), "query: ");  // the default
  EXPECT_EQ(info.prompt_text("passage"), "passage: ");
  const std::string bad = error_of([&] { (void)info.prompt_text("document"); });
  EXPECT_NE(bad.find("prompt: the model has no prompt 'document' (its prompts: passage, query)"), std::string::npos) << bad;
  // The default prompt applies unless another (or none: "") is named.
  const SentenceEncoder e = SentenceEncoder::load(dir);
  EXPECT_EQ(e.token_ids({"hello"})[0], e.tokenizer().encode("query: hello", 32));
  EXPECT_EQ(e.token_ids({"hello"}, "passage")[0], e.tokenizer().encode("passage: hello", 32));
  EncodeOptions o;
  o.progress = false;
  const MatrixF with_default = e.encode({"hello"}, o);
  o.prompt = "";
  const MatrixF without = e.encode({"hello"}, o);
  o.prompt = "query";
  const MatrixF named = e.encode({"hello"}, o);
  EXPECT_EQ(std::vector<float>(with_default.data(), with_default.data() + 32), std::vector<float>(named.data(), named.data() + 32));
  EXPECT_NE(std::vector<float>(with_default.data(), with_default.data() + 32), std::vector<float>(without.data(), without.data() + 32));
  o.prompt = "document";
  EXPECT_THROW(e.encode({"hello"}, o), ParameterError);

  std::ofstream(dir + "/config_sentence_transformers.json") << R"({"prompts": {"query": 3}})";
  EXPECT_NE(error_of([&] { read_model_info(dir); }).find("prompt 'query' must be a string"), std::string::npos);
  std::ofstream(dir + "/config_sentence_transformers.json") << R"({"prompts": {}, "default_prompt_name": "query"})";
  EXPECT_NE(error_of([&] { read_model_info(dir); }).find("is not one of its prompts"), std::string::npos);
  fs::remove(dir + "/config_sentence_transformers.json");

  // Pooling: the single-mode form, lasttoken, no mode at all, include_prompt false.
  const std::string pool = dir + "/1_Pooling/config.json";
  rewrite_json(pool, [](nlohmann::json& j) { j = {{"word_embedding_dimension", 32}, {"pooling_mode", "lasttoken"}}; });
  info = read_model_info(dir);
  EXPECT_TRUE(info.pooling.last_token);
  EXPECT_EQ(info.pooling.modes(), 1u);
  rewrite_json(pool, [](nlohmann::json& j) { j = {{"pooling_mode", "weighted"}}; });
  EXPECT_NE(error_of([&] { read_model_info(dir); }).find("'pooling_mode' \"weighted\" is not supported"), std::string::npos);
  rewrite_json(pool, [](nlohmann::json& j) {
    j = {{"pooling_mode_cls_token", false}, {"pooling_mode_mean_tokens", false}, {"pooling_mode_lasttoken", false}};
  });
  const std::string none = error_of([&] { read_model_info(dir); });
  EXPECT_NE(none.find("1_Pooling/config.json: no pooling mode is enabled"), std::string::npos) << none;
  EXPECT_THROW(read_model_info(dir), ModelFormatError);
  rewrite_json(pool, [](nlohmann::json& j) { j = {{"pooling_mode_mean_tokens", true}, {"include_prompt", false}}; });
  EXPECT_NE(error_of([&] { read_model_info(dir); }).find("include_prompt"), std::string::npos);

  // sentence_bert_config.json: max_seq_length and do_lower_case.
  rewrite_json(pool, [](nlohmann::json& j) { j = {{"pooling_mode_mean_tokens", true}}; });
  rewrite_json(dir + "/sentence_bert_config.json", [](nlohmann::json& j) {
    j["max_seq_length"] = 8;
    j["do_lower_case"] = true;
  });
  info = read_model_info(dir);
  EXPECT_EQ(info.max_seq_length, 8u);
  EXPECT_TRUE(info.do_lower_case);
  const SentenceEncoder short_model = SentenceEncoder::load(dir);
  const auto ids = short_model.token_ids({"one two three four five six seven eight nine"});
  EXPECT_EQ(ids[0].size(), 8u);
  EXPECT_EQ(ids[0].back(), short_model.tokenizer().last_id());
  EncodeStats st;
  Diagnostics diag;
  o.prompt.reset();
  short_model.encode({"one two three four five six seven eight nine", "one", "a b c d e f g h i j"}, o, &st, &diag);
  EXPECT_EQ(st.truncated, 2u);
  ASSERT_EQ(diag.size(), 1u);
  EXPECT_EQ(diag.items()[0].level, Diagnostic::Level::warning);
  EXPECT_NE(diag.items()[0].message.find("2 of 3 sentences were longer than the model's max_seq_length of 8 tokens"),
            std::string::npos)
      << diag.items()[0].message;
}

TEST(EmbedModelFolder, XlmRobertaConfig) {
  const std::string json = R"({"model_type": "xlm-roberta", "vocab_size": 250002, "hidden_size": 384,
    "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 514,
    "type_vocab_size": 1, "pad_token_id": 1, "hidden_act": "gelu", "layer_norm_eps": 1e-05})";
  const BertConfig c = BertConfig::parse(json);
  EXPECT_EQ(c.model_type, "xlm-roberta");
  EXPECT_EQ(c.position_offset, 2u);
  EXPECT_EQ(c.max_tokens(), 512u);
  EXPECT_EQ(BertConfig::parse(R"({"vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 1,
    "intermediate_size": 8})").position_offset, 0u);
  EXPECT_THROW(BertConfig::parse(R"({"model_type": "gpt2", "vocab_size": 10, "hidden_size": 4, "num_hidden_layers": 1,
    "num_attention_heads": 1, "intermediate_size": 8})"), ModelFormatError);
  EXPECT_THROW(BertConfig::parse(R"({"model_type": "xlm-roberta", "vocab_size": 10, "hidden_size": 4,
    "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 8, "max_position_embeddings": 3})"),
               ModelFormatError);
}
