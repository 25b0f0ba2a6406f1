// The tiny random BERT of ../shared/golden/bert against the fp64 torch reference.
#include <gtest/gtest.h>

#include <cmath>

#include "segmenta/embed.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

using test::cosine;

struct Golden {
  std::vector<std::string> texts, names;
  MatrixD mean_pooled, normalized;
};

const Golden& golden() {
  static const Golden g = [] {
    Golden g;
    const auto j = test::golden_json("bert/tiny_bert_embeddings.json");
    std::vector<std::vector<double>> mp, nz;
    for (const auto& s : j["sentences"]) {
      g.texts.push_back(s["text"].get<std::string>());
      g.names.push_back(s["name"].get<std::string>());
      mp.push_back(s["mean_pooled"].get<std::vector<double>>());
      nz.push_back(s["normalized"].get<std::vector<double>>());
    }
    g.mean_pooled = test::json_matrix(nlohmann::json(mp));
    g.normalized = test::json_matrix(nlohmann::json(nz));
    return g;
  }();
  return g;
}

const SentenceEncoder& tiny() {
  static const SentenceEncoder e = SentenceEncoder::load(test::golden_path("bert/tiny-bert-random"));
  return e;
}

struct Agreement {
  double min_cos = 1.0, max_abs = 0.0;
};

Agreement compare(const MatrixF& got, const MatrixD& want) {
  Agreement a;
  EXPECT_EQ(got.rows(), want.rows());
  EXPECT_EQ(got.cols(), want.cols());
  for (std::size_t i = 0; i < got.rows(); ++i) {
    a.min_cos = std::min(a.min_cos, cosine(got.row(i), want.row(i), got.cols()));
    for (std::size_t k = 0; k < got.cols(); ++k) a.max_abs = std::max(a.max_abs, std::abs(got(i, k) - want(i, k)));
  }
  return a;
}

}  // namespace

TEST(EmbedTinyBertGolden, ModelFolder) {
  const auto& info = tiny().info();
  EXPECT_EQ(info.bert.hidden_size, 64u);
  EXPECT_EQ(info.bert.num_hidden_layers, 2u);
  EXPECT_EQ(info.bert.num_attention_heads, 4u);
  EXPECT_EQ(info.bert.intermediate_size, 256u);
  EXPECT_EQ(info.max_seq_length, 128u);
  EXPECT_TRUE(info.pooling.mean);
  EXPECT_FALSE(info.pooling.cls || info.pooling.max || info.pooling.mean_sqrt_len);
  EXPECT_FALSE(info.normalize);
  EXPECT_EQ(tiny().dimension(), 64u);
}

TEST(EmbedTinyBertGolden, Fp32MeanPooledAndNormalized) {
  const Golden& g = golden();
  EncodeOptions o;
  o.progress = false;
  EncodeStats stats;
  const MatrixF pooled = tiny().encode(g.texts, o, &stats);
  const Agreement a = compare(pooled, g.mean_pooled);
  EXPECT_GE(a.min_cos, 0.99999);
  EXPECT_LE(a.max_abs, 1e-5);
  EXPECT_EQ(stats.sentences, 64u);
  EXPECT_EQ(stats.encoded, stats.unique);
  EXPECT_GE(stats.truncated, 1u);
  o.normalize = true;
  const MatrixF normalized = tiny().encode(g.texts, o);
  const Agreement b = compare(normalized, g.normalized);
  EXPECT_GE(b.min_cos, 0.99999);
  EXPECT_LE(b.max_abs, 1e-5);
  std::printf("tiny BERT fp32: min cosine %.9f, max |diff| %.3g (pooled); %.9f, %.3g (normalized)\n", a.min_cos, a.max_abs,
              b.min_cos, b.max_abs);
}

TEST(EmbedTinyBertGolden, ReducedPrecisionStaysClose) {
  const Golden& g = golden();
  for (EmbedPrecision p : {EmbedPrecision::bf16, EmbedPrecision::int8}) {
    EncodeOptions o;
    o.progress = false;
    o.precision = p;
    o.normalize = true;
    const Agreement a = compare(tiny().encode(g.texts, o), g.normalized);
    std::printf("tiny BERT %s (%s): min cosine %.6f, max |diff| %.3g\n", std::string(to_string(p)).c_str(),
                std::string(embed_precision_kernel(p)).c_str(), a.min_cos, a.max_abs);
    EXPECT_GE(a.min_cos, 0.999) << to_string(p);
  }
}

TEST(EmbedTinyBertGolden, SameResultForAnyThreadCountAndBatching) {
  const Golden& g = golden();
  for (EmbedPrecision p : {EmbedPrecision::fp32, EmbedPrecision::bf16, EmbedPrecision::int8}) {
    EncodeOptions o;
    o.progress = false;
    o.precision = p;
    o.batch_size = 7;
    set_num_threads(1);
    const MatrixF one = tiny().encode(g.texts, o);
    set_num_threads(3);
    const MatrixF three = tiny().encode(g.texts, o);
    set_num_threads(0);
    ASSERT_EQ(one.size(), three.size());
    EXPECT_EQ(0, std::memcmp(one.data(), three.data(), one.size() * sizeof(float))) << to_string(p);
    if (p != EmbedPrecision::fp32) {
      // Integer / per-element kernels: a sentence's vector does not depend on its batch.
      o.batch_size = 1;
      const MatrixF single = tiny().encode(g.texts, o);
      EXPECT_EQ(0, std::memcmp(one.data(), single.data(), one.size() * sizeof(float))) << to_string(p);
    }
  }
}

TEST(EmbedTinyBertGolden, HiddenStatesMatchPooling) {
  const Golden& g = golden();
  const auto ids = tiny().token_ids({g.texts[0]});
  const MatrixF h = tiny().hidden_states(ids[0]);
  ASSERT_EQ(h.rows(), ids[0].size());
  for (std::size_t k = 0; k < h.cols(); ++k) {
    double s = 0;
    for (std::size_t t = 0; t < h.rows(); ++t) s += h(t, k);
    EXPECT_NEAR(s / static_cast<double>(h.rows()), g.mean_pooled(0, k), 1e-5);
  }
  EXPECT_THROW(tiny().hidden_states({}), InvalidArgument);
  EXPECT_THROW(tiny().hidden_states({101, 40000, 102}), InvalidArgument);
}
