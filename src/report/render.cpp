// The page: a static skeleton with the data document and the inlined scripts. The
// skeleton carries only the title and a short header written here; everything else
// is drawn by page/report.js from the data document.
#include <fmt/format.h>

#include "assets.hpp"
#include "page.hpp"
#include "segmenta/report.hpp"

namespace segmenta {

std::string render_report(const ReportInput& input) {
  const nlohmann::json data = report_data(input);
  const std::string title = html_escape(data["report"]["title"].get<std::string>());
  const nlohmann::json& in = data["metrics"]["input"];
  std::string subtitle = fmt::format("{} rows", in.value("rows", std::size_t{0}));
  if (in.contains("columns") && in["columns"].is_array()) subtitle += fmt::format(", {} columns", in["columns"].size());
  std::string methods;
  for (const auto& m : data["report"]["methods"]) methods += (methods.empty() ? "" : ", ") + m.get<std::string>();
  subtitle += " · " + methods;
  const std::string started = data["manifest"].value("started", std::string());
  if (!started.empty()) subtitle += " · run " + started;

  const std::string blob = json_for_script(data);
  const std::string plotly = escape_inline_script(detail::plotly_js());
  const std::string script = escape_inline_script(detail::page_js());
  std::string page;
  page.reserve(blob.size() + plotly.size() + script.size() + detail::page_css().size() + 4096);
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += fmt::format("<meta name=\"generator\" content=\"segmenta {}\">\n", html_escape(version()));
  page += "<title>" + title + "</title>\n<style>\n";
  // The style sheet is ours; "</style" cannot occur in it (a build-time constant).
  page += detail::page_css();
  page += "</style>\n</head>\n<body>\n<header class=\"page-header\">\n<h1>" + title + "</h1>\n";
  page += "<p class=\"subtitle\">" + html_escape(subtitle) + "</p>\n</header>\n";
  page += "<noscript><p class=\"noscript\">The tables and figures of this report are drawn by JavaScript, "
          "which is turned off.</p></noscript>\n";
  page += "<div class=\"layout\">\n<nav id=\"toc\" aria-label=\"Contents\"></nav>\n<main id=\"report\"></main>\n</div>\n";
  page += detail::kDataElementOpen;
  page += blob;
  page += "</script>\n<script>\n";
  page += plotly;
  page += "\n</script>\n<script>\n";
  page += script;
  page += "\n</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace segmenta
