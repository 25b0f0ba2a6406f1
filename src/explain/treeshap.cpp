#include "explain/treeshap.hpp"

#include "explain/treeshap_isa.hpp"
#include "kernels/variant.hpp"

#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <utility>
#include <nlohmann/json.hpp>

namespace segmenta::explain_detail {

namespace {

[[noreturn]] void bad_model(const std::string& what) { throw ModelFormatError("xgboost model: " + what); }

const nlohmann::json& field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) bad_model(fmt::format("missing field \"{}\"", key));
  return *it;
}

std::size_t integer_field(const nlohmann::json& j, const char* key) {
  const auto& v = field(j, key);
  // XGBoost writes model parameters as strings.
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    char* end = nullptr;
    const long long x = std::strtoll(s.c_str(), &end, 10);
    if (end == s.c_str() || *end != '\0' || x < 0) bad_model(fmt::format("field \"{}\" is not a count: {}", key, s));
    return static_cast<std::size_t>(x);
  }
  if (v.is_number_unsigned()) return v.get<std::size_t>();
  bad_model(fmt::format("field \"{}\" is not a count", key));
}

template <class T>
std::vector<T> array_field(const nlohmann::json& tree, const char* key, std::size_t n) {
  const auto& v = field(tree, key);
  if (!v.is_array() || v.size() != n) bad_model(fmt::format("tree field \"{}\" does not have {} entries", key, n));
  std::vector<T> out;
  out.reserve(n);
  for (const auto& e : v) {
    if (e.is_boolean())
      out.push_back(static_cast<T>(e.get<bool>()));
    else if (e.is_number())
      out.push_back(e.get<T>());
    else
      bad_model(fmt::format("tree field \"{}\" holds a non-number", key));
  }
  return out;
}

}  // namespace

const TreeshapFunctions* treeshap_functions(kernels::Isa isa) noexcept {
  return kernels::variant_for(isa, isa_portable::functions, isa_avx2::functions, isa_avx512::functions);
}

namespace {

// The variant of the instruction set the kernels were chosen for.
const TreeshapFunctions& active() noexcept {
  static const TreeshapFunctions* const chosen = treeshap_functions(kernels::active_isa());
  return *chosen;
}

}  // namespace

void finalize(Tree& tree) { active().finalize(tree); }

std::vector<double> Forest::expected_values() const { return active().expected_values(*this); }

std::size_t path_capacity(const Tree& tree) noexcept {
  const auto d = static_cast<std::size_t>(tree.depth);
  return (d + 2) * (d + 3) / 2;
}

Forest parse_xgboost_json(std::string_view text, double base_margin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    bad_model(std::string("not JSON: ") + e.what());
  }
  const auto& learner = field(j, "learner");
  const auto& booster = field(learner, "gradient_booster");
  if (field(booster, "name") != "gbtree") bad_model("only gbtree boosters are supported");
  const auto& model = field(booster, "model");
  const auto& param = field(learner, "learner_model_param");
  Forest f;
  f.n_features = integer_field(param, "num_feature");
  const std::size_t num_class = integer_field(param, "num_class");
  f.n_groups = std::max<std::size_t>(1, num_class);
  f.base_margin.assign(f.n_groups, base_margin);

  const auto& trees = field(model, "trees");
  const auto& info = field(model, "tree_info");
  if (!trees.is_array() || !info.is_array() || trees.size() != info.size()) bad_model("tree_info does not match trees");
  f.trees.reserve(trees.size());
  for (std::size_t i = 0; i < trees.size(); ++i) {
    const auto& jt = trees[i];
    const std::size_t n = integer_field(field(jt, "tree_param"), "num_nodes");
    Tree t;
    t.left = array_field<std::int32_t>(jt, "left_children", n);
    t.right = array_field<std::int32_t>(jt, "right_children", n);
    t.feature = array_field<std::int32_t>(jt, "split_indices", n);
    const auto conditions = array_field<double>(jt, "split_conditions", n);
    const auto split_type = array_field<int>(jt, "split_type", n);
    t.default_left = array_field<std::uint8_t>(jt, "default_left", n);
    t.cover = array_field<double>(jt, "sum_hessian", n);
    t.threshold.resize(n);
    t.value.assign(n, 0.0);
    for (std::size_t u = 0; u < n; ++u) {
      // Leaves keep their value where internal nodes keep the threshold; both are floats.
      if (t.left[u] < 0) {
        t.value[u] = static_cast<double>(static_cast<float>(conditions[u]));
      } else {
        if (split_type[u] != 0) bad_model("categorical splits are not supported");
        t.threshold[u] = static_cast<float>(conditions[u]);
        if (t.feature[u] < 0 || static_cast<std::size_t>(t.feature[u]) >= f.n_features)
          bad_model("split feature out of range");
      }
    }
    const auto group = info[i].get<std::int64_t>();
    if (group < 0 || static_cast<std::size_t>(group) >= f.n_groups) bad_model("tree_info entry out of range");
    t.group = static_cast<int>(group);
    finalize(t);
    f.trees.push_back(std::move(t));
  }
  return f;
}

MatrixD predict_margins(const Forest& forest, ViewD x) { return active().predict_margins(forest, x); }

MatrixD contributions_reference(const Forest& forest, ViewD x) { return active().contributions_reference(forest, x); }

Quadrature gauss_legendre(int q) { return active().gauss_legendre(q); }

MatrixD contributions(const Forest& forest, ViewD x) { return active().contributions(forest, x); }

MatrixD post_stratified_mean_abs(const MatrixD& phi, std::span<const std::int32_t> segment_of_sample,
                                 std::span<const std::size_t> segment_rows, std::size_t n_clustered, std::size_t p) {
  return active().post_stratified_mean_abs(phi, segment_of_sample, segment_rows, n_clustered, p);
}

std::vector<double> post_stratified_weights(std::span<const std::int32_t> segment_of_sample,
                                            std::span<const std::size_t> segment_rows, std::size_t n_clustered) {
  return active().post_stratified_weights(segment_of_sample, segment_rows, n_clustered);
}

void add_post_stratified(const MatrixD& phi, std::span<const std::int32_t> segment_of_rows,
                         std::span<const double> weight, std::size_t p, double* out) {
  active().add_post_stratified(phi, segment_of_rows, weight, p, out);
}

}  // namespace segmenta::explain_detail
