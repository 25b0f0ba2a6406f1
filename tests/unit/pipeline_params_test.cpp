// The parameter table: every run parameter is declared once, and the command line,
// the checks, run.json and the flag table of docs/USAGE.md come from it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "segmenta/pipeline.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

constexpr const char* kBegin = "<!-- run flags: generated from the parameter table (src/pipeline/run_params.cpp) -->\n";
constexpr const char* kEnd = "<!-- end of run flags -->\n";

std::string usage_path() { return std::string(SEGMENTA_SOURCE_DIR) + "/docs/USAGE.md"; }

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(RunParams, TheUsageFlagTableIsTheParameterTable) {
  std::string doc = read_text(usage_path());
  const std::size_t begin = doc.find(kBegin), end = doc.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << "docs/USAGE.md lacks the marker " << kBegin;
  ASSERT_NE(end, std::string::npos) << "docs/USAGE.md lacks the marker " << kEnd;
  ASSERT_LT(begin, end);
  const std::size_t from = begin + std::string(kBegin).size();
  const std::string generated = run_params_markdown();
  if (doc.substr(from, end - from) != generated && std::getenv("SEGMENTA_UPDATE_DOCS")) {
    doc.replace(from, end - from, generated);
    std::ofstream(usage_path(), std::ios::binary) << doc;
  }
  EXPECT_EQ(doc.substr(from, end - from), generated)
      << "regenerate with SEGMENTA_UPDATE_DOCS=1 ctest -R TheUsageFlagTableIsTheParameterTable";
}

TEST(RunParams, NamesAndFlagsAreUnique) {
  std::set<std::string_view> names, flags;
  for (const auto& s : run_param_specs()) {
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_TRUE(flags.insert(s.flag).second) << s.flag;
    EXPECT_EQ(s.flag.substr(0, 2), "--") << s.name;
    EXPECT_FALSE(s.help.empty()) << s.name;
    ASSERT_NE(s.set, nullptr) << s.name;
    EXPECT_EQ(find_run_param(s.name), &s);
    EXPECT_EQ(find_run_param(s.flag), &s);
  }
}

TEST(RunParams, DefaultsPassTheirOwnChecks) {
  const RunParams p;
  EXPECT_NO_THROW(validate_run_params(p));
  const nlohmann::json j = run_params_json(p);
  for (const auto& s : run_param_specs())
    if (s.manifest) EXPECT_TRUE(j.contains(std::string(s.name))) << s.name;
  EXPECT_EQ(j.at("n_init"), 10);
  EXPECT_EQ(j.at("init"), "cao");
  EXPECT_EQ(j.at("delimiter"), "auto");
}

TEST(RunParams, TextIsParsedIntoTheRunParameters) {
  RunParams p;
  set_run_param(p, "method", "kprototypes");
  set_run_param(p, "--k", "3..7");
  set_run_param(p, "contamination", "0.05");
  set_run_param(p, "types", "zip=categorical,score=numeric");
  set_run_param(p, "delimiter", "tab");
  set_run_param(p, "seed", "42");
  set_run_param(p, "gamma", "0.25");
  set_run_param(p, "--no-explain", "true");
  set_run_param(p, "preset", "blog");
  EXPECT_EQ(p.method, Method::kprototypes);
  EXPECT_EQ(p.k.lo, 3u);
  EXPECT_EQ(p.k.hi, 7u);
  EXPECT_DOUBLE_EQ(p.contamination, 0.05);
  ASSERT_EQ(p.csv.types.size(), 2u);
  EXPECT_EQ(p.csv.types[0].first, "zip");
  EXPECT_EQ(p.csv.types[1].second, ColumnType::numeric);
  EXPECT_EQ(p.csv.delimiter, '\t');
  EXPECT_EQ(p.seed, 42u);
  ASSERT_TRUE(p.gamma);
  EXPECT_DOUBLE_EQ(*p.gamma, 0.25);
  EXPECT_FALSE(p.explain);
  // Defaults that depend on the preset are resolved per method in one place.
  EXPECT_EQ(effective_n_init(p, Method::kmeans), 30u);
  EXPECT_EQ(effective_n_init(p, Method::kprototypes), 10u);
  EXPECT_EQ(effective_kproto_init(p), KPrototypesInit::huang);
  const nlohmann::json j = run_params_json(p);
  EXPECT_EQ(j.at("n_init"), 10);  // the method that runs (kprototypes) uses 10
  p.method = Method::all;
  EXPECT_EQ(run_params_json(p).at("n_init"),
            (nlohmann::json{{"kmeans", 30}, {"kprototypes", 10}, {"embed", 10}, {"lca", 10}}));
}

