// The surrogate classifier: XGBoost through its C API, plus the same trees in
// segmenta's layout for the native TreeSHAP engine.
#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "explain/treeshap.hpp"
#include "segmenta/explain.hpp"

namespace segmenta {

namespace {

using explain_detail::Forest;

void check(int rc, const char* call) {
  if (rc != 0) throw Error(fmt::format("xgboost: {} failed: {}", call, XGBGetLastError()));
}

class DMatrix {
 public:
  DMatrix() = default;
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  DMatrix(DMatrix&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  DMatrix& operator=(DMatrix&&) = delete;
  ~DMatrix() {
    if (handle_) XGDMatrixFree(handle_);
  }
  DMatrixHandle* out() noexcept { return &handle_; }
  DMatrixHandle get() const noexcept { return handle_; }

 private:
  DMatrixHandle handle_ = nullptr;
};

// Rows of x as the row-major float matrix XGBoost stores (it works in single
// precision; the conversion happens here once instead of inside XGBoost).
DMatrix make_dmatrix(ViewD x, const std::vector<std::size_t>* rows = nullptr) {
  const std::size_t n = rows ? rows->size() : x.rows(), p = x.cols();
  std::vector<float> buf(n * p);
  for (std::size_t i = 0; i < n; ++i) {
    const double* src = x.row(rows ? (*rows)[i] : i);
    for (std::size_t j = 0; j < p; ++j) buf[i * p + j] = static_cast<float>(src[j]);
  }
  DMatrix d;
  check(XGDMatrixCreateFromMat_omp(buf.data(), static_cast<bst_ulong>(n), static_cast<bst_ulong>(p),
                                   std::numeric_limits<float>::quiet_NaN(), d.out(), num_threads()),
        "XGDMatrixCreateFromMat_omp");
  return d;
}

void validate_features(ViewD x, std::size_t p, const char* what) {
  if (x.cols() != p)
    throw InvalidArgument(fmt::format("{}: expected {} feature columns, got {}", what, p, x.cols()));
  for (std::size_t i = 0; i < x.rows(); ++i) {
    const double* r = x.row(i);
    for (std::size_t j = 0; j < p; ++j) {
      const double v = r[j];
      if (std::isinf(v) || (std::isfinite(v) && std::fabs(v) > static_cast<double>(FLT_MAX)))
        throw InvalidArgument(fmt::format("{}: value {} at row {}, column {} is not a finite float (NaN = missing is allowed)",
                                          what, format_double(v), i, j));
    }
  }
}

std::string param_text(double v) { return format_double(v); }

class Booster {
 public:
  Booster() { check(XGBoosterCreate(nullptr, 0, &handle_), "XGBoosterCreate"); }
  explicit Booster(const DMatrix& train) {
    DMatrixHandle cache[] = {train.get()};
    check(XGBoosterCreate(cache, 1, &handle_), "XGBoosterCreate");
  }
  Booster(const Booster&) = delete;
  Booster& operator=(const Booster&) = delete;
  ~Booster() {
    if (handle_) XGBoosterFree(handle_);
  }
  BoosterHandle get() const noexcept { return handle_; }
  void set(const std::string& key, const std::string& value) {
    check(XGBoosterSetParam(handle_, key.c_str(), value.c_str()), "XGBoosterSetParam");
  }
  // The model as "json" or "ubj" (universal binary JSON: a third smaller, three times
  // faster to load).
  std::string save(const char* format) const {
    bst_ulong len = 0;
    const char* data = nullptr;
    const std::string config = fmt::format(R"({{"format": "{}"}})", format);
    check(XGBoosterSaveModelToBuffer(handle_, config.c_str(), &len, &data), "XGBoosterSaveModelToBuffer");
    return std::string(data, static_cast<std::size_t>(len));
  }
  // XGBoost's prediction of the given type (1 = margin, 2 = contributions) as
  // doubles, flattened in XGBoost's strict shape.
  std::vector<double> predict(ViewD x, int type) const {
    DMatrix d = make_dmatrix(x);
    const std::string config =
        fmt::format(R"({{"type": {}, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": true}})",
                    type);
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    check(XGBoosterPredictFromDMatrix(handle_, d.get(), config.c_str(), &shape, &dim, &result),
          "XGBoosterPredictFromDMatrix");
    std::size_t size = 1;
    for (bst_ulong a = 0; a < dim; ++a) size *= static_cast<std::size_t>(shape[a]);
    return std::vector<double>(result, result + size);
  }

