#include "model_io.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

namespace segmenta::detail {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const json& field(const json& j, const char* key, std::string_view what) {
  if (!j.is_object() || !j.contains(key))
    throw ModelFormatError(fmt::format("model file: {} has no '{}'", what, key));
  return j.at(key);
}

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct element {
  using type = T;
};
template <class T>
struct element<std::vector<T>> {
  using type = T;
};
template <class T>
using element_t = typename element<T>::type;

/// Whether `v` can be read as T without a float-to-integer conversion: the JSON
/// library would cast a number like 1e300 or -1.5 to an integer, which is undefined
/// for values out of the integer's range. Integers (unsigned ones for an unsigned T)
/// must be written as such.
template <class T>
bool holds_integers_for(const json& v) {
  if constexpr (is_vector<T>::value) {
    if (!v.is_array()) return true;  // get<T>() says it has the wrong type
    for (const auto& e : v)
      if (!holds_integers_for<typename T::value_type>(e)) return false;
    return true;
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!v.is_number()) return true;  // get<T>() says it has the wrong type
    return std::is_unsigned_v<T> ? v.is_number_unsigned() : v.is_number_integer();
  } else {
    return true;
  }
}

template <class T>
T get(const json& j, const char* key, std::string_view what) {
  const json& v = field(j, key, what);
  if (!holds_integers_for<T>(v))
    throw ModelFormatError(fmt::format("model file: {}.{} must hold {}integers", what, key,
                                       std::is_unsigned_v<element_t<T>> ? "non-negative " : ""));
  try {
    return v.get<T>();
  } catch (const json::exception&) {
    throw ModelFormatError(fmt::format("model file: {}.{} has the wrong type", what, key));
  }
}

std::string_view kind_name(FeatureBlock::Kind k) {
  switch (k) {
    case FeatureBlock::Kind::power: return "power";
    case FeatureBlock::Kind::onehot: return "onehot";
    case FeatureBlock::Kind::ordinal_power: return "ordinal_power";
    case FeatureBlock::Kind::excluded: return "excluded";
  }
  return "excluded";
}

FeatureBlock::Kind kind_from(const std::string& s) {
  for (auto k : {FeatureBlock::Kind::power, FeatureBlock::Kind::onehot, FeatureBlock::Kind::ordinal_power,
                 FeatureBlock::Kind::excluded})
    if (kind_name(k) == s) return k;
  throw ModelFormatError(fmt::format("model file: unknown feature block kind '{}'", s));
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < bytes.size()) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[v >> 18]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string base64_decode(std::string_view text, std::string_view what) {
  int table[256];
  std::fill(std::begin(table), std::end(table), -1);
  for (int k = 0; k < 64; ++k) table[static_cast<unsigned char>(kAlphabet[k])] = k;
  if (text.size() % 4 != 0) throw ModelFormatError(fmt::format("model file: {} is not valid base64", what));
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if ((v[k] = table[static_cast<unsigned char>(c)]) < 0 || pad) {
        throw ModelFormatError(fmt::format("model file: {} is not valid base64", what));
      }
    }
    const std::uint32_t w = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out.push_back(static_cast<char>(w >> 16));
    if (pad < 2) out.push_back(static_cast<char>((w >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(w & 0xFF));
  }
  return out;
}

static_assert(std::endian::native == std::endian::little, "model files store little-endian float64");

json doubles_to_json(const double* data, std::size_t n) {
  return json{{"dtype", "<f8"}, {"n", n},
              {"base64", base64_encode(std::string_view(reinterpret_cast<const char*>(data), n * sizeof(double)))}};
}

namespace {
/// A model holds finite numbers only: a NaN or infinite centre would silently put
/// every row in one segment.
std::vector<double> finite_or_throw(std::vector<double> v, std::string_view what) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw ModelFormatError(fmt::format("model file: {} holds a non-finite value ({}) at position {}", what,
                                         std::isnan(v[i]) ? "NaN" : v[i] > 0 ? "inf" : "-inf", i));
  return v;
}
}  // namespace

