// Row templates: parsing, rendering as pandas prints values, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "segmenta/embed.hpp"

using namespace segmenta;

namespace {

Table sample() {
  Column age;
  age.name = "age";
  age.type = ColumnType::numeric;
  age.numbers = {58, 44, 33.5};
  age.integral = false;
  Column n;
  n.name = "n";
  n.type = ColumnType::numeric;
  n.numbers = {1, 2, 3};
  n.integral = true;
  Column gaps;
  gaps.name = "gaps";
  gaps.type = ColumnType::numeric;
  gaps.numbers = {7, std::nan(""), 9};
  gaps.integral = true;
  gaps.missing = 1;
  Column job;
  job.name = "job";
  job.type = ColumnType::categorical;
  job.levels = {"admin.", "blue-collar"};
  job.codes = {0, 1, -1};
  job.missing = 1;
  return Table("sample.csv", {age, n, gaps, job});
}

}  // namespace

TEST(EmbedTemplate, BlogTemplateIsTheIssueString) {
  // The exact string of the blog's f-string, written out as the issue gives it.
  const std::string want =
      "Age: {age},  \n                housing load: {housing}, \n                Job: {job}, \n                Marital: "
      "{marital}, \n                Education: {education}, \n                Default: {default}, \n                "
      "Balance: {balance}, \n                Personal loan: {loan}\n            ";
  EXPECT_EQ(std::string(blog_template()), want);
  const RowTemplate t = RowTemplate::resolve("blog");
  EXPECT_EQ(t.text(), want);
  EXPECT_EQ(t.columns(),
            (std::vector<std::string>{"age", "housing", "job", "marital", "education", "default", "balance", "loan"}));
}

TEST(EmbedTemplate, RendersLikePandas) {
  const Table t = sample();
  const RowTemplate r("Age: {age}, n={n}, g={gaps}, job: {job}");
  EXPECT_EQ(r.columns(), (std::vector<std::string>{"age", "n", "gaps", "job"}));
  const auto s = r.render(t);
  ASSERT_EQ(s.size(), 3u);
  // Floats in shortest round-trip form ("58.0"), integer columns without a decimal point,
  // an integer column with a gap prints as pandas' float64 ("7.0"), missing values "nan".
  EXPECT_EQ(s[0], "Age: 58.0, n=1, g=7.0, job: admin.");
  EXPECT_EQ(s[1], "Age: 44.0, n=2, g=nan, job: blue-collar");
  EXPECT_EQ(s[2], "Age: 33.5, n=3, g=9.0, job: nan");
  EXPECT_EQ(r.render(t, 1), s[1]);
}

TEST(EmbedTemplate, BracesAndRepeats) {
  const Table t = sample();
  EXPECT_EQ(RowTemplate("{{literal}} {n}{n} }}").render(t)[2], "{literal} 33 }");
  EXPECT_EQ(RowTemplate("no placeholders").render(t)[0], "no placeholders");
  EXPECT_EQ(RowTemplate("").render(t)[1], "");
  EXPECT_TRUE(RowTemplate("{{x}}").columns().empty());
}

TEST(EmbedTemplate, Errors) {
  EXPECT_THROW(RowTemplate("Age: {age"), InvalidArgument);
  EXPECT_THROW(RowTemplate("Age: {}"), InvalidArgument);
  EXPECT_THROW(RowTemplate("Age: age}"), InvalidArgument);
  EXPECT_THROW(RowTemplate("{a{b}"), InvalidArgument);
  const Table t = sample();
  const RowTemplate r("Age: {age}, income: {income}");
  try {
    r.check(t);
    FAIL() << "no error for a missing column";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("{income}"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("sample.csv"), std::string::npos) << e.what();
  }
  EXPECT_THROW(r.render(t), InvalidArgument);
}
