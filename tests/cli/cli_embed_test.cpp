// End-to-end tests of the embed method and the embed and map commands: a small random
// BERT with the real MiniLM tokenizer stands in for the real weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "embed/ops.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/files.hpp"
#include "segmenta/io.hpp"
#include "small_model.hpp"
#include "support.hpp"

using namespace segmenta;
namespace fs = std::filesystem;

namespace {

Table read_comma(const std::string& path) {
  CsvOptions o;
  o.delimiter = ',';
  return read_csv(path, o);
}

const char* kTemplate = "Age: {age}, job: {job}, balance: {balance}";

}  // namespace

TEST(CliEmbed, VectorsAreTheEncodersAndTheCacheReplaysThem) {
  const std::string dir = test::temp_dir("cli_embed_cmd");
  const std::string cache = dir + "/cache";
  const std::string cmd = test::cli() + " embed " + test::bank_small() + " --model " + test::small_model_dir() +
                          " --template '" + kTemplate + "' --cache " + cache + " --out ";
  const auto first = test::run_command(cmd + dir + "/v1.npy");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("0 from the cache"), std::string::npos) << first.out;
  const auto second = test::run_command(cmd + dir + "/v2.npy");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find(", 0 encoded"), std::string::npos) << second.out;

  const MatrixD v1 = read_npy(dir + "/v1.npy"), v2 = read_npy(dir + "/v2.npy");
  ASSERT_EQ(v1.rows(), 4521u);
  ASSERT_EQ(v1.cols(), 32u);
  ASSERT_EQ(v2.rows(), v1.rows());
  for (std::size_t i = 0; i < v1.size(); ++i) ASSERT_EQ(v1.data()[i], v2.data()[i]);

  // Reference: the library encoder on the sentences rendered by the template.
  const Table t = read_csv(test::bank_small());
  const std::vector<std::string> sentences = RowTemplate(kTemplate).render(t);
  EncodeOptions eo;
  eo.normalize = true;
  eo.progress = false;
  const MatrixF ref = SentenceEncoder::load(test::small_model_dir()).encode(sentences, eo);
  for (std::size_t i = 0; i < v1.rows(); ++i) {
    double norm = 0;
    for (std::size_t j = 0; j < v1.cols(); ++j) {
      ASSERT_EQ(v1(i, j), static_cast<double>(ref(i, j))) << i << "," << j;
      norm += v1(i, j) * v1(i, j);
    }
    ASSERT_NEAR(norm, 1.0, 1e-5);
  }
}