std::vector<double> doubles_from_json(const json& j, std::string_view what) {
  if (j.is_array()) {
    try {
      return finite_or_throw(j.get<std::vector<double>>(), what);
    } catch (const json::exception&) {
      throw ModelFormatError(fmt::format("model file: {} must hold numbers", what));
    }
  }
  const auto n = get<std::size_t>(j, "n", what);
  const std::string bytes = base64_decode(get<std::string>(j, "base64", what), what);
  // (bytes.size() / 8 against n: n * 8 may wrap around for an n no file can hold)
  if (get<std::string>(j, "dtype", what) != "<f8" || bytes.size() % sizeof(double) != 0 ||
      bytes.size() / sizeof(double) != n)
    throw ModelFormatError(fmt::format("model file: {} holds {} bytes, expected {} float64 values", what, bytes.size(), n));
  std::vector<double> v(n);
  if (n > 0) std::memcpy(v.data(), bytes.data(), bytes.size());  // (an empty vector's data() may be null)
  return finite_or_throw(std::move(v), what);
}

json matrix_to_json(ViewD m) {
  std::vector<double> flat;
  flat.reserve(m.rows() * m.cols());
  for (std::size_t i = 0; i < m.rows(); ++i) flat.insert(flat.end(), m.row(i), m.row(i) + m.cols());
  json j = doubles_to_json(flat.data(), flat.size());
  j["rows"] = m.rows();
  j["cols"] = m.cols();
  return j;
}

MatrixD matrix_from_json(const json& j, std::string_view what) {
  const auto rows = get<std::size_t>(j, "rows", what), cols = get<std::size_t>(j, "cols", what);
  const std::vector<double> flat = doubles_from_json(j, what);
  std::size_t cells = 0;
  if (__builtin_mul_overflow(rows, cols, &cells) || flat.size() != cells)
    throw ModelFormatError(fmt::format("model file: {} has {} values for a {}x{} matrix", what, flat.size(), rows, cols));
  MatrixD m(rows, cols);
  std::copy(flat.begin(), flat.end(), m.data());
  return m;
}

json prep_to_json(const PrepModel& m) {
  json blocks = json::array();
  for (const auto& b : m.blocks) {
    json jb{{"kind", kind_name(b.kind)}, {"column", b.column}, {"first_feature", b.first_feature},
            {"n_features", b.n_features}, {"impute", b.impute}};
    if (b.kind == FeatureBlock::Kind::ordinal_power) {
      jb["ordinal"] = {{"numeric", b.ordinal.numeric}};
      if (b.ordinal.numeric)
        jb["ordinal"]["categories"] = b.ordinal.number_categories;
      else
        jb["ordinal"]["categories"] = b.ordinal.categories;
    }
    if (b.kind == FeatureBlock::Kind::onehot)
      jb["onehot"] = {{"categories", b.onehot.categories},
                      {"drop_first", b.onehot.drop_first},
                      {"missing_indicator", b.onehot.missing_indicator}};
    blocks.push_back(std::move(jb));
  }
  return json{{"preset", m.preset == PrepPreset::blog ? "blog" : "standard"},
              {"unknown", m.unknown == UnknownPolicy::error ? "error" : "missing"},
              {"blocks", std::move(blocks)},
              {"feature_names", m.feature_names},
              {"power",
               {{"lambdas", m.power.lambdas},
                {"standardize", m.power.standardize},
                {"mean", m.power.scaler.mean},
                {"scale", m.power.scaler.scale}}}};
}

