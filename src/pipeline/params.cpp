#include <charconv>

#include <fmt/format.h>

#include "segmenta/pipeline.hpp"

namespace segmenta {

std::string_view to_string(Method m) noexcept {
  switch (m) {
#define SEGMENTA_METHOD(name) \
  case Method::name:          \
    return #name;
#include "segmenta/methods.inc"
#undef SEGMENTA_METHOD
    case Method::all: return "all";
  }
  return "all";
}

const std::vector<Method>& clustering_methods() {
  static const std::vector<Method> methods{
#define SEGMENTA_METHOD(name) Method::name,
#include "segmenta/methods.inc"
#undef SEGMENTA_METHOD
  };
  return methods;
}

Method parse_method(std::string_view text, std::string_view what) {
  std::string expected;
  for (Method m : clustering_methods()) {
    if (to_string(m) == text) return m;
    expected += (expected.empty() ? "" : ", ") + std::string(to_string(m));
  }
  if (text == "all") return Method::all;
  throw InvalidArgument(fmt::format("{}: unknown method '{}' (expected {} or all)", what, text, expected));
}

namespace {
bool parse_size(std::string_view s, std::size_t& v) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
}  // namespace

KSpec KSpec::parse(std::string_view text, std::string_view what) {
  KSpec k;
  if (text == "auto") return k;
  k.automatic = false;
  const std::size_t dots = text.find("..");
  if (dots == std::string_view::npos) {
    std::size_t v = 0;
    if (!parse_size(text, v))
      throw InvalidArgument(fmt::format("{}: expected auto, a number of segments N or a range A..B, got '{}'", what, text));
    if (v < 2 || v > 100) throw InvalidArgument(fmt::format("{}: the number of segments must be in 2..100, got {}", what, v));
    k.lo = k.hi = v;
    k.fixed = true;
    return k;
  }
  std::size_t a = 0, b = 0;
  if (!parse_size(text.substr(0, dots), a) || !parse_size(text.substr(dots + 2), b))
    throw InvalidArgument(fmt::format("{}: expected a range like 2..9, got '{}'", what, text));
  if (a < 2 || b <= a || b > 100)
    throw InvalidArgument(fmt::format("{}: the range must satisfy 2 <= A < B <= 100, got '{}'", what, text));
  k.lo = a;
  k.hi = b;
  return k;
}

std::string KSpec::str() const {
  if (automatic) return "auto";
  if (fixed) return std::to_string(lo);
  return fmt::format("{}..{}", lo, hi);
}

std::string_view to_string(OutlierPolicy p) noexcept {
  return p == OutlierPolicy::drop ? "drop" : p == OutlierPolicy::flag ? "flag" : "none";
}

OutlierPolicy parse_outlier_policy(std::string_view text, std::string_view what) {
  if (text == "drop") return OutlierPolicy::drop;
  if (text == "flag") return OutlierPolicy::flag;
  if (text == "none") return OutlierPolicy::none;
  throw InvalidArgument(fmt::format("{}: expected drop, flag or none, got '{}'", what, text));
}

std::size_t effective_n_init(const RunParams& params, Method method) {
  if (params.n_init) return params.n_init;
  return method == Method::kmeans && params.preset == PrepPreset::blog ? 30 : 10;
}

namespace {
constexpr KCriterion kCriteria[] = {KCriterion::automatic,         KCriterion::elbow,          KCriterion::silhouette,
                                    KCriterion::calinski_harabasz, KCriterion::davies_bouldin, KCriterion::stability,
                                    KCriterion::bic,               KCriterion::bic_plateau,    KCriterion::icl};
}  // namespace

std::string_view to_string(KCriterion c) noexcept {
  switch (c) {
    case KCriterion::automatic: return "auto";
    case KCriterion::elbow: return "elbow";
    case KCriterion::silhouette: return "silhouette";
    case KCriterion::calinski_harabasz: return "calinski-harabasz";
    case KCriterion::davies_bouldin: return "davies-bouldin";
    case KCriterion::stability: return "stability";
    case KCriterion::bic: return "bic";
    case KCriterion::bic_plateau: return "bic-plateau";
    case KCriterion::icl: return "icl";
  }
  return "auto";
}

KCriterion parse_k_criterion(std::string_view text, std::string_view what) {
  for (KCriterion c : kCriteria)
    if (text == to_string(c)) return c;
  throw ParameterError(std::string(what),
                       fmt::format("expected auto, elbow, silhouette, calinski-harabasz, davies-bouldin, stability, "
                                   "bic, bic-plateau or icl, got '{}'",
                                   text));
}

std::size_t effective_stability_pairs(const RunParams& params) {
  if (params.stability_pairs) return *params.stability_pairs;
  return params.preset == PrepPreset::blog && params.k_criterion != KCriterion::stability ? 0 : 4;
}

KPrototypesInit effective_kproto_init(const RunParams& params) {
  if (params.kproto_init) return *params.kproto_init;
  return params.preset == PrepPreset::blog ? KPrototypesInit::huang : KPrototypesInit::cao;
}

}  // namespace segmenta
