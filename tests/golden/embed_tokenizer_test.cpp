// Tokenizer and row-template fidelity against ../shared/golden/bert (Hugging Face ids).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "segmenta/embed.hpp"
#include "segmenta/io.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

std::string minilm_dir() { return test::shared_path("models/paraphrase-MiniLM-L6-v2"); }

std::vector<std::int32_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<std::int32_t>>(); }

const std::vector<std::string>& blog_sentences() {
  static const std::vector<std::string> s = [] {
    CsvOptions o;
    o.delimiter = ';';
    const Table t = read_csv(test::bank_full(), o);
    return RowTemplate::resolve("blog").render(t);
  }();
  return s;
}

}  // namespace

TEST(EmbedTokenizerGolden, EdgeCasesFromTokenizerJson) {
  const auto tok = WordPieceTokenizer::from_folder(minilm_dir());
  EXPECT_EQ(tok.vocab_size(), 30522u);
  EXPECT_EQ(tok.cls_id(), 101);
  EXPECT_EQ(tok.sep_id(), 102);
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.unk_id(), 100);
  const auto j = test::golden_json("bert/tokenizer_ids.json");
  ASSERT_GE(j["cases"].size(), 20u);
  for (const auto& c : j["cases"]) {
    const std::string text = c["text"].get<std::string>();
    EXPECT_EQ(tok.encode(text), ids_of(c["ids"])) << "text: " << text;
  }
}

TEST(EmbedTokenizerGolden, VocabTxtAndTokenizerConfigGiveTheSameIds) {
  // The fallback path (vocab.txt + tokenizer_config.json + special_tokens_map.json) must
  // agree with tokenizer.json.
  TokenizerOptions o;  // do_lower_case true, strip_accents null, tokenize_chinese_chars true
  const auto tok = WordPieceTokenizer::from_vocab_file(minilm_dir() + "/vocab.txt", o);
  const auto j = test::golden_json("bert/tokenizer_ids.json");
  for (const auto& c : j["cases"]) EXPECT_EQ(tok.encode(c["text"].get<std::string>()), ids_of(c["ids"]));
}

TEST(EmbedTokenizerGolden, TinyBertSentencesWithTruncation) {
  const auto tok = WordPieceTokenizer::from_folder(test::golden_path("bert/tiny-bert-random"));
  const auto j = test::golden_json("bert/tiny_bert_embeddings.json");
  ASSERT_EQ(j["sentences"].size(), 64u);
  bool saw_truncation = false;
  for (const auto& s : j["sentences"]) {
    const std::string text = s["text"].get<std::string>();
    std::vector<std::int32_t> ids;
    const bool truncated = tok.encode_into(text, 128, ids);
    EXPECT_EQ(ids, ids_of(s["ids"])) << s["name"];
    EXPECT_EQ(ids.size(), s["n_tokens"].get<std::size_t>());
    saw_truncation |= truncated;
  }
  EXPECT_TRUE(saw_truncation);  // long_300_words is cut to 128 tokens
}

TEST(EmbedTokenizerGolden, AllBlogSentences) {
  const auto tok = WordPieceTokenizer::from_folder(minilm_dir());
  const auto& sentences = blog_sentences();
  ASSERT_EQ(sentences.size(), 45211u);
  std::ifstream in(test::golden_path("bert/blog_sentences_token_ids.txt"));
  std::string line;
  std::size_t row = 0, mismatches = 0;
  std::vector<std::int32_t> ids, expected;
  while (std::getline(in, line)) {
    ASSERT_LT(row, sentences.size());
    expected.clear();
    std::istringstream ss(line);
    std::int32_t v;
    while (ss >> v) expected.push_back(v);
    tok.encode_into(sentences[row], 128, ids);
    if (ids != expected && ++mismatches <= 5) ADD_FAILURE() << "row " << row << ": " << sentences[row];
    ++row;
  }
  EXPECT_EQ(row, 45211u);
  EXPECT_EQ(mismatches, 0u);
}

TEST(EmbedTemplateGolden, BlogRowsAreByteIdentical) {
  const auto& sentences = blog_sentences();
  const auto j = test::golden_json("bert/tiny_bert_embeddings.json");
  std::size_t checked = 0;
  for (const auto& s : j["sentences"]) {
    const std::string name = s["name"].get<std::string>();
    if (name.rfind("bank_row_", 0) != 0) continue;
    const std::size_t row = std::stoul(name.substr(9));
    EXPECT_EQ(sentences.at(row), s["text"].get<std::string>()) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 50u);
  // The first tokenizer case is bank-full row 0 rendered the same way.
  const auto t = test::golden_json("bert/tokenizer_ids.json");
  EXPECT_EQ(sentences[0], t["cases"][0]["text"].get<std::string>());
}
