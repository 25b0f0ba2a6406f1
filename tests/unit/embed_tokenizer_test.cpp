// WordPiece tokenizer rules on a small hand-made vocabulary (the real vocabulary is
// covered by the golden tests), and the Unigram tokenizer on a hand-made tokenizer.json.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "segmenta/embed.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

WordPieceTokenizer small(TokenizerOptions o = {}) {
  return WordPieceTokenizer({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "una", "##ff", "a", "b",
                             "!", ",", "cafe", "café", "straße", "strasse", "中", "ĳ", "x", "##x", "i", "##̇"},
                            std::move(o));
}

}  // namespace

TEST(EmbedTokenizer, GreedyLongestMatchFirst) {
  const auto t = small();
  // "unaffable": "una" is the longest prefix, then "##ff", then "##able".
  EXPECT_EQ(t.tokenize("unaffable"), (std::vector<std::string>{"una", "##ff", "##able"}));
  // A word that cannot be covered becomes one [UNK] (not a partial match).
  EXPECT_EQ(t.tokenize("unaffablez a"), (std::vector<std::string>{"[UNK]", "a"}));
  EXPECT_EQ(t.encode("a b"), (std::vector<std::int32_t>{2, 10, 11, 3}));
}

TEST(EmbedTokenizer, BasicTokenization) {
  const auto t = small();
  // Lower-casing, accent stripping (NFD, nonspacing marks dropped), punctuation split,
  // control characters dropped, Unicode whitespace splits.
  EXPECT_EQ(t.basic_tokenize("  Café,\tA!b\x07 \u3000x"), (std::vector<std::string>{"cafe", ",", "a", "!", "b", "x"}));
  // CJK ideographs become words of their own.
  EXPECT_EQ(t.basic_tokenize("a中b"), (std::vector<std::string>{"a", "中", "b"}));
  // Invalid UTF-8 reads as U+FFFD, which clean_text removes.
  EXPECT_EQ(t.basic_tokenize(std::string("a\xff\xfe b")), (std::vector<std::string>{"a", "b"}));
  // Special tokens in the raw text are kept whole, case-sensitively.
  EXPECT_EQ(t.encode("a [MASK] b [mask]"), (std::vector<std::int32_t>{2, 10, 4, 11, 1, 1, 1, 3}));
}

TEST(EmbedTokenizer, OptionsChangeNormalisation) {
  TokenizerOptions keep;
  keep.lowercase = false;
  keep.strip_accents = false;
  EXPECT_EQ(small(keep).basic_tokenize("Café Straße"), (std::vector<std::string>{"Café", "Straße"}));
  TokenizerOptions lower_only;
  lower_only.strip_accents = false;
  EXPECT_EQ(small(lower_only).tokenize("CAFÉ"), (std::vector<std::string>{"café"}));
  // U+0130 lower-cases to "i" + U+0307 when accents stay (full case mapping).
  EXPECT_EQ(small(lower_only).basic_tokenize("\u0130"), (std::vector<std::string>{"i\u0307"}));
  EXPECT_EQ(small().basic_tokenize("\u0130"), (std::vector<std::string>{"i"}));
  TokenizerOptions no_cjk;
  no_cjk.handle_chinese_chars = false;
  EXPECT_EQ(small(no_cjk).basic_tokenize("a中b"), (std::vector<std::string>{"a中b"}));
}

TEST(EmbedTokenizer, LongWordsAndTruncation) {
  const auto t = small();
  EXPECT_EQ(t.tokenize(std::string(100, 'x')).size(), 100u);  // x ##x ##x ...
  EXPECT_EQ(t.tokenize(std::string(101, 'x')), (std::vector<std::string>{"[UNK]"}));
  std::vector<std::int32_t> ids;
  EXPECT_TRUE(t.encode_into("a a a a a", 4, ids));
  EXPECT_EQ(ids, (std::vector<std::int32_t>{2, 10, 10, 3}));
  EXPECT_FALSE(t.encode_into("a a", 4, ids));
  EXPECT_EQ(ids, (std::vector<std::int32_t>{2, 10, 10, 3}));
  EXPECT_EQ(t.encode("", 2), (std::vector<std::int32_t>{2, 3}));
  EXPECT_EQ(t.encode("a b", 2), (std::vector<std::int32_t>{2, 3}));
  EXPECT_THROW(t.encode("a", 1), InvalidArgument);
}

TEST(EmbedTokenizer, VocabularyChecks) {
  EXPECT_THROW(WordPieceTokenizer(std::vector<std::string>{}), InvalidArgument);
  EXPECT_THROW(WordPieceTokenizer({"[PAD]", "[UNK]", "[CLS]"}), InvalidArgument);  // no [SEP]
  EXPECT_THROW(WordPieceTokenizer({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "a"}), InvalidArgument);
  const auto t = small();
  EXPECT_EQ(t.vocab_size(), 24u);
  EXPECT_EQ(t.id("##able"), 7);
  EXPECT_FALSE(t.id("zzz").has_value());
  EXPECT_EQ(t.token(6), "##aff");
  EXPECT_THROW(t.token(99), InvalidArgument);
  TokenizerOptions cased;
  cased.lowercase = false;
  EXPECT_NE(t.fingerprint(), small(cased).fingerprint());
  EXPECT_THROW(WordPieceTokenizer().encode("a"), NotFitted);
}