// int8 codes multiply exactly on every kernel, and the int8 mode's bf16 layer (the
// attention output) runs on the bf16 kernels that follow the portable order (never the
// tiles), so the tile, AVX-512, AVX-VNNI, AVX2 and portable paths write the same bytes;
// the summary names the int8 kernel that ran.
TEST(CliEmbed, Int8VectorsDoNotDependOnTheKernel) {
  const std::string dir = test::temp_dir("cli_embed_kernels");
  const std::string args = " embed " + test::bank_small() + " --model " + test::small_model_dir() + " --template '" +
                           kTemplate + "' --precision int8 --no-cache --out ";
  const auto best = test::run_command(test::cli() + args + dir + "/best.npy");
  ASSERT_EQ(best.exit_code, 0) << best.err;
  const std::string kernel(embed_precision_kernel(EmbedPrecision::int8));
  EXPECT_NE(best.out.find("int8 on " + kernel), std::string::npos) << best.out;
  const auto no_amx = test::run_command("SEGMENTA_NO_AMX=1 " + test::cli() + args + dir + "/no_amx.npy");
  ASSERT_EQ(no_amx.exit_code, 0) << no_amx.err;
  EXPECT_EQ(no_amx.out.find("int8 on amx"), std::string::npos) << no_amx.out;
  const auto portable = test::run_command("SEGMENTA_EMBED_KERNEL=portable " + test::cli() + args + dir + "/portable.npy");
  ASSERT_EQ(portable.exit_code, 0) << portable.err;
  EXPECT_NE(portable.out.find("int8 on portable"), std::string::npos) << portable.out;
  const auto avx2 = test::run_command("SEGMENTA_EMBED_KERNEL=avx2 " + test::cli() + args + dir + "/avx2.npy");
  ASSERT_EQ(avx2.exit_code, 0) << avx2.err;
  if (embed_detail::cpu_has_avx2_fma())
    EXPECT_NE(avx2.out.find("int8 on avx2"), std::string::npos) << avx2.out;
  // One thread against the default (all cores): batches are cut independently of the
  // thread count, so the bytes are the same.
  const auto one = test::run_command(test::cli() + args + dir + "/one_thread.npy --threads 1");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const MatrixD a = read_npy(dir + "/best.npy"), b = read_npy(dir + "/no_amx.npy"), c = read_npy(dir + "/portable.npy"),
                d = read_npy(dir + "/avx2.npy"), e = read_npy(dir + "/one_thread.npy");
  ASSERT_EQ(a.rows(), 4521u);
  ASSERT_EQ(b.rows(), a.rows());
  ASSERT_EQ(c.rows(), a.rows());
  ASSERT_EQ(d.rows(), a.rows());
  ASSERT_EQ(e.rows(), a.rows());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a.data()[i], e.data()[i]) << "one thread, " << i;
    ASSERT_EQ(a.data()[i], b.data()[i]) << i;
    ASSERT_EQ(a.data()[i], c.data()[i]) << i;
    ASSERT_EQ(a.data()[i], d.data()[i]) << i;
  }
}