 private:
  BoosterHandle handle_ = nullptr;
};

}  // namespace

// The model keeps XGBoost's serialised booster, not a live handle: a booster freed
// during static destruction (a model held in a static) crashes inside XGBoost, whose
// own globals are gone by then. XGBoost predictions load a short-lived booster.
struct SurrogateModel::Impl {
  std::string ubj, json;
  std::vector<std::int32_t> classes;
  std::size_t p = 0;
  bool binary = false;
  Forest forest;

  std::size_t k() const noexcept { return classes.size(); }

  // XGBoost's prediction of the given type (1 = margin, 2 = contributions) as
  // doubles, in XGBoost's own shape (binary models have one output).
  std::vector<double> predict(ViewD x, int type) const {
    Booster booster;
    check(XGBoosterLoadModelFromBuffer(booster.get(), ubj.data(), static_cast<bst_ulong>(ubj.size())),
          "XGBoosterLoadModelFromBuffer");
    // Per-row work: identical results for any thread count.
    booster.set("nthread", std::to_string(num_threads()));
    return checked(booster.predict(x, type), x.rows(), type);
  }

  // The trees of `json` in segmenta's layout, for the native engine.
  void parse_forest() {
    double base_score = 0.0;
    try {
      const auto parsed = nlohmann::json::parse(json);
      base_score = std::stod(parsed.at("learner").at("learner_model_param").at("base_score").get<std::string>());
    } catch (const std::exception& e) {
      throw ModelFormatError(std::string("xgboost model: no base_score: ") + e.what());
    }
    const double base_margin = binary ? std::log(base_score / (1.0 - base_score)) : base_score;
    forest = explain_detail::parse_xgboost_json(json, base_margin);
    if (forest.n_features != p || forest.n_groups != (binary ? 1u : k()))
      throw ModelFormatError("xgboost model: unexpected number of features or outputs");
  }

  std::vector<double> checked(std::vector<double> v, std::size_t n, int type) const {
    const std::size_t groups = binary ? 1 : k();
    const std::size_t expected = n * groups * (type == 2 ? p + 1 : 1);
    if (v.size() != expected)
      throw Error(fmt::format("xgboost: prediction of type {} returned {} values, expected {}", type, v.size(), expected));
    return v;
  }
};

std::size_t SurrogateModel::n_classes() const { return impl().k(); }
std::size_t SurrogateModel::n_features() const { return impl().p; }
const std::vector<std::int32_t>& SurrogateModel::classes() const { return impl().classes; }
std::size_t SurrogateModel::n_trees() const { return impl().forest.trees.size(); }

const SurrogateModel::Impl& SurrogateModel::impl() const {
  if (!impl_) throw NotFitted("surrogate model: not fitted");
  return *impl_;
}

MatrixD SurrogateModel::margins(ViewD x, ShapEngine engine) const {
  const Impl& m = impl();
  validate_features(x, m.p, "x");
  const std::size_t n = x.rows(), k = m.k();
  MatrixD out(n, k);
  if (n == 0) return out;
  std::vector<double> raw;
  if (engine == ShapEngine::native) {
    const MatrixD native = explain_detail::predict_margins(m.forest, x);
    raw.assign(native.data(), native.data() + native.size());
  } else {
    raw = m.predict(x, 1);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (m.binary) {
      out(i, 0) = -raw[i];
      out(i, 1) = raw[i];
    } else {
      for (std::size_t c = 0; c < k; ++c) out(i, c) = raw[i * k + c];
    }
  }
  return out;
}

std::vector<std::int32_t> SurrogateModel::predict(ViewD x) const {
  const MatrixD mg = margins(x);
  const auto& classes = impl().classes;
  std::vector<std::int32_t> out(mg.rows());
  for (std::size_t i = 0; i < mg.rows(); ++i) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < mg.cols(); ++c)
      if (mg(i, c) > mg(i, best)) best = c;
    out[i] = classes[best];
  }
  return out;
}

std::vector<double> SurrogateModel::bias() const {
  const Impl& m = impl();
  const auto e = m.forest.expected_values();
  if (m.binary) return {-e[0], e[0]};
  return e;
}

