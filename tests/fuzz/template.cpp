// Fuzz target: the row-template renderer. The input's first line is the template,
// the rest a CSV table it is rendered over (a fixed table when the rest does not
// parse).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "segmenta/embed.hpp"
#include "segmenta/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = input.find('\n');
  const std::string_view spec = input.substr(0, nl);
  const std::string_view rest = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  segmenta::Table table;
  try {
    table = segmenta::parse_csv(rest, "fuzz.csv");
  } catch (const segmenta::Error&) {
    table = segmenta::parse_csv("age,job,balance\n30,admin,1.5\n,\"a \"\"b\"\"\",-2\n", "fixed.csv");
  }
  try {
    const segmenta::RowTemplate tpl = segmenta::RowTemplate::resolve(spec);
    tpl.check(table);
    const auto sentences = tpl.render(table);
    if (sentences.size() != table.rows()) __builtin_trap();
  } catch (const segmenta::Error&) {
  }
  return 0;
}
