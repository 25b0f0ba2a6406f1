// Each model family and pooling mode against the independent PyTorch forward pass of
// tools/ref_bert.py (fp64), with seeded random weights at real shapes:
//   * BERT, MiniLM-L6-shaped (6 layers, hidden 384, vocab 30522), WordPiece tokenizer of
//     paraphrase-MiniLM-L6-v2: cls, max, mean_sqrt_len, lasttoken pooling (mean is
//     embed_minilm_torch_test's);
//   * XLM-RoBERTa, multilingual-MiniLM-L12-shaped (12 layers, hidden 384, 12 heads,
//     FFN 1536, 514 positions from padding_idx + 1, one token type) with the Unigram
//     tokenizer.json of tools/make_unigram_tokenizer.py: every pooling mode, and e5's
//     "query: " prompt from config_sentence_transformers.json.
// Our fp32 vectors must reach cosine >= 0.99999 with torch's on every sentence (texts in
// several scripts, blog sentences, one truncated sentence). Skips when torch is missing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "segmenta/embed.hpp"
#include "segmenta/io.hpp"
#include "support.hpp"

using namespace segmenta;
namespace fs = std::filesystem;

namespace {

using test::python;
using test::torch_available;
using test::cosine;

std::string source(const std::string& rel) { return std::string(SEGMENTA_SOURCE_DIR) + "/" + rel; }

std::vector<std::string> sentences() {
  CsvOptions o;
  o.delimiter = ';';
  o.max_rows = 6;
  std::vector<std::string> s = RowTemplate::resolve("blog").render(read_csv(test::bank_full(), o));
  const auto j = test::read_json(source("tests/fixtures/tokenizers/texts.json"));
  for (const auto& t : j.at("texts")) s.push_back(t.get<std::string>());
  std::string words;
  for (int i = 0; i < 200; ++i) words += "Größe ";
  s.push_back(words);  // longer than max_seq_length: truncated
  return s;
}

void write_pooling(const std::string& model, const std::string& mode, std::size_t H) {
  nlohmann::json p = {{"word_embedding_dimension", H},
                      {"pooling_mode_cls_token", mode == "cls"},
                      {"pooling_mode_mean_tokens", mode == "mean"},
                      {"pooling_mode_max_tokens", mode == "max"},
                      {"pooling_mode_mean_sqrt_len_tokens", mode == "mean_sqrt_len"},
                      {"pooling_mode_lasttoken", mode == "lasttoken"}};
  std::ofstream(model + "/1_Pooling/config.json") << p.dump(2);
}

// Token ids of `texts` (with `prompt`) to a file; torch's vectors for each of `modes`
// from one forward pass; then, for each mode, the model's pooling set to it, our fp32
// vectors against torch's.
void check_modes(const std::string& dir, const std::string& model, const std::vector<std::string>& modes,
                 const std::string& prompt, const std::vector<std::string>& texts) {
  const std::size_t H = read_model_info(model).bert.hidden_size;
  const std::string tag = fs::path(model).filename().string() + (prompt.empty() ? "" : "_" + prompt);
  std::size_t longer = 0;
  {
    const SentenceEncoder enc = SentenceEncoder::load(model);
    const auto ids = enc.token_ids(texts, prompt);
    std::ofstream f(dir + "/" + tag + ".ids");
    for (std::size_t s = 0; s < ids.size(); ++s) {
      for (std::size_t i = 0; i < ids[s].size(); ++i) f << (i ? " " : "") << ids[s][i];
      f << "\n";
      const std::string full = (prompt.empty() ? "" : enc.info().prompt_text(prompt)) + texts[s];
      longer += enc.tokenizer().encode(full).size() > enc.info().max_seq_length;
    }
  }
  ASSERT_GE(longer, 1u);
  std::string list;
  for (const auto& m : modes) list += (list.empty() ? "" : ",") + m;
  const std::string cmd = python() + " " + source("tools/ref_bert.py") + " --model " + model + " --ids " + dir + "/" + tag +
                          ".ids --out " + dir + "/" + tag + ".npy --dtype float64 --threads 2 --pooling " + list +
                          (modes.size() == 1 ? ",mean" : "");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (const auto& mode : modes) {
    write_pooling(model, mode, H);
    const SentenceEncoder enc = SentenceEncoder::load(model);
    ASSERT_EQ(enc.dimension(), H);
    const MatrixD ref = read_npy(dir + "/" + tag + "." + mode + ".npy");
    ASSERT_EQ(ref.rows(), texts.size());
    ASSERT_EQ(ref.cols(), H);
    EncodeOptions o;
    o.progress = false;
    o.batch_size = 8;
    o.prompt = prompt;
    EncodeStats st;
    Diagnostics diag;
    const MatrixF got = enc.encode(texts, o, &st, &diag);
    double min_cos = 1.0;
    for (std::size_t i = 0; i < got.rows(); ++i) min_cos = std::min(min_cos, cosine(got.row(i), ref.row(i), H));
    std::printf("%s pooling %s%s: fp32 vs torch fp64 min cosine %.9f over %zu sentences\n",
                fs::path(model).filename().c_str(), mode.c_str(), prompt.empty() ? "" : (" prompt " + prompt).c_str(),
                min_cos, got.rows());
    EXPECT_GE(min_cos, 0.99999) << tag << " " << mode;
    EXPECT_EQ(st.truncated, longer) << tag;  // counted and warned about
    bool warned = false;
    for (const auto& m : diag.items()) warned |= m.code == "truncated" && m.level == Diagnostic::Level::warning;
    EXPECT_TRUE(warned) << tag;
  }
}

}  // namespace

