// Fuzz target: the CSV reader and type inference. The first byte picks the
// options (delimiter, header, decimal mark, a numeric override); the rest is the
// file. Any input must give a table or a segmenta::Error, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "segmenta/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  segmenta::CsvOptions options;
  const char delimiters[] = {0, ',', ';', '\t'};
  options.delimiter = delimiters[mode & 3];
  options.header = (mode & 4) == 0;
  const char decimals[] = {0, '.', ',', 0};
  options.decimal = decimals[(mode >> 3) & 3];
  if (mode & 32) options.types = {{"a", segmenta::ColumnType::numeric}};
  if (mode & 64) options.max_rows = 3;
  segmenta::Diagnostics diagnostics;
  options.diagnostics = &diagnostics;
  try {
    const segmenta::Table t = segmenta::parse_csv(text, "fuzz.csv", options);
    // Every typed column agrees with the table's shape.
    for (std::size_t j = 0; j < t.cols(); ++j) {
      const segmenta::Column& c = t.column(j);
      if (c.is_numeric() ? c.numbers.size() != t.rows() : c.codes.size() != t.rows()) __builtin_trap();
      for (std::int32_t code : c.codes)
        if (code >= static_cast<std::int32_t>(c.levels.size())) __builtin_trap();
    }
  } catch (const segmenta::Error&) {
  }
  return 0;
}