PrepModel prep_from_json(const json& j) {
  PrepModel m;
  const std::string preset = get<std::string>(j, "preset", "prep");
  if (preset != "blog" && preset != "standard") throw ModelFormatError("model file: prep.preset must be blog or standard");
  m.preset = preset == "blog" ? PrepPreset::blog : PrepPreset::standard;
  m.unknown = get<std::string>(j, "unknown", "prep") == "error" ? UnknownPolicy::error : UnknownPolicy::missing;
  m.feature_names = get<std::vector<std::string>>(j, "feature_names", "prep");
  for (const auto& jb : field(j, "blocks", "prep")) {
    FeatureBlock b;
    b.kind = kind_from(get<std::string>(jb, "kind", "prep.blocks[]"));
    b.column = get<std::string>(jb, "column", "prep.blocks[]");
    b.first_feature = get<std::size_t>(jb, "first_feature", "prep.blocks[]");
    b.n_features = get<std::size_t>(jb, "n_features", "prep.blocks[]");
    b.impute = get<double>(jb, "impute", "prep.blocks[]");
    if (b.n_features > m.feature_names.size() || b.first_feature > m.feature_names.size() - b.n_features)
      throw ModelFormatError(fmt::format("model file: feature block '{}' lies outside the feature list", b.column));
    if (b.kind == FeatureBlock::Kind::ordinal_power) {
      const json& o = field(jb, "ordinal", "prep.blocks[]");
      b.ordinal.column = b.column;
      b.ordinal.numeric = get<bool>(o, "numeric", "prep.blocks[].ordinal");
      if (b.ordinal.numeric)
        b.ordinal.number_categories = get<std::vector<double>>(o, "categories", "prep.blocks[].ordinal");
      else
        b.ordinal.categories = get<std::vector<std::string>>(o, "categories", "prep.blocks[].ordinal");
    }
    if (b.kind == FeatureBlock::Kind::onehot) {
      b.onehot.column = b.column;
      const json& o = field(jb, "onehot", "prep.blocks[]");
      b.onehot.categories = get<std::vector<std::string>>(o, "categories", "prep.blocks[].onehot");
      b.onehot.drop_first = get<bool>(o, "drop_first", "prep.blocks[].onehot");
      b.onehot.missing_indicator = get<bool>(o, "missing_indicator", "prep.blocks[].onehot");
      if (b.onehot.size() != b.n_features)
        throw ModelFormatError(fmt::format("model file: one-hot block '{}' has {} categories for {} features", b.column,
                                           b.onehot.categories.size(), b.n_features));
    }
    m.blocks.push_back(std::move(b));
  }
  const json& p = field(j, "power", "prep");
  m.power.lambdas = get<std::vector<double>>(p, "lambdas", "prep.power");
  m.power.standardize = get<bool>(p, "standardize", "prep.power");
  m.power.scaler.mean = get<std::vector<double>>(p, "mean", "prep.power");
  m.power.scaler.scale = get<std::vector<double>>(p, "scale", "prep.power");
  const std::size_t p_out = m.feature_names.size();
  if (m.power.lambdas.size() != p_out || (m.power.standardize && (m.power.scaler.mean.size() != p_out ||
                                                                   m.power.scaler.scale.size() != p_out)))
    throw ModelFormatError("model file: prep.power does not match the number of features");
  return m;
}

json ecod_to_json(const EcodModel& m) {
  json columns = json::array();
  for (std::size_t j = 0; j < m.n_features(); ++j) {
    const EcodColumn& c = m.column(j);
    std::vector<std::uint64_t> counts(c.values.size());
    for (std::size_t k = 0; k < counts.size(); ++k) counts[k] = c.count(k);
    columns.push_back({{"values", doubles_to_json(c.values.data(), c.values.size())}, {"counts", std::move(counts)}});
  }
  return json{{"contamination", m.contamination()},
              {"threshold", m.threshold()},
              {"skew_sign", m.skew_sign()},
              {"n_train", m.n_train()},
              {"columns", std::move(columns)}};
}