TEST(EmbedFamiliesTorchGolden, BertPoolingModes) {
  if (!torch_available()) GTEST_SKIP() << "torch is not importable by " << python() << ": run scripts/setup";
  const std::string dir = test::temp_dir("embed_families_bert");
  const std::string model = dir + "/minilm";
  BertConfig c;  // MiniLM-L6's shape
  write_random_model(model, c, 20261206, test::shared_path("models/paraphrase-MiniLM-L6-v2"));
  const auto texts = sentences();
  check_modes(dir, model, {"cls", "max", "mean_sqrt_len", "lasttoken"}, "", texts);
}

TEST(EmbedFamiliesTorchGolden, XlmRobertaPoolingModesAndPrompt) {
  if (!torch_available()) GTEST_SKIP() << "torch is not importable by " << python() << ": run scripts/setup";
  const std::string dir = test::temp_dir("embed_families_xlmr");
  const std::string tok_dir = dir + "/tokenizer";
  const std::string cmd = python() + " " + source("tools/make_unigram_tokenizer.py") + " --texts " +
                          source("tests/fixtures/tokenizers/texts.json") + " --layout legacy --out " + tok_dir + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const Tokenizer tok = Tokenizer::from_folder(tok_dir);
  BertConfig c;  // paraphrase-multilingual-MiniLM-L12-v2's shape, with the test tokenizer's vocabulary
  c.model_type = "xlm-roberta";
  c.vocab_size = tok.vocab_size();
  c.num_hidden_layers = 12;
  c.max_position_embeddings = 514;
  c.type_vocab_size = 1;
  c.pad_token_id = 1;
  c.layer_norm_eps = 1e-5;
  const std::string model = dir + "/xlmr";
  write_random_model(model, c, 20261207, tok_dir, 128);
  std::ofstream(model + "/config_sentence_transformers.json")
      << R"({"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": null})";
  const SentenceModelInfo info = read_model_info(model);
  ASSERT_EQ(info.bert.position_offset, 2u);
  ASSERT_EQ(info.prompts.size(), 2u);
  const auto texts = sentences();
  check_modes(dir, model, {"mean", "cls", "max", "mean_sqrt_len", "lasttoken"}, "", texts);
  check_modes(dir, model, {"mean"}, "query", texts);
  // The prompt is text put before the sentence: the same ids as tokenizing "query: " + text.
  const SentenceEncoder enc = SentenceEncoder::load(model);
  const auto with_prompt = enc.token_ids({"Zoë Ødegård"}, "passage");
  EXPECT_EQ(with_prompt[0], tok.encode("passage: Zoë Ødegård", 128));
  EXPECT_EQ(with_prompt[0].front(), 0);
  EXPECT_EQ(with_prompt[0].back(), 2);
}
