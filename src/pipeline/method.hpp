// The method registry: each clustering method of segmenta/methods.inc is one
// MethodSpec, defined in its own file (method_<name>.cpp) as `<name>_method`.
// segment() fits the methods of a run through it, `segmenta score` loads and
// applies their fitted models through it, and the maps, the comparison, the
// outputs and the report take what each method's result offers.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "context.hpp"
#include "segmenta/pipeline.hpp"

namespace segmenta::detail {

struct MethodSpec {
  Method id;
  /// The rows are rendered to sentences and encoded before the method runs; ECOD
  /// runs on the vectors when this method runs alone.
  bool needs_embeddings = false;
  /// Sweeps k on ctx's clustered rows, fits the chosen k and fills the result: the
  /// sweep, labels, fitted model, spaces for representatives and maps.
  MethodResult (*fit)(RunContext& ctx) = nullptr;
  /// The fitted model from its part of model.json (`file` names the model file in
  /// errors). Throws ModelFormatError for a malformed part.
  std::shared_ptr<const FittedMethod> (*load)(const nlohmann::json& part, const std::string& file) = nullptr;
};

/// The entry of a clustering method (not Method::all).
const MethodSpec& method_spec(Method m);

}  // namespace segmenta::detail