TEST(RunParams, ErrorsNameTheParameterNotAnOption) {
  auto expect_error = [](std::string_view name, std::string_view text, const std::string& message) {
    RunParams p;
    try {
      set_run_param(p, name, text);
      validate_run_params(p);
      ADD_FAILURE() << name << "=" << text << " was accepted";
    } catch (const ParameterError& e) {
      EXPECT_EQ(e.parameter(), name);
      EXPECT_EQ(e.what(), std::string(name) + ": " + message);
    }
  };
  expect_error("contamination", "0.7", "must be in (0, 0.5], got 0.7");
  expect_error("contamination", "lots", "expected a number, got 'lots'");
  expect_error("k", "1", "the number of segments must be in 2..100, got 1");
  expect_error("method", "spectral", "unknown method 'spectral' (expected kmeans, kprototypes, embed, lca or all)");
  expect_error("seed", "-1", "expected a non-negative integer, got '-1'");
  expect_error("tsne_dims", "4", "must be 2 or 3, got 4");
  expect_error("precision", "fp8", "unknown precision 'fp8' (fp32, bf16 or int8)");
  expect_error("types", "zip", "expected column=type, got 'zip'");
  expect_error("delimiter", ";;", "expected one character, got ';;'");
  expect_error("silhouette_sample", "1", "a sample needs at least 2 rows");
  expect_error("sweep_sample", "1", "a sample needs at least 2 rows");
  expect_error("silhouette_exact_max", "-5", "expected a non-negative integer, got '-5'");
  expect_error("preset", "fancy", "expected standard or blog, got 'fancy'");
  expect_error("init", "random", "expected huang or cao, got 'random'");
  RunParams p;
  EXPECT_THROW(set_run_param(p, "no_such_parameter", "1"), InvalidArgument);
}

// Choices are enums in the core; their text is parsed once, by the parameter table,
// and written back in one spelling (kmodes' 'Huang' is accepted as huang).
TEST(RunParams, ChoicesAreParsedIntoEnums) {
  RunParams p;
  EXPECT_EQ(p.preset, PrepPreset::standard);
  EXPECT_FALSE(p.kproto_init);
  EXPECT_EQ(p.precision, EmbedPrecision::fp32);
  EXPECT_EQ(effective_kproto_init(p), KPrototypesInit::cao);
  set_run_param(p, "preset", "blog");
  set_run_param(p, "init", "Cao");
  set_run_param(p, "precision", "bfloat16");
  EXPECT_EQ(p.preset, PrepPreset::blog);
  ASSERT_TRUE(p.kproto_init);
  EXPECT_EQ(*p.kproto_init, KPrototypesInit::cao);
  EXPECT_EQ(effective_kproto_init(p), KPrototypesInit::cao);  // the user's choice beats the blog's huang
  EXPECT_EQ(p.precision, EmbedPrecision::bf16);
  set_run_param(p, "k_criterion", "calinski-harabasz");
  EXPECT_EQ(p.k_criterion, KCriterion::calinski_harabasz);
  const nlohmann::json j = run_params_json(p);
  EXPECT_EQ(j.at("k_criterion"), "calinski-harabasz");
  EXPECT_EQ(j.at("preset"), "blog");
  EXPECT_EQ(j.at("init"), "cao");
  EXPECT_EQ(j.at("precision"), "bf16");
}
