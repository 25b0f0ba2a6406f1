// The HTML report: the data document round-trips through the page, data text is
// inert wherever it lands, and the page renders for one method, several methods and
// runs without maps.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "report/assets.hpp"
#include "report_fixture.hpp"
#include "segmenta/report.hpp"

using namespace segmenta;
using json = nlohmann::json;

namespace {

std::size_t count_ci(std::string_view text, std::string_view needle) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::size_t n = 0;
  for (std::size_t at = lower.find(needle); at != std::string::npos; at = lower.find(needle, at + 1)) ++n;
  return n;
}

/// The text between <title> and </title>.
std::string title_of(const std::string& html) {
  const std::size_t a = html.find("<title>") + 7, b = html.find("</title>");
  return html.substr(a, b - a);
}

}  // namespace

TEST(ReportEscape, HtmlEscapeReplacesEveryMarkupCharacter) {
  EXPECT_EQ(html_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(html_escape("plain text é"), "plain text é");
}

TEST(ReportEscape, JsonForScriptHasNoMarkupAndParsesBack) {
  const json j{{"name", "</script><!-- <script>&amp;"}, {"list", {"a>b", "x<y"}}, {"n", 1.5}};
  const std::string text = json_for_script(j);
  EXPECT_EQ(text.find('<'), std::string::npos);
  EXPECT_EQ(text.find('>'), std::string::npos);
  EXPECT_EQ(text.find('&'), std::string::npos);
  EXPECT_EQ(json::parse(text), j);
  // Invalid UTF-8 does not make the report fail; it is replaced.
  EXPECT_EQ(json::parse(json_for_script(json("a\xff" "b"))).get<std::string>(), "a\xEF\xBF\xBD" "b");
}

TEST(ReportEscape, InlineScriptCannotBeClosedOrCommented) {
  EXPECT_EQ(escape_inline_script("s=\"</script>\";"), "s=\"<\\/script>\";");
  EXPECT_EQ(escape_inline_script("/</SCRIPT/i"), "/<\\/SCRIPT/i");
  EXPECT_EQ(escape_inline_script("x=\"<!--\""), "x=\"\\x3C!--\"");
  EXPECT_EQ(escape_inline_script("a < b && c </ d"), "a < b && c </ d");
  EXPECT_EQ(escape_inline_script(""), "");
}

TEST(ReportRender, DataTextIsInertEverywhere) {
  const std::string evil = "</script><img src=x onerror=alert(1)>";
  test::FixtureSpec spec;
  spec.column = evil;
  spec.level = "<!--<script>" + evil;
  spec.feature = evil + "&amp;";
  spec.file = "<img src=x onerror=alert(1)><script>.csv";  // a file name has no '/'

  spec.id_prefix = "<b>";
  const test::Fixture f = test::make_fixture(spec);
  const std::string html = render_report(test::fixture_input(f));

  // Three script elements (data, plotly, page script) and nothing else closes one.
  EXPECT_EQ(count_ci(html, "<script"), 3u);
  EXPECT_EQ(count_ci(html, "</script"), 3u);
  EXPECT_EQ(count_ci(html, "<!--"), 0u);
  // Outside plotly's own source no data text appears as markup.
  std::string ours = html;
  const std::string plotly = escape_inline_script(detail::plotly_js());
  ASSERT_NE(ours.find(plotly), std::string::npos);
  ours.erase(ours.find(plotly), plotly.size());
  EXPECT_EQ(ours.find("<img"), std::string::npos);
  EXPECT_EQ(ours.find("<b>"), std::string::npos);
  // The title (markup written by C++) shows the file name as text.
  EXPECT_EQ(title_of(html), "Customer segments: &lt;img src=x onerror=alert(1)&gt;&lt;script&gt;.csv");

  // The data document gives every hostile string back exactly.
  const json data = extract_report_data(html);
  EXPECT_EQ(data["metrics"]["input"]["columns"][2]["name"], evil);
  EXPECT_EQ(data["metrics"]["outliers"]["feature_contributions"][0]["feature"], evil + "&amp;");
  const json& seg0 = data["metrics"]["methods"]["kmeans"]["profiles"]["segments"][0];
  EXPECT_EQ(seg0["columns"][1]["mode"], "<!--<script>" + evil);
  const std::string rep = std::to_string(seg0["representatives"][0].get<std::size_t>());
  EXPECT_EQ(data["representatives"]["rows"][rep]["id"], "<b>" + rep);
}

TEST(ReportRender, DataDocumentRoundTripsThroughThePage) {
  test::FixtureSpec spec;
  spec.methods = {"kmeans", "kprototypes"};
  const test::Fixture f = test::make_fixture(spec);
  const ReportInput in = test::fixture_input(f);
  const std::string html = render_report(in);
  const json data = extract_report_data(html);
  EXPECT_EQ(data, report_data(in));

  // What the run wrote comes through unchanged, apart from the documented
  // reductions (thinned silhouette profiles, maps moved out of metrics).
  for (const char* key : {"input", "outliers", "comparison", "diagnostics", "timings", "segmenta"})
    EXPECT_EQ(data["metrics"][key], f.metrics[key]) << key;
  EXPECT_EQ(data["manifest"], f.manifest);
  EXPECT_FALSE(data["metrics"].contains("maps"));
  for (const std::string m : {"kmeans", "kprototypes"}) {
    json got = data["metrics"]["methods"][m], want = f.metrics["methods"][m];
    for (auto& p : got["sweep"]["per_k"]) {
      // Below the budget nothing is thinned: every value is shown.
      std::size_t values = 0, rows = 0;
      for (const auto& c : p["silhouette_profile"]) {
        values += c["values_desc"].size();
        rows += c["size"].get<std::size_t>();
      }
      EXPECT_EQ(p["silhouette_shown"].get<std::size_t>(), values);
      EXPECT_DOUBLE_EQ(p["silhouette_rate"].get<double>(), static_cast<double>(values) / static_cast<double>(rows));
      p.erase("silhouette_shown");
      p.erase("silhouette_rate");
    }
    EXPECT_EQ(got, want) << m;
  }
  EXPECT_EQ(data["report"]["methods"], json({"kmeans", "kprototypes"}));
  EXPECT_EQ(data["report"]["plotly"], std::string(plotly_version()));

  // Map coordinates are the maps.csv values at the report's precision.
  const json& pca = data["maps"]["kprototypes"][0];
  ASSERT_EQ(pca["name"], "pca");
  EXPECT_EQ(pca["axes"], json({"kprototypes_pca1", "kprototypes_pca2", "kprototypes_pca3"}));
  for (std::size_t i = 0; i < pca["rows"].size(); i += 37) {
    const double x = static_cast<double>(pca["rows"][i].get<std::size_t>()) / 7.0;
    EXPECT_NEAR(pca["coords"][0][i].get<double>(), std::sin(x) + 1.0, 1e-5 * (1 + std::fabs(std::sin(x) + 1.0)));
    EXPECT_NEAR(pca["coords"][1][i].get<double>(), std::cos(x), 1e-5);
    EXPECT_EQ(pca["segments"][i].get<int>(), f.labels[1][pca["rows"][i].get<std::size_t>()]);
  }
}

TEST(ReportRender, PageCarriesPlotlyAndTheRenderer) {
  const test::Fixture f = test::make_fixture({});
  const std::string html = render_report(test::fixture_input(f));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("plotly.js v" + std::string(plotly_version())), std::string::npos);
  EXPECT_NE(html.find("window.Plotly"), std::string::npos);
  EXPECT_NE(html.find("segmenta-data"), std::string::npos);
  EXPECT_NE(html.find("function drawFigures"), std::string::npos);
  // Nothing is loaded from elsewhere.
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  // Deterministic: the same input gives the same page.
  EXPECT_EQ(html, render_report(test::fixture_input(f)));
}

