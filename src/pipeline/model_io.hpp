// Model file (model.json) serialisation of the fitted stages. The format is
// described in docs/USAGE.md: a JSON object with "format": "segmenta-model",
// "version", the method, and one object per stage. Large float arrays are stored
// as base64 of little-endian float64 so the file stays compact and exact.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "segmenta/cluster.hpp"
#include "segmenta/outliers.hpp"
#include "segmenta/prep.hpp"

namespace segmenta::detail {

using json = nlohmann::json;

std::string base64_encode(std::string_view bytes);
std::string base64_decode(std::string_view text, std::string_view what);

json doubles_to_json(const double* data, std::size_t n);
std::vector<double> doubles_from_json(const json& j, std::string_view what);
json matrix_to_json(ViewD m);
MatrixD matrix_from_json(const json& j, std::string_view what);

json prep_to_json(const PrepModel& m);
PrepModel prep_from_json(const json& j);

/// The model file version written: 2 keeps ECOD's training columns as distinct
/// values with counts; version 1 (sorted columns) still loads.
inline constexpr int kModelVersion = 2;

json ecod_to_json(const EcodModel& m);
/// The outlier model of a model file of `version` (1: sorted columns, 2: distinct
/// values with counts).
EcodModel ecod_from_json(const json& j, int version);

}  // namespace segmenta::detail

namespace segmenta::detail {

/// Nearest centre (k, q) of every row of x (n, q) by k-means' kernel. Throws
/// ModelFormatError naming `origin` when the dimensions differ.
std::vector<std::int32_t> predict_nearest_center(ViewD centers, ViewD x, const std::string& origin);

json mixed_plan_to_json(const MixedPlan& plan);
MixedPlan mixed_plan_from_json(const json& j, const std::string& file);

}  // namespace segmenta::detail