MatrixD SurrogateModel::contributions(ViewD x, ShapEngine engine) const {
  const Impl& m = impl();
  validate_features(x, m.p, "x");
  const std::size_t n = x.rows(), p = m.p, width = p + 1, k = m.k();
  MatrixD raw;
  if (engine == ShapEngine::native) {
    raw = explain_detail::contributions(m.forest, x);
  } else {
    raw = MatrixD(n, (m.binary ? 1 : k) * width);
    if (n > 0) {
      const auto v = m.predict(x, 2);
      std::copy(v.begin(), v.end(), raw.data());
    }
  }
  if (!m.binary) return raw;
  MatrixD out(n, 2 * width);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < width; ++j) {
      out(i, j) = -raw(i, j);
      out(i, width + j) = raw(i, j);
    }
  return out;
}

std::string SurrogateModel::to_json() const { return impl().json; }
std::string SurrogateModel::to_ubj() const { return impl().ubj; }

namespace {

// The bytes of to_bytes: a tag, p, K, the K class labels, then the JSON and the UBJ
// models each after its length (integers as 8 little-endian bytes, labels as 4).
constexpr std::string_view kBytesTag = "segmenta-surrogate-1";

void put_uint(std::string& out, std::uint64_t v) {
  for (int b = 0; b < 8; ++b) out.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
}

struct ByteReader {
  std::string_view in;
  std::uint64_t uint(std::size_t bytes = 8) {
    if (in.size() < bytes) throw ModelFormatError("surrogate bytes: truncated");
    std::uint64_t v = 0;
    for (std::size_t b = 0; b < bytes; ++b) v |= std::uint64_t{static_cast<unsigned char>(in[b])} << (8 * b);
    in.remove_prefix(bytes);
    return v;
  }
  std::string text() {
    const std::uint64_t n = uint();
    if (in.size() < n) throw ModelFormatError("surrogate bytes: truncated");
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace

std::string SurrogateModel::to_bytes() const {
  const Impl& m = impl();
  std::string out(kBytesTag);
  put_uint(out, m.p);
  put_uint(out, m.classes.size());
  for (const std::int32_t c : m.classes)
    for (int b = 0; b < 4; ++b) out.push_back(static_cast<char>((static_cast<std::uint32_t>(c) >> (8 * b)) & 0xff));
  put_uint(out, m.json.size());
  out += m.json;
  put_uint(out, m.ubj.size());
  out += m.ubj;
  return out;
}

SurrogateModel SurrogateModel::from_bytes(std::string_view bytes) {
  if (bytes.substr(0, kBytesTag.size()) != kBytesTag) throw ModelFormatError("surrogate bytes: not a surrogate model");
  ByteReader r{bytes.substr(kBytesTag.size())};
  auto impl = std::make_shared<Impl>();
  impl->p = r.uint();
  const std::uint64_t k = r.uint();
  if (k < 2 || k > r.in.size() / 4) throw ModelFormatError("surrogate bytes: bad class count");
  for (std::uint64_t c = 0; c < k; ++c)
    impl->classes.push_back(static_cast<std::int32_t>(static_cast<std::uint32_t>(r.uint(4))));
  impl->binary = k == 2;
  impl->json = r.text();
  impl->ubj = r.text();
  if (!r.in.empty()) throw ModelFormatError("surrogate bytes: trailing bytes");
  impl->parse_forest();
  return SurrogateModel(impl);
}

SurrogateModel fit_surrogate(ViewD x, std::span<const std::int32_t> labels, const SurrogateParams& params,
                             Diagnostics* diag) {
  if (labels.size() != x.rows())
    throw InvalidArgument(fmt::format("labels: {} labels for {} rows of x", labels.size(), x.rows()));
  if (x.cols() == 0) throw InvalidArgument("x: no feature columns");
  if (params.n_estimators < 1) throw InvalidArgument("n_estimators: must be >= 1");
  if (!(params.learning_rate > 0.0) || !std::isfinite(params.learning_rate))
    throw InvalidArgument("learning_rate: must be a positive number");
  if (params.max_leaves == 1) throw InvalidArgument("max_leaves: must be 0 (no limit) or >= 2");
  if (params.max_leaves == 0 && params.max_depth == 0)
    throw InvalidArgument("max_leaves: 0 (no limit) needs a max_depth > 0");
  if (params.max_bin < 2) throw InvalidArgument("max_bin: must be >= 2");
  if (!(params.min_child_weight >= 0.0) || !std::isfinite(params.min_child_weight))
    throw InvalidArgument("min_child_weight: must be >= 0");
  if (!(params.reg_lambda >= 0.0) || !std::isfinite(params.reg_lambda))
    throw InvalidArgument("reg_lambda: must be >= 0");
  if (!(params.subsample > 0.0 && params.subsample <= 1.0)) throw InvalidArgument("subsample: must be in (0, 1]");
  if (!(params.colsample_bytree > 0.0 && params.colsample_bytree <= 1.0))
    throw InvalidArgument("colsample_bytree: must be in (0, 1]");
  if (params.fit_threads < 0) throw InvalidArgument("fit_threads: must be >= 0");

  std::vector<std::size_t> rows;
  std::vector<std::int32_t> classes;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < -1)
      throw InvalidArgument(fmt::format("labels: {} at row {} (segments are >= 0, -1 = not clustered)", labels[i], i));
    if (labels[i] >= 0) {
      rows.push_back(i);
      classes.push_back(labels[i]);
    }
  }
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  if (classes.size() < 2)
    throw InvalidArgument(fmt::format("labels: the surrogate needs at least 2 segments, found {}", classes.size()));
  validate_features(x, x.cols(), "x");