TEST(ReportRender, SingleMethodWithMaps) {
  const test::Fixture f = test::make_fixture({});
  const json data = report_data(test::fixture_input(f));
  ASSERT_TRUE(data["maps"].contains("kmeans"));
  const json& maps = data["maps"]["kmeans"];
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0]["dims"], 3);
  EXPECT_EQ(maps[0]["axes"], json({"pca1", "pca2", "pca3"}));
  EXPECT_EQ(maps[0]["total"], 540);  // every clustered row
  EXPECT_EQ(maps[1]["name"], "tsne");
  EXPECT_EQ(maps[1]["dims"], 2);
  EXPECT_EQ(maps[1]["total"], 270);  // the rows of the t-SNE sample only
  EXPECT_EQ(maps[1]["info"]["perplexity"], 30.0);
  // The only note: without the input table, representatives are listed by row.
  EXPECT_EQ(data["report"]["notes"], json({"The input table was not available: representative customers are listed by row number only."}));
  EXPECT_EQ(data["segments"]["id_column"], "customer_id");
  EXPECT_EQ(data["segments"]["flagged"], 60);
  EXPECT_EQ(data["segments"]["clustered"]["kmeans"], 540);
}

TEST(ReportRender, WithoutMaps) {
  test::FixtureSpec spec;
  spec.maps = false;
  const test::Fixture f = test::make_fixture(spec);
  const std::string html = render_report(test::fixture_input(f));
  const json data = extract_report_data(html);
  EXPECT_TRUE(data["maps"].empty());
  EXPECT_EQ(data["report"]["notes"].size(), 1u);  // the representatives' note only

  // metrics.json describes maps but maps.csv is gone: the page says so.
  const test::Fixture g = test::make_fixture({});
  const json d2 = report_data(test::fixture_input(g, false));
  EXPECT_TRUE(d2["maps"].empty());
  ASSERT_EQ(d2["report"]["notes"].size(), 2u);
  EXPECT_EQ(d2["report"]["notes"][0], "maps.csv is missing: the report has no maps.");
}

