// Token ids of segmenta's tokenizers against @huggingface/transformers (npm), which runs
// the same tokenizer.json offline (tools/ref_tokenize.mjs), on texts in several scripts
// and languages (tests/fixtures/tokenizers/texts.json): accents, CJK, Hangul, Cyrillic,
// Greek, Arabic, Devanagari, emoji, fullwidth forms, German compounds, Spanish and French
// names, control characters, specials inside the text.
//   * WordPiece: paraphrase-MiniLM-L6-v2's tokenizer.json and variants of its BertNormalizer
//     (cased, accents kept, CJK not split) written by the test;
//   * Unigram: two XLM-R-layout tokenizer.json files built from the texts by
//     tools/make_unigram_tokenizer.py (the legacy Precompiled + Metaspace form, and the
//     Sequence normalizer + WhitespaceSplit/Metaspace form).
// Skips with a message when node or the npm packages (scripts/setup) are missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "segmenta/embed.hpp"
#include "support.hpp"

using namespace segmenta;
namespace fs = std::filesystem;

namespace {

using test::python;

std::string source(const std::string& rel) { return std::string(SEGMENTA_SOURCE_DIR) + "/" + rel; }

bool js_available() {
  const std::string cmd = "cd " + std::string(SEGMENTA_SOURCE_DIR) +
                          " && node -e \"import('@huggingface/transformers')\" > /dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::vector<std::string> texts() {
  std::vector<std::string> out;
  const auto j = test::read_json(source("tests/fixtures/tokenizers/texts.json"));
  for (const auto& t : j.at("texts")) out.push_back(t.get<std::string>());
  return out;
}

std::vector<std::vector<std::int32_t>> reference(const std::string& dir) {
  const std::string out = dir + ".ids.json";
  const std::string cmd = "cd " + std::string(SEGMENTA_SOURCE_DIR) + " && node tools/ref_tokenize.mjs " + dir + " " +
                          source("tests/fixtures/tokenizers/texts.json") + " " + out;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<std::vector<std::int32_t>> ids;
  const auto j = test::read_json(out);
  for (const auto& s : j.at("ids")) ids.push_back(s.get<std::vector<std::int32_t>>());
  return ids;
}

// Compares every text; returns the number of texts checked.
std::size_t compare(const std::string& dir) {
  const Tokenizer tok = Tokenizer::from_folder(dir);
  const auto ref = reference(dir);
  const auto t = texts();
  EXPECT_EQ(ref.size(), t.size());
  EXPECT_GE(t.size(), 20u);
  std::size_t unk = 0;
  for (std::size_t i = 0; i < std::min(ref.size(), t.size()); ++i) {
    const auto got = tok.encode(t[i]);
    EXPECT_EQ(got, ref[i]) << dir << ": text " << i << " '" << t[i] << "'";
    for (auto id : got) unk += id == tok.unk_id();
  }
  std::printf("%s: %zu texts compared with @huggingface/transformers (%zu unknown tokens)\n",
              fs::path(dir).filename().c_str(), t.size(), unk);
  return t.size();
}

void make_unigram(const std::string& layout, const std::string& dir) {
  const std::string cmd = python() + " " + source("tools/make_unigram_tokenizer.py") + " --texts " +
                          source("tests/fixtures/tokenizers/texts.json") + " --layout " + layout + " --out " + dir +
                          " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace

TEST(EmbedTokenizerJs, WordPieceMatchesTransformersJs) {
  if (!js_available()) GTEST_SKIP() << "node cannot import @huggingface/transformers: run scripts/setup";
  const std::string base = test::temp_dir("tokenizer_js_wordpiece");
  const std::string minilm = test::shared_path("models/paraphrase-MiniLM-L6-v2");
  EXPECT_EQ(compare(minilm), texts().size());
  EXPECT_EQ(Tokenizer::from_folder(minilm).kind(), Tokenizer::Kind::wordpiece);
  // Variants of the BertNormalizer: cased (bge/e5-like settings differ only here), accents
  // kept while lower-casing, CJK characters not split apart.
  const auto json = test::read_json(minilm + "/tokenizer.json");
  struct Variant {
    const char* name;
    bool lowercase;
    nlohmann::json strip_accents;
    bool chinese;
  };
  for (const Variant& v : {Variant{"cased", false, nullptr, true}, Variant{"keep_accents", true, false, true},
                           Variant{"no_cjk_split", true, nullptr, false}}) {
    auto j = json;
    j["normalizer"]["lowercase"] = v.lowercase;
    j["normalizer"]["strip_accents"] = v.strip_accents;
    j["normalizer"]["handle_chinese_chars"] = v.chinese;
    const std::string dir = base + "/" + v.name;
    fs::create_directories(dir);
    std::ofstream(dir + "/tokenizer.json") << j.dump();
    std::ofstream(dir + "/tokenizer_config.json") << R"({"tokenizer_class": "BertTokenizer"})";
    compare(dir);
  }
}

TEST(EmbedTokenizerJs, UnigramMatchesTransformersJs) {
  if (!js_available()) GTEST_SKIP() << "node cannot import @huggingface/transformers: run scripts/setup";
  const std::string base = test::temp_dir("tokenizer_js_unigram");
  for (const char* layout : {"legacy", "sequence"}) {
    const std::string dir = base + "/xlmr_" + layout;
    make_unigram(layout, dir);
    const Tokenizer tok = Tokenizer::from_folder(dir);
    ASSERT_EQ(tok.kind(), Tokenizer::Kind::unigram);
    EXPECT_EQ(tok.first_id(), 0);
    EXPECT_EQ(tok.last_id(), 2);
    EXPECT_EQ(tok.pad_id(), 1);
    EXPECT_EQ(tok.unk_id(), 3);
    compare(dir);
  }
}
