// The int8 mode's agreement with the fp32 path (the oracle) on blog sentences, with the
// MiniLM-shaped random model of the benchmarks (6 x 384, 12 heads, FFN 1536, seed
// 20260101): every vector's cosine to its fp32 vector stays above the level measured for
// the int8 mode's per-layer plan, and the plan's error that can move cluster boundaries
// (what is left of the error after the offset shared by all vectors) stays well below that
// of int8 in every layer. Thresholds are measured values (docs/PERFORMANCE.md, "int8
// accuracy") with a margin; nothing here is timed.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "embed/ops.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/io.hpp"
#include "minilm_shape.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

using test::minilm_shape;

// Every 150th row of bank-full.csv in the blog's template: 302 sentences from all parts
// of the file.
std::vector<std::string> sentences() {
  CsvOptions o;
  o.delimiter = ';';
  const std::vector<std::string> all = RowTemplate::resolve("blog").render(read_csv(test::bank_full(), o));
  std::vector<std::string> s;
  for (std::size_t i = 0; i < all.size(); i += 150) s.push_back(all[i]);
  return s;
}

struct Agreement {
  double min_cosine = 1.0;
  double rest_over_spread = 0.0;  // mean squared error after the shared offset, over the data's spread
};

Agreement agreement(const MatrixF& low, const MatrixF& ref) {
  const std::size_t n = ref.rows(), d = ref.cols();
  Agreement a;
  std::vector<double> mean_ref(d, 0.0), mean_err(d, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t j = 0; j < d; ++j) {
      ab += double(low(i, j)) * ref(i, j);
      aa += double(low(i, j)) * low(i, j);
      bb += double(ref(i, j)) * ref(i, j);
      mean_ref[j] += ref(i, j) / double(n);
      mean_err[j] += (double(low(i, j)) - ref(i, j)) / double(n);
    }
    a.min_cosine = std::min(a.min_cosine, ab / std::sqrt(aa * bb));
  }
  double spread = 0, rest = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < d; ++j) {
      spread += std::pow(ref(i, j) - mean_ref[j], 2);
      rest += std::pow(double(low(i, j)) - ref(i, j) - mean_err[j], 2);
    }
  a.rest_over_spread = rest / spread;
  return a;
}

}  // namespace

TEST(EmbedInt8Accuracy, PlanAgreesWithFp32) {
  using embed_detail::LinearPlan;
  // The documented contract: the attention output projection in bf16, the rest in int8.
  const LinearPlan plan = embed_detail::linear_plan(EmbedPrecision::int8);
  EXPECT_EQ(embed_detail::plan_name(plan), "int8/bf16/int8/int8");

  const std::string dir = test::temp_dir("embed_int8_accuracy");
  write_random_model(dir + "/model", minilm_shape(), 20260101, test::shared_path("models/paraphrase-MiniLM-L6-v2"));
  const auto texts = sentences();
  ASSERT_EQ(texts.size(), 302u);
  EncodeOptions o;
  o.progress = false;
  o.normalize = true;
  o.batch_size = 32;
  const MatrixF ref = SentenceEncoder::load(dir + "/model").encode(texts, o);
  o.precision = EmbedPrecision::int8;
  const MatrixF planned = SentenceEncoder::load(dir + "/model").encode(texts, o);
  // int8 in every layer (the mode before the plan), packed by a fresh encoder.
  embed_detail::set_int8_plan({EmbedPrecision::int8, EmbedPrecision::int8, EmbedPrecision::int8, EmbedPrecision::int8});
  const MatrixF all_int8 = SentenceEncoder::load(dir + "/model").encode(texts, o);
  embed_detail::set_int8_plan(embed_detail::kInt8Plan);

  const Agreement p = agreement(planned, ref), a = agreement(all_int8, ref);
  std::printf("int8 plan %s: min cosine %.6f, error left after the shared offset %.4f %% of the spread\n",
              embed_detail::plan_name(plan).c_str(), p.min_cosine, 100 * p.rest_over_spread);
  std::printf("int8 in every layer: min cosine %.6f, %.4f %%\n", a.min_cosine, 100 * a.rest_over_spread);
  EXPECT_GE(p.min_cosine, 0.9995);
  EXPECT_GE(a.min_cosine, 0.999);
  EXPECT_LE(p.rest_over_spread, 0.005);
  EXPECT_LE(p.rest_over_spread, 0.65 * a.rest_over_spread);
}