namespace {

// A hand-made Unigram tokenizer.json whose best segmentations can be worked out on paper:
// scores ▁ -1, ▁a -2, b -3, ab -2.5, ▁ab -4 (so "ab" reads ▁ + ab at -3.5); an unknown
// character scores min - 10 = -14; two byte pieces for "é" (C3 A9).
std::string unigram_dir(bool byte_fallback) {
  // Per test: ctest runs the tests side by side, and temp_dir empties its folder.
  const std::string dir = test::temp_dir(std::string(byte_fallback ? "unigram_bytes_" : "unigram_plain_") +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
  nlohmann::json j = nlohmann::json::parse(R"({
    "added_tokens": [{"id": 0, "content": "<s>", "special": true}, {"id": 2, "content": "</s>", "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
    "post_processor": {"type": "RobertaProcessing", "cls": ["<s>", 0], "sep": ["</s>", 2]},
    "model": {"type": "Unigram", "unk_id": 3, "byte_fallback": false,
              "vocab": [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["\u2581", -1.0],
                        ["\u2581a", -2.0], ["b", -3.0], ["ab", -2.5], ["\u2581ab", -4.0], ["<0xC3>", 0.0],
                        ["<0xA9>", 0.0]]}})");
  j["model"]["byte_fallback"] = byte_fallback;
  std::ofstream(dir + "/tokenizer.json") << j.dump();
  return dir;
}

}  // namespace

TEST(UnigramTokenizer, ViterbiUnknownFusionAndByteFallback) {
  const Tokenizer plain = Tokenizer::from_folder(unigram_dir(false));
  ASSERT_EQ(plain.kind(), Tokenizer::Kind::unigram);
  using V = std::vector<std::int32_t>;
  EXPECT_EQ(plain.encode("ab"), (V{0, 4, 7, 2}));                // ▁ + ab (-3.5) beats ▁a + b (-5) and ▁ab (-4)
  EXPECT_EQ(plain.encode("a  b"), (V{0, 5, 4, 4, 6, 2}));        // ▁a | ▁ | ▁ b: every ▁ starts a word
  EXPECT_EQ(plain.encode("ab\xC3\xA9"), (V{0, 4, 7, 3, 2}));     // é unknown
  EXPECT_EQ(plain.encode("\xC3\xA9\xC3\xA9"), (V{0, 4, 3, 2}));  // adjacent unknowns fuse into one
  EXPECT_EQ(plain.encode(""), (V{0, 2}));
  EXPECT_EQ(plain.tokenize("ab"), (std::vector<std::string>{"\u2581", "ab"}));
  EXPECT_EQ(plain.encode("ab ab ab", 4), (V{0, 4, 7, 2}));       // truncated to max_length
  const Tokenizer bytes = Tokenizer::from_folder(unigram_dir(true));
  EXPECT_EQ(bytes.encode("ab\xC3\xA9"), (V{0, 4, 7, 9, 10, 2}));          // é as its two byte pieces
  EXPECT_EQ(bytes.encode("\xC3\xA9\xF0\x9F\x98\x80"), (V{0, 4, 3, 2}));  // a byte of 😀 missing: unknown
  EXPECT_NE(plain.fingerprint(), bytes.fingerprint());
  EXPECT_THROW(Tokenizer().encode("a"), NotFitted);
}

TEST(UnigramTokenizer, UnsupportedComponentsAreNamed) {
  const std::string dir = unigram_dir(false);
  auto with = [&](const char* key, nlohmann::json value) {
    nlohmann::json j = nlohmann::json::parse(std::ifstream(dir + "/tokenizer.json"));
    j[key] = std::move(value);
    const std::string other = test::temp_dir(std::string("unigram_bad_") + key);
    std::ofstream(other + "/tokenizer.json") << j.dump();
    try {
      Tokenizer::from_folder(other);
    } catch (const ModelFormatError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(with("normalizer", {{"type", "BertNormalizer"}}).find("normalizer 'BertNormalizer' is not supported"),
            std::string::npos);
  EXPECT_NE(with("pre_tokenizer", {{"type", "ByteLevel"}}).find("pre_tokenizer 'ByteLevel' is not supported"),
            std::string::npos);
  EXPECT_NE(with("normalizer", {{"type", "Replace"}, {"pattern", {{"Regex", "[0-9]+"}}}, {"content", "#"}})
                .find("pattern"),
            std::string::npos);
  EXPECT_NE(with("model", {{"type", "BPE"}, {"vocab", nlohmann::json::object()}}).find("'BPE' is not supported"),
            std::string::npos);
}