  auto impl = std::make_shared<SurrogateModel::Impl>();
  impl->classes = classes;
  impl->p = x.cols();
  impl->binary = classes.size() == 2;

  {
    DMatrix train = make_dmatrix(x, &rows);
    std::vector<float> y(rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r)
      y[r] = static_cast<float>(std::lower_bound(classes.begin(), classes.end(), labels[rows[r]]) - classes.begin());
    check(XGDMatrixSetFloatInfo(train.get(), "label", y.data(), static_cast<bst_ulong>(y.size())),
          "XGDMatrixSetFloatInfo");
    Booster booster(train);
    const int fit_threads = params.fit_threads == 0 ? num_threads() : params.fit_threads;
    const std::vector<std::pair<std::string, std::string>> settings = {
        {"validate_parameters", "1"},
        {"verbosity", "0"},
        {"objective", impl->binary ? "binary:logistic" : "multi:softprob"},
        {"num_class", impl->binary ? "0" : std::to_string(classes.size())},
        {"base_score", "0.5"},
        {"booster", "gbtree"},
        {"tree_method", "hist"},
        {"grow_policy", "lossguide"},
        {"max_leaves", std::to_string(params.max_leaves)},
        {"max_depth", std::to_string(params.max_depth)},
        {"max_bin", std::to_string(params.max_bin)},
        {"eta", param_text(params.learning_rate)},
        {"min_child_weight", param_text(params.min_child_weight)},
        {"lambda", param_text(params.reg_lambda)},
        {"subsample", param_text(params.subsample)},
        {"colsample_bytree", param_text(params.colsample_bytree)},
        {"seed", std::to_string(params.random_state % (std::uint64_t{1} << 31))},
        {"nthread", std::to_string(fit_threads)},
    };
    for (const auto& [key, value] : settings) booster.set(key, value);
    for (std::size_t it = 0; it < params.n_estimators; ++it)
      check(XGBoosterUpdateOneIter(booster.get(), static_cast<int>(it), train.get()), "XGBoosterUpdateOneIter");
    impl->json = booster.save("json");
    impl->ubj = booster.save("ubj");

    impl->parse_forest();

    // The parsed trees must reproduce XGBoost's own margins; this guards the native
    // engine against a change of XGBoost's model format.
    booster.set("nthread", std::to_string(num_threads()));
    const std::size_t probe = std::min<std::size_t>(rows.size(), 256);
    std::vector<std::size_t> probe_rows(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(probe));
    const MatrixD px = take_rows(x, std::span<const std::size_t>(probe_rows));
    const auto xgb = impl->checked(booster.predict(px, 1), probe, 1);
    const MatrixD native = explain_detail::predict_margins(impl->forest, px);
    for (std::size_t i = 0; i < native.size(); ++i) {
      const double a = native.data()[i], b = xgb[i];
      if (!(std::fabs(a - b) <= 1e-4 * std::max(1.0, std::fabs(b))))
        throw ModelFormatError(fmt::format("xgboost model: parsed trees give margin {} where XGBoost gives {}",
                                           format_double(a), format_double(b)));
    }
  }
  if (diag)
    diag->info("explain", "surrogate_fit",
               fmt::format("surrogate: {} trees on {} rows x {} features, {} segments", impl->forest.trees.size(),
                           rows.size(), impl->p, classes.size()));
  return SurrogateModel(impl);
}

}  // namespace segmenta
