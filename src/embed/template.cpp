#include <fmt/format.h>

#include <cmath>

#include "segmenta/embed.hpp"

namespace segmenta {

std::string_view blog_template() noexcept {
  // embedding_creation.py's f-string, whitespace included: two spaces after the first
  // comma, one space before each later newline, 16 spaces of indent, 12 trailing spaces.
  return "Age: {age},  \n"
         "                housing load: {housing}, \n"
         "                Job: {job}, \n"
         "                Marital: {marital}, \n"
         "                Education: {education}, \n"
         "                Default: {default}, \n"
         "                Balance: {balance}, \n"
         "                Personal loan: {loan}\n"
         "            ";
}

RowTemplate::RowTemplate(std::string text) : text_(std::move(text)) {
  std::string literal;
  const std::string& t = text_;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '{') {
      if (i + 1 < t.size() && t[i + 1] == '{') {
        literal.push_back('{');
        ++i;
        continue;
      }
      const std::size_t close = t.find('}', i + 1);
      if (close == std::string::npos)
        throw InvalidArgument(fmt::format("template: '{{' at offset {} has no matching '}}'", i));
      const std::string name = t.substr(i + 1, close - i - 1);
      if (name.empty()) throw InvalidArgument(fmt::format("template: empty placeholder '{{}}' at offset {}", i));
      if (name.find('{') != std::string::npos)
        throw InvalidArgument(fmt::format("template: '{{' inside the placeholder at offset {}", i));
      pieces_.push_back({std::move(literal), name});
      literal.clear();
      i = close;
    } else if (c == '}') {
      if (i + 1 < t.size() && t[i + 1] == '}') {
        literal.push_back('}');
        ++i;
        continue;
      }
      throw InvalidArgument(fmt::format("template: unmatched '}}' at offset {} (write '}}}}' for a literal brace)", i));
    } else {
      literal.push_back(c);
    }
  }
  pieces_.push_back({std::move(literal), std::string()});
}

RowTemplate RowTemplate::resolve(std::string_view spec) {
  if (spec == "blog") return RowTemplate(std::string(blog_template()));
  return RowTemplate(std::string(spec));
}

std::vector<std::string> RowTemplate::columns() const {
  std::vector<std::string> out;
  for (const auto& p : pieces_)
    if (!p.column.empty() && std::find(out.begin(), out.end(), p.column) == out.end()) out.push_back(p.column);
  return out;
}

void RowTemplate::check(const Table& table) const {
  for (const auto& p : pieces_)
    if (!p.column.empty() && !table.find(p.column)) {
      std::string names;
      for (const auto& c : table.columns()) names += (names.empty() ? "" : ", ") + c.name;
      throw InvalidArgument(
          fmt::format("template: placeholder {{{}}} names no column of {} (columns: {})", p.column, table.source(), names));
    }
}

namespace {

// A value as pandas shows it inside an f-string. An integer column with missing values
// is float64 in pandas, so its values print with ".0" there; missing values print "nan".
std::string value_text(const Column& c, std::size_t row) {
  if (c.is_missing(row)) return "nan";
  if (c.is_numeric() && c.integral && c.missing > 0) return format_double(c.numbers[row]);
  return c.text(row);
}

}  // namespace

std::string RowTemplate::render(const Table& table, std::size_t row) const {
  std::string out;
  for (const auto& p : pieces_) {
    out += p.literal;
    if (!p.column.empty()) out += value_text(table.column(*table.find(p.column)), row);
  }
  return out;
}

std::vector<std::string> RowTemplate::render(const Table& table) const {
  check(table);
  std::vector<const Column*> cols;
  for (const auto& p : pieces_) cols.push_back(p.column.empty() ? nullptr : &table.column(*table.find(p.column)));
  std::vector<std::string> out(table.rows());
  parallel_blocks(table.rows(), 4096, [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t r = b; r < e; ++r) {
      std::string s;
      for (std::size_t i = 0; i < pieces_.size(); ++i) {
        s += pieces_[i].literal;
        if (cols[i]) s += value_text(*cols[i], r);
      }
      out[r] = std::move(s);
    }
  });
  return out;
}

}  // namespace segmenta