TEST(ReportRender, RepresentativesTakeTheirValuesFromTheInputTable) {
  const test::Fixture f = test::make_fixture({});
  ReportInput in = test::fixture_input(f);
  json data = report_data(in);
  EXPECT_TRUE(data["representatives"]["columns"].empty());
  ASSERT_EQ(data["report"]["notes"].size(), 1u);

  std::string csv = "customer_id;age;job\n";
  for (std::size_t i = 0; i < 600; ++i) csv += fmt::format("c{};{};admin.\n", i, 20 + i % 50);
  const Table table = parse_csv(csv, "customers.csv");
  in.data = &table;
  data = report_data(in);
  EXPECT_EQ(data["representatives"]["columns"], json({"customer_id", "age", "job"}));
  EXPECT_TRUE(data["report"]["notes"].empty());
  for (const auto& [row, entry] : data["representatives"]["rows"].items()) {
    const std::size_t r = std::stoul(row);
    EXPECT_EQ(entry["values"], json({"c" + row, std::to_string(20 + r % 50), "admin."}));
    EXPECT_EQ(entry["id"], "c" + row);
  }
  // Three per segment, three segments, no row twice.
  EXPECT_EQ(data["representatives"]["rows"].size(), 9u);
}

TEST(ReportRender, MethodsFollowTheRunOrder) {
  test::FixtureSpec spec;
  spec.methods = {"kprototypes", "kmeans"};
  const json data = report_data(test::fixture_input(test::make_fixture(spec)));
  EXPECT_EQ(data["report"]["methods"], json({"kprototypes", "kmeans"}));
  EXPECT_EQ(data["maps"]["kmeans"][0]["axes"][0], "kmeans_pca1");
  // metrics.json may list the map columns under maps.csv's prefixed names too.
  spec.prefixed_map_columns = true;
  const json prefixed = report_data(test::fixture_input(test::make_fixture(spec)));
  auto without_info = [](json maps) {
    for (auto& [method, list] : maps.items())
      for (auto& map : list) map.erase("info");
    return maps;
  };
  EXPECT_EQ(without_info(prefixed["maps"]), without_info(data["maps"]));
  EXPECT_EQ(prefixed["maps"]["kprototypes"][1]["axes"], json({"kprototypes_tsne1", "kprototypes_tsne2"}));
}

TEST(ReportRender, MismatchedOutputsAreNamed) {
  const test::Fixture f = test::make_fixture({});
  {
    ReportInput in = test::fixture_input(f);
    in.metrics.erase("methods");
    try {
      report_data(in);
      FAIL() << "no error";
    } catch (const InvalidArgument& e) {
      EXPECT_STREQ(e.what(), "metrics.json: methods is missing or not an object");
    }
  }
  {
    ReportInput in = test::fixture_input(f);
    in.metrics["methods"]["kprototypes"] = in.metrics["methods"]["kmeans"];
    try {
      report_data(in);
      FAIL() << "no error";
    } catch (const InvalidArgument& e) {
      EXPECT_STREQ(e.what(), "segments.csv: no column segment_kmeans");
    }
  }
  {
    ReportInput in = test::fixture_input(f);
    in.metrics["input"]["rows"] = 601;
    try {
      report_data(in);
      FAIL() << "no error";
    } catch (const InvalidArgument& e) {
      EXPECT_STREQ(e.what(), "segments.csv: 600 rows, but metrics.json describes 601 input rows");
    }
  }
  EXPECT_THROW(extract_report_data("<html></html>"), InvalidArgument);
  ReportInput in = test::fixture_input(f);
  in.options.max_map_points = 0;
  EXPECT_THROW(report_data(in), InvalidArgument);
}