EcodModel ecod_from_json(const json& j, int version) {
  auto skew = get<std::vector<int>>(j, "skew_sign", "outliers");
  const auto threshold = get<double>(j, "threshold", "outliers");
  const auto contamination = get<double>(j, "contamination", "outliers");
  if (version < 2) {
    // Files of version 1 hold every training column sorted.
    MatrixD sorted = matrix_from_json(field(j, "sorted_columns", "outliers"), "outliers.sorted_columns");
    if (skew.size() != sorted.rows()) throw ModelFormatError("model file: outliers.skew_sign does not match the features");
    return EcodModel::from_sorted_columns(sorted.view(), std::move(skew), threshold, contamination);
  }
  const auto n_train = get<std::uint64_t>(j, "n_train", "outliers");
  const json& columns = field(j, "columns", "outliers");
  if (!columns.is_array()) throw ModelFormatError("model file: outliers.columns has the wrong type");
  if (columns.size() != skew.size()) throw ModelFormatError("model file: outliers.skew_sign does not match the features");
  std::vector<std::vector<double>> values;
  std::vector<std::vector<std::uint64_t>> counts;
  for (const json& c : columns) {
    values.push_back(doubles_from_json(field(c, "values", "outliers.columns[]"), "outliers.columns[].values"));
    counts.push_back(get<std::vector<std::uint64_t>>(c, "counts", "outliers.columns[]"));
  }
  return EcodModel::from_parts(std::move(values), std::move(counts), n_train, std::move(skew), threshold,
                               contamination);
}

std::vector<std::int32_t> predict_nearest_center(ViewD centers, ViewD x, const std::string& origin) {
  if (centers.cols() != x.cols())
    throw ModelFormatError(
        fmt::format("{}: centres have {} dimensions, the data gives {}", origin, centers.cols(), x.cols()));
  KMeansModel<double> km;
  km.centers = MatrixD(centers.rows(), centers.cols());
  std::copy(centers.data(), centers.data() + centers.rows() * centers.cols(), km.centers.data());
  return km.predict(x);
}

json mixed_plan_to_json(const MixedPlan& plan) {
  json num_cols = json::array(), cat_cols = json::array();
  for (std::size_t c = 0; c < plan.numeric_names.size(); ++c)
    num_cols.push_back({{"name", plan.numeric_names[c]}, {"impute", plan.impute[c]}});
  for (std::size_t c = 0; c < plan.categorical_names.size(); ++c)
    cat_cols.push_back({{"name", plan.categorical_names[c]},
                        {"levels", plan.levels[c]},
                        {"missing_level", static_cast<bool>(plan.missing_level[c])}});
  json j = {{"numeric", {{"columns", num_cols},
                         {"lambdas", plan.power.lambdas},
                         {"mean", plan.power.scaler.mean},
                         {"scale", plan.power.scaler.scale}}},
            {"categorical", cat_cols}};
  // Written only when off (--numeric none), so default model files stay as they were.
  if (!plan.power.standardize) j["numeric"]["standardize"] = false;
  return j;
}

MixedPlan mixed_plan_from_json(const json& j, const std::string& file) {
  MixedPlan plan;
  const json& num = field(j, "numeric", "kprototypes");
  plan.power.lambdas = doubles_from_json(field(num, "lambdas", "kprototypes.numeric"), "kprototypes.numeric.lambdas");
  plan.power.scaler.mean = doubles_from_json(field(num, "mean", "kprototypes.numeric"), "kprototypes.numeric.mean");
  plan.power.scaler.scale = doubles_from_json(field(num, "scale", "kprototypes.numeric"), "kprototypes.numeric.scale");
  for (const json& c : field(num, "columns", "kprototypes.numeric")) {
    plan.numeric_names.push_back(get<std::string>(c, "name", "kprototypes.numeric.columns[]"));
    plan.impute.push_back(get<double>(c, "impute", "kprototypes.numeric.columns[]"));
  }
  plan.power.standardize = num.contains("standardize") ? get<bool>(num, "standardize", "kprototypes.numeric") : true;
  const std::size_t p = plan.numeric_names.size(), scaled = plan.power.standardize ? p : 0;
  if (plan.power.lambdas.size() != p || plan.power.scaler.mean.size() != scaled || plan.power.scaler.scale.size() != scaled)
    throw ModelFormatError(fmt::format("{}: kprototypes numeric part is inconsistent", file));
  for (const json& c : field(j, "categorical", "kprototypes")) {
    plan.categorical_names.push_back(get<std::string>(c, "name", "kprototypes.categorical[]"));
    plan.levels.push_back(get<std::vector<std::string>>(c, "levels", "kprototypes.categorical[]"));
    plan.missing_level.push_back(get<bool>(c, "missing_level", "kprototypes.categorical[]"));
  }
  return plan;
}

}  // namespace segmenta::detail
