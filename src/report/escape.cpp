// Escaping for the three contexts data text can reach in the page: element content
// and attributes (html_escape), the JSON data element (json_for_script) and inline
// scripts (escape_inline_script).
#include <cctype>

#include <fmt/format.h>

#include "page.hpp"
#include "segmenta/report.hpp"

namespace segmenta {
namespace {

constexpr std::string_view kScriptClose = "</script>";

bool starts_with_ci(std::string_view text, std::size_t at, std::string_view lower) {
  if (text.size() - at < lower.size()) return false;
  for (std::size_t i = 0; i < lower.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != lower[i]) return false;
  return true;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string json_for_script(const nlohmann::json& j) {
  const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Outside strings JSON has no '<', '>' or '&', so rewriting every one of them as a
  // \u escape changes no value; inside the element it rules out "</script" and
  // "<!--", the only sequences that end or alter script data.
  std::string out;
  out.reserve(text.size() + 64);
  for (char c : text) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else
      out += c;
  }
  return out;
}

std::string escape_inline_script(std::string_view source) {
  // In script data only "</script" (any case) ends the element, and "<!--" followed
  // by "<script" switches the parser into a state where the real end tag is missed.
  // Minified code never has either outside literals and comments (a "<!--" in code
  // would be an HTML-like comment), and inside those "<\/" and "\x3C" read as "</"
  // and "<" again.
  std::string out;
  out.reserve(source.size() + 64);
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '<' && starts_with_ci(source, i, "</script")) {
      out += "<\\/";
      ++i;  // skip the '/', the rest of the name is copied as it is
      continue;
    }
    if (source[i] == '<' && source.compare(i, 4, "<!--") == 0) {
      out += "\\x3C";
      continue;
    }
    out += source[i];
  }
  return out;
}

nlohmann::json extract_report_data(std::string_view html) {
  const std::size_t open = html.find(detail::kDataElementOpen);
  if (open == std::string_view::npos) throw InvalidArgument("report: the page has no segmenta-data element");
  const std::size_t begin = open + detail::kDataElementOpen.size();
  const std::size_t end = html.find(kScriptClose, begin);
  if (end == std::string_view::npos) throw InvalidArgument("report: the segmenta-data element is not closed");
  try {
    return nlohmann::json::parse(html.substr(begin, end - begin));
  } catch (const nlohmann::json::parse_error& e) {
    throw InvalidArgument(fmt::format("report: the segmenta-data element is not valid JSON: {}", e.what()));
  }
}

}  // namespace segmenta
