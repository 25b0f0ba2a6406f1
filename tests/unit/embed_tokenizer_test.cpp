// WordPiece tokenizer rules on a small hand-made vocabulary (the real vocabulary is
// covered by the golden tests).
#include <gtest/gtest.h>

#include "segmenta/embed.hpp"

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
