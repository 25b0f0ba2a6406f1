// Fuzz target: the model-file (model.json) reader. The input is the file's text:
// the preparation, the outlier model and each method's part are loaded as `segmenta
// score` loads them, and the preparation is applied to a small table.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pipeline/method.hpp"
#include "pipeline/model_io.hpp"
#include "segmenta/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using json = nlohmann::json;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  json model;
  try {
    model = json::parse(text);
  } catch (const json::exception&) {
    return 0;
  }
  static const segmenta::Table table =
      segmenta::parse_csv("age,balance,job,married\n30,100,admin,yes\n41,-20,retired,no\n", "fixed.csv");
  try {
    if (!model.is_object()) return 0;
    if (model.contains("prep")) {
      const segmenta::PrepModel prep = segmenta::detail::prep_from_json(model.at("prep"));
      (void)prep.transform(table);
    }
    if (model.contains("outliers")) {
      // Both forms of the outlier model: version 1 (sorted columns) and the current one.
      const bool v1 = model.contains("version") && model["version"].is_number_integer() && model["version"] == 1;
      (void)segmenta::detail::ecod_from_json(model.at("outliers"), v1 ? 1 : segmenta::detail::kModelVersion);
    }
    if (model.contains("methods") && model["methods"].is_object())
      for (segmenta::Method m : segmenta::clustering_methods()) {
        const std::string name(segmenta::to_string(m));
        if (model["methods"].contains(name)) (void)segmenta::detail::method_spec(m).load(model["methods"][name], "fuzz.json");
      }
  } catch (const json::exception&) {
  } catch (const segmenta::Error&) {
  }
  return 0;
}