TEST(CliEmbed, RunsTheWholeMethod) {
  const std::string dir = test::temp_dir("cli_embed_run");
  const auto r = test::run_command(test::cli() + " run " + test::bank_small() + " --method embed --model " +
                                   test::small_model_dir() + " --template '" + kTemplate +
                                   "' --no-cache --k 2..4 --tsne-sample 500 --out " + dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto m = test::read_json(dir + "/metrics.json");
  EXPECT_EQ(m["method"], "embed");
  EXPECT_EQ(m["outliers"]["space"], "sentence embeddings (32 dimensions)");
  EXPECT_EQ(m["embedding"]["sentences"], 4521);
  EXPECT_EQ(m["embedding"]["template"], kTemplate);
  EXPECT_EQ(m["embedding"]["kernel"], "sgemm");
  // Identical sentences are encoded once.
  EXPECT_LT(m["embedding"]["unique"].get<std::size_t>(), 4521u);
  EXPECT_EQ(m["embedding"]["encoded"], m["embedding"]["unique"]);
  const auto& e = m["methods"]["embed"];
  EXPECT_EQ(e["sweep"]["per_k"].size(), 3u);
  std::size_t total = 0;
  for (const auto& s : e["final"]["sizes"]) total += s.get<std::size_t>();
  EXPECT_EQ(total, m["outliers"]["clustered_rows"].get<std::size_t>());
  // Profiles are on the original columns; the surrogate explains with the encoded columns.
  EXPECT_EQ(e["profiles"]["population"]["columns"].size(), m["input"]["columns"].size());
  EXPECT_EQ(e["explanation"]["features"], m["input"]["features"]);
  // Maps: PCA of every clustered row, t-SNE of the 500-row sample.
  const Table maps = read_comma(dir + "/maps.csv");
  EXPECT_EQ(maps.rows(), m["outliers"]["clustered_rows"].get<std::size_t>());
  const Column& t1 = maps.column(maps.index_of("tsne1"));
  EXPECT_EQ(t1.missing, maps.rows() - 500);
  EXPECT_NE(r.out.find("embedded  4521 sentences"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("with fp32 on sgemm"), std::string::npos) << r.out;
}

TEST(CliEmbed, MissingWeightsStopAtOnceWithTheFileAndWhereToGetIt) {
  const std::string dir = test::temp_dir("cli_embed_noweights");
  fs::remove_all(dir);
  const auto r = test::run_command(test::cli() + " run " + test::bank_small() + " --method embed --model " +
                                   test::shared_path("models/paraphrase-MiniLM-L6-v2") + " --out " + dir);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("model.safetensors is missing"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("huggingface.co/sentence-transformers/paraphrase-MiniLM-L6-v2"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_FALSE(fs::exists(dir));
  // A bare name is also a Hugging Face id: offline, with an empty cache, it is not found.
  const auto none = test::run_command("HF_HUB_OFFLINE=1 HF_HUB_CACHE=" + dir + "-hf " + test::cli() + " run " +
                                      test::bank_small() + " --method all --model no-such-model");
  EXPECT_EQ(none.exit_code, 4);
  EXPECT_NE(none.err.find("model: no model folder 'no-such-model'"), std::string::npos) << none.err;
}

TEST(CliEmbed, TemplateErrorsNameTheColumn) {
  const std::string out = test::temp_dir("cli_embed_errors") + "/never.npy";
  const auto r = test::run_command(test::cli() + " embed " + test::bank_small() + " --model " + test::small_model_dir() +
                                   " --template 'Age: {age}, pet: {pet}' --out " + out);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("pet"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  const auto p = test::run_command(test::cli() + " embed " + test::bank_small() + " --model " + test::small_model_dir() +
                                   " --precision fp8 --out " + out);
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.err.find("--precision"), std::string::npos) << p.err;
}

TEST(CliMap, PcaOfTheBlogInliersMatchesPrince) {
  const std::string dir = test::temp_dir("cli_map_pca");
  const auto r = test::run_command(test::cli() + " map " + test::bank_full() +
                                   " --preset blog --drop-outliers --method pca --dims 3 --standardize --out " + dir +
                                   "/pca.csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("4520 dropped, 40691 rows kept"), std::string::npos) << r.out;
  const Table got = read_comma(dir + "/pca.csv");
  const MatrixD ref = test::golden_matrix_skip_first("pca/prince_row_coordinates.csv");
  ASSERT_EQ(got.rows(), ref.rows());
  for (std::size_t c = 0; c < 3; ++c) {
    const Column& col = got.column(got.index_of("pca" + std::to_string(c + 1)));
    // Same axis up to its sign.
    const double sign = (col.numbers[0] > 0) == (ref(0, c) > 0) ? 1.0 : -1.0;
    double worst = 0;
    for (std::size_t i = 0; i < ref.rows(); ++i) worst = std::max(worst, std::abs(sign * col.numbers[i] - ref(i, c)));
    // The golden test of PCA itself (reduce_pca) is at 1e-9 on prince's input matrix;
    // here the input is segmenta's own preparation, which agrees with scikit-learn's
    // to about 1e-9 per value, so the coordinates carry that through the projection.
    EXPECT_LT(worst, 1e-6) << "component " << c;
  }
}

// MCA of the blog inliers' six categorical columns against the exact-SVD reference of
// prince's MCA (../shared/golden/mca: eigenvalues rel 1e-9, coordinates abs 1e-8 up to
// the sign of each component).
TEST(CliMap, McaOfTheBlogInliersMatchesTheExactReference) {
  const std::string dir = test::temp_dir("cli_map_mca");
  const auto r = test::run_command(test::cli() + " map " + test::bank_full() +
                                   " --preset blog --drop-outliers --method mca --dims 3 --out " + dir + "/mca.csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto ref_json = test::golden_json("mca/exact_svd_mca.json");
  const std::vector<double> eig = ref_json["eigenvalues"].get<std::vector<double>>();
  const std::size_t at = r.out.find("eigenvalues ");
  ASSERT_NE(at, std::string::npos) << r.out;
  double e[3] = {};
  ASSERT_EQ(std::sscanf(r.out.c_str() + at, "eigenvalues %lf, %lf, %lf", &e[0], &e[1], &e[2]), 3) << r.out;
  for (std::size_t c = 0; c < 3; ++c) EXPECT_NEAR(e[c], eig[c], 1e-9 * eig[c]) << c;
  const Table got = read_comma(dir + "/mca.csv");
  const MatrixD ref = test::golden_matrix_skip_first("mca/exact_svd_row_coordinates.csv");
  ASSERT_EQ(got.rows(), ref.rows());
  for (std::size_t c = 0; c < 3; ++c) {
    const Column& col = got.column(got.index_of("mca" + std::to_string(c + 1)));
    double same = 0, flipped = 0;
    for (std::size_t i = 0; i < ref.rows(); ++i) {
      same = std::max(same, std::abs(col.numbers[i] - ref(i, c)));
      flipped = std::max(flipped, std::abs(col.numbers[i] + ref(i, c)));
    }
    EXPECT_LT(std::min(same, flipped), 1e-8) << "component " << c;
  }
}

// The standalone FAMD map of a table is the map a k-prototypes run draws of the same
// rows (the run's inliers, the same column plan), and a table without categorical
// columns is refused naming the method.
TEST(CliMap, FamdIsTheRunsMapOfTheSameRows) {
  const std::string dir = test::temp_dir("cli_map_famd");
  const auto run = test::run_command(test::cli() + " run " + test::bank_small() +
                                     " --method kprototypes --k 3 --no-explain --tsne-sample 0 --quiet --out " + dir + "/run");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto map = test::run_command(test::cli() + " map " + test::bank_small() +
                                     " --drop-outliers --method famd --dims 3 --quiet --out " + dir + "/famd.csv");
  ASSERT_EQ(map.exit_code, 0) << map.err;
  const Table from_run = read_comma(dir + "/run/maps.csv");
  const Table alone = read_comma(dir + "/famd.csv");
  ASSERT_EQ(alone.rows(), from_run.rows());
  for (const char* name : {"row", "famd1", "famd2", "famd3"}) {
    const Column& a = alone.column(alone.index_of(name));
    const Column& b = from_run.column(from_run.index_of(name));
    for (std::size_t i = 0; i < a.numbers.size(); ++i) ASSERT_EQ(a.numbers[i], b.numbers[i]) << name << " row " << i;
  }
  const auto numeric_only = test::run_command(test::cli() + " map " + test::bank_small() +
                                              " --columns age,balance --method famd --out " + dir + "/x.csv");
  EXPECT_EQ(numeric_only.exit_code, 2);
  EXPECT_NE(numeric_only.err.find("segmenta: error: --method: famd needs numeric and categorical columns"),
            std::string::npos)
      << numeric_only.err;
}

TEST(CliMap, TsneIsTheSameForOneAndTwoThreads) {
  const std::string dir = test::temp_dir("cli_map_tsne");
  const std::string cmd = test::cli() + " map " + test::bank_small() +
                          " --columns 0:8 --method tsne --sample 0.2 --n-iter 300 --quiet --out ";
  const auto a = test::run_command(cmd + dir + "/a.csv --threads 1");
  const auto b = test::run_command(cmd + dir + "/b.csv --threads 2");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const std::string ta = read_file(dir + "/a.csv"), tb = read_file(dir + "/b.csv");
  EXPECT_EQ(ta, tb);
  const Table t = read_comma(dir + "/a.csv");
  EXPECT_EQ(t.rows(), 904u);  // round(0.2 * 4521)
  EXPECT_TRUE(t.find("tsne2").has_value());
  const auto bad = test::run_command(test::cli() + " map " + test::bank_small() + " --method tsne --dims 4 --out " + dir + "/c.csv");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "segmenta: error: --dims: must be 2 or 3, got 4\n");
  // The library names its parameters (tsne_method, out); the command says them as options.
  const auto bad_method =
      test::run_command(test::cli() + " map " + test::bank_small() + " --method tsne --tsne-method bh --out " + dir + "/c.csv");
  EXPECT_EQ(bad_method.exit_code, 2);
  EXPECT_EQ(bad_method.err, "segmenta: error: --tsne-method: expected auto, barnes_hut, fft or exact, got 'bh'\n");
  const auto bad_out = test::run_command(test::cli() + " map " + test::bank_small() + " --out " + dir + "/c.txt");
  EXPECT_EQ(bad_out.exit_code, 2);
  EXPECT_EQ(bad_out.err, "segmenta: error: --out: the output must end in .csv or .npy, got '" + dir + "/c.txt'\n");
}

// An XLM-RoBERTa model (Unigram tokenizer.json from tools/make_unigram_tokenizer.py) with
// e5's prompts: --prompt reaches the encoder, an unknown prompt stops before any output,
// and the prompt a run used is recorded in model.json, so score encodes rows the same way.
TEST(CliEmbed, XlmRobertaModelWithPrompts) {
  const std::string dir = test::temp_dir("cli_embed_xlmr");
  const std::string src = SEGMENTA_SOURCE_DIR;
  const std::string mk = "/usr/bin/python3 " + src + "/tools/make_unigram_tokenizer.py --texts " + src +
                         "/tests/fixtures/tokenizers/texts.json --out " + dir + "/tok > /dev/null";
  ASSERT_EQ(std::system(mk.c_str()), 0) << mk;
  BertConfig c;
  c.model_type = "xlm-roberta";
  c.vocab_size = Tokenizer::from_folder(dir + "/tok").vocab_size();
  c.hidden_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 130;
  c.type_vocab_size = 1;
  c.pad_token_id = 1;
  const std::string model = dir + "/model";
  write_random_model(model, c, 11, dir + "/tok", 128, {}, true);
  std::ofstream(model + "/config_sentence_transformers.json")
      << R"({"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": null})";

  const auto e = test::run_command(test::cli() + " embed " + test::bank_small() + " --model " + model + " --template '" +
                                   kTemplate + "' --prompt passage --no-cache --out " + dir + "/v.npy");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const MatrixD v = read_npy(dir + "/v.npy");
  EncodeOptions eo;
  eo.normalize = true;
  eo.progress = false;
  eo.prompt = "passage";
  const std::vector<std::string> sentences = RowTemplate(kTemplate).render(read_csv(test::bank_small()));
  const SentenceEncoder enc = SentenceEncoder::load(model);
  const MatrixF ref = enc.encode(sentences, eo);
  ASSERT_EQ(v.rows(), ref.rows());
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v.data()[i], static_cast<double>(ref.data()[i])) << i;
  eo.prompt = "";
  EXPECT_NE(enc.encode({sentences[0]}, eo)(0, 0), ref(0, 0));  // the prompt changes the vectors

  const auto bad = test::run_command(test::cli() + " embed " + test::bank_small() + " --model " + model +
                                     " --prompt document --no-cache --out " + dir + "/never.npy");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("no prompt 'document' (its prompts: passage, query)"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir + "/never.npy"));

  const std::string out = dir + "/run";
  const auto r = test::run_command(test::cli() + " run " + test::bank_small() + " --method embed --model " + model +
                                   " --prompt query --template '" + kTemplate +
                                   "' --no-cache --k 3 --quiet --no-explain --no-maps --no-report --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto m = test::read_json(out + "/model.json");
  EXPECT_EQ(m.dump().find("\"prompt\":\"query\"") != std::string::npos, true) << m.dump().substr(0, 400);
  const auto s = test::run_command(test::cli() + " score " + out + "/model.json " + test::bank_small() + " --out " + out +
                                   "/scored.csv");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(read_file(out + "/scored.csv"), read_file(out + "/segments.csv"));
}
