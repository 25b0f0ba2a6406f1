// A MiniLM-shaped model (6 layers, hidden 384, 12 heads, FFN 1536, vocab 30522) with
// seeded random weights, written as a real safetensors folder, against the independent
// PyTorch forward pass of tools/ref_bert.py (fp64). Needs /usr/bin/python3 with torch;
// skips with a message when torch cannot be imported.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "segmenta/embed.hpp"
#include "segmenta/io.hpp"
#include "minilm_shape.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

using test::python;
using test::torch_available;
using test::cosine;

using test::minilm_shape;

std::vector<std::string> sentences() {
  CsvOptions o;
  o.delimiter = ';';
  o.max_rows = 16;
  std::vector<std::string> s = RowTemplate::resolve("blog").render(read_csv(test::bank_full(), o));
  const auto j = test::golden_json("bert/tokenizer_ids.json");
  for (const auto& c : j["cases"]) s.push_back(c["text"].get<std::string>());
  s.push_back(std::string(600, 'x') + " long");  // one word, [UNK]
  std::string words;
  for (int i = 0; i < 150; ++i) words += "segment ";
  s.push_back(words);  // truncated to 128 tokens
  return s;
}

}  // namespace

TEST(EmbedMiniLmTorchGolden, AgreesWithTorchReference) {
  if (!torch_available())
    GTEST_SKIP() << "torch is not importable by " << python()
                 << ": install Debian's python3-torch (scripts/setup) to run this comparison";
  const std::string dir = test::temp_dir("embed_minilm_torch");
  const std::string model = dir + "/model";
  write_random_model(model, minilm_shape(), 20260101, test::shared_path("models/paraphrase-MiniLM-L6-v2"));
  const SentenceEncoder enc = SentenceEncoder::load(model);
  ASSERT_EQ(enc.dimension(), 384u);

  const auto texts = sentences();
  const auto ids = enc.token_ids(texts);
  {
    std::ofstream f(dir + "/ids.txt");
    for (const auto& s : ids) {
      for (std::size_t i = 0; i < s.size(); ++i) f << (i ? " " : "") << s[i];
      f << "\n";
    }
  }
  const std::string cmd = python() + " " + SEGMENTA_SOURCE_DIR + "/tools/ref_bert.py --model " + model + " --ids " + dir +
                          "/ids.txt --out " + dir + "/ref.npy --dtype float64 --threads 1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const MatrixD ref = read_npy(dir + "/ref.npy");
  ASSERT_EQ(ref.rows(), texts.size());
  ASSERT_EQ(ref.cols(), 384u);

  EncodeOptions o;
  o.progress = false;
  o.batch_size = 16;
  const MatrixF got = enc.encode(texts, o);
  double min_cos = 1.0, max_abs = 0.0;
  for (std::size_t i = 0; i < got.rows(); ++i) {
    min_cos = std::min(min_cos, cosine(got.row(i), ref.row(i), got.cols()));
    for (std::size_t k = 0; k < got.cols(); ++k) max_abs = std::max(max_abs, std::abs(got(i, k) - ref(i, k)));
  }
  std::printf("MiniLM-shaped fp32 vs torch fp64: min cosine %.9f, max |diff| %.3g over %zu sentences\n", min_cos, max_abs,
              got.rows());
  EXPECT_GE(min_cos, 0.99999);
  EXPECT_LE(max_abs, 1e-5);

  for (EmbedPrecision p : {EmbedPrecision::bf16, EmbedPrecision::int8}) {
    o.precision = p;
    const MatrixF low = enc.encode(texts, o);
    double worst = 1.0;
    for (std::size_t i = 0; i < low.rows(); ++i) worst = std::min(worst, cosine(low.row(i), ref.row(i), low.cols()));
    std::printf("MiniLM-shaped %s vs torch fp64: min cosine %.6f\n", std::string(to_string(p)).c_str(), worst);
    EXPECT_GE(worst, 0.999) << to_string(p);
  }
}
