#include "explain/treeshap.hpp"

#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <utility>
#include <nlohmann/json.hpp>

namespace segmenta::explain_detail {

namespace {

// Row blocks of the native engine. Larger blocks share more branch patterns (on the
// bank data, 40,691 rows: 4096-row blocks cost 1.9 s of CPU, 8192 1.4 s, 16384 1.2 s)
// but give fewer tasks; 8192 keeps the per-task buffers around 1 MB.
constexpr std::size_t kRowBlock = 8192;

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

void finalize(Tree& t) {
  const std::size_t n = t.size();
  if (n == 0) bad_model("empty tree");
  if (t.right.size() != n || t.feature.size() != n || t.threshold.size() != n || t.default_left.size() != n ||
      t.value.size() != n || t.cover.size() != n)
    bad_model("tree arrays differ in length");
  t.mean.assign(n, 0.0);
  t.internal_index.assign(n, -1);
  t.internal_nodes.clear();
  t.depth = 0;
  // Iterative preorder walk: validates links (each node reached once) and records depths.
  std::vector<std::uint8_t> seen(n, 0);
  std::vector<std::pair<std::int32_t, int>> stack{{0, 0}};
  std::vector<std::int32_t> order;
  while (!stack.empty()) {
    const auto [node, d] = stack.back();
    stack.pop_back();
    const auto u = static_cast<std::size_t>(node);
    if (seen[u]) bad_model("tree nodes do not form a tree");
    seen[u] = 1;
    order.push_back(node);
    t.depth = std::max(t.depth, d);
    const bool left_leaf = t.left[u] < 0, right_leaf = t.right[u] < 0;
    if (left_leaf != right_leaf) bad_model("a node has exactly one child");
    if (left_leaf) continue;
    for (const std::int32_t c : {t.left[u], t.right[u]})
      if (c <= 0 || static_cast<std::size_t>(c) >= n) bad_model("child index out of range");
    if (t.feature[u] < 0) bad_model("negative split feature");
    t.internal_index[u] = static_cast<std::int32_t>(t.internal_nodes.size());
    t.internal_nodes.push_back(node);
    stack.push_back({t.right[u], d + 1});
    stack.push_back({t.left[u], d + 1});
  }
  // Children come after their parent in preorder, so a reverse sweep sees them first.
  // Like XGBoost, the node's own hessian sum is the denominator.
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const auto u = static_cast<std::size_t>(*it);
    if (t.left[u] < 0) {
      t.mean[u] = t.value[u];
    } else {
      const auto l = static_cast<std::size_t>(t.left[u]), r = static_cast<std::size_t>(t.right[u]);
      const double c = t.cover[u];
      t.mean[u] = c > 0.0 ? (t.mean[l] * t.cover[l] + t.mean[r] * t.cover[r]) / c : 0.0;
    }
  }
}

std::vector<double> Forest::expected_values() const {
  std::vector<double> e = base_margin;
  for (const Tree& t : trees) e[static_cast<std::size_t>(t.group)] += t.mean[0];
  return e;
}

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

namespace {

// Column-major single-precision copy of rows [begin, begin + m) of x: XGBoost
// compares floats, and one split then compares a contiguous run of values.
std::vector<float> float_columns(ViewD x, std::size_t begin, std::size_t m) {
  const std::size_t p = x.cols();
  std::vector<float> cols(p * m);
  for (std::size_t i = 0; i < m; ++i) {
    const double* row = x.row(begin + i);
    for (std::size_t j = 0; j < p; ++j) cols[j * m + i] = static_cast<float>(row[j]);
  }
  return cols;
}

// Bit k of masks[i] = row i goes left at the tree's k-th internal node (at most 64).
void branch_masks(const Tree& t, const float* cols, std::size_t m, std::uint64_t* masks) {
  std::fill(masks, masks + m, 0);
  for (std::size_t k = 0; k < t.internal_nodes.size(); ++k) {
    const auto u = static_cast<std::size_t>(t.internal_nodes[k]);
    const float* v = cols + static_cast<std::size_t>(t.feature[u]) * m;
    const float thr = t.threshold[u];
    // !(v >= thr) is v < thr for numbers and true for NaN: missing goes left.
    if (t.default_left[u]) {
      for (std::size_t i = 0; i < m; ++i) masks[i] |= static_cast<std::uint64_t>(!(v[i] >= thr)) << k;
    } else {
      for (std::size_t i = 0; i < m; ++i) masks[i] |= static_cast<std::uint64_t>(v[i] < thr) << k;
    }
  }
}

// Each leaf's path as (internal nodes on it, those where it goes left): a row with
// branch mask b reaches the leaf iff (b ^ want) & care == 0.
struct LeafPath {
  std::uint64_t care, want;
  double value;
};

std::vector<LeafPath> leaf_paths(const Tree& t) {
  std::vector<LeafPath> out;
  struct Item {
    std::int32_t node;
    std::uint64_t care, want;
  };
  std::vector<Item> stack{{0, 0, 0}};
  while (!stack.empty()) {
    const Item it = stack.back();
    stack.pop_back();
    const auto u = static_cast<std::size_t>(it.node);
    if (t.left[u] < 0) {
      out.push_back({it.care, it.want, t.value[u]});
      continue;
    }
    const std::uint64_t bit = std::uint64_t{1} << t.internal_index[u];
    stack.push_back({t.right[u], it.care | bit, it.want});
    stack.push_back({t.left[u], it.care | bit, it.want | bit});
  }
  return out;
}

}  // namespace

MatrixD predict_margins(const Forest& forest, ViewD x) {
  const std::size_t n = x.rows(), groups = forest.n_groups;
  MatrixD out(n, groups);
  std::vector<std::vector<LeafPath>> paths(forest.trees.size());
  for (std::size_t t = 0; t < forest.trees.size(); ++t)
    if (forest.trees[t].internal_nodes.size() <= 64) paths[t] = leaf_paths(forest.trees[t]);
  parallel_blocks(n, kRowBlock, [&](std::size_t begin, std::size_t end, std::size_t) {
    const std::size_t m = end - begin;
    const std::vector<float> cols = float_columns(x, begin, m);
    std::vector<std::uint64_t> masks(m);
    std::vector<double> acc(groups * m);
    for (std::size_t g = 0; g < groups; ++g) std::fill(acc.begin() + g * m, acc.begin() + (g + 1) * m, forest.base_margin[g]);
    for (std::size_t ti = 0; ti < forest.trees.size(); ++ti) {
      const Tree& t = forest.trees[ti];
      double* a = acc.data() + static_cast<std::size_t>(t.group) * m;
      if (t.internal_nodes.size() > 64) {
        for (std::size_t i = 0; i < m; ++i) {
          std::size_t u = 0;
          while (t.left[u] >= 0) {
            const bool l = goes_left(t, u, static_cast<double>(cols[static_cast<std::size_t>(t.feature[u]) * m + i]));
            u = static_cast<std::size_t>(l ? t.left[u] : t.right[u]);
          }
          a[i] += t.value[u];
        }
        continue;
      }
      branch_masks(t, cols.data(), m, masks.data());
      // Every leaf is tested against every row (adding 0 leaves a sum unchanged): no
      // data-dependent branches, and the loop vectorises.
      const std::uint64_t* __restrict mk = masks.data();
      double* __restrict sum = a;
      for (const LeafPath& leaf : paths[ti]) {
        const std::uint64_t want = leaf.want, care = leaf.care;
        const double value = leaf.value;
        for (std::size_t i = 0; i < m; ++i) sum[i] += ((mk[i] ^ want) & care) == 0 ? value : 0.0;
      }
    }
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t g = 0; g < groups; ++g) out(begin + i, g) = acc[g * m + i];
  });
  return out;
}

namespace {

std::size_t max_path_capacity(const Forest& f) {
  std::size_t c = 1;
  for (const Tree& t : f.trees) c = std::max(c, path_capacity(t));
  return c;
}

void set_bias(const Forest& f, MatrixD& out) {
  const std::size_t p = f.n_features;
  const auto e = f.expected_values();
  for (std::size_t i = 0; i < out.rows(); ++i)
    for (std::size_t g = 0; g < f.n_groups; ++g) out(i, g * (p + 1) + p) = e[g];
}

}  // namespace

MatrixD contributions_reference(const Forest& forest, ViewD x) {
  const std::size_t p = forest.n_features, width = p + 1;
  MatrixD out(x.rows(), forest.n_groups * width, 0.0);
  const std::size_t capacity = max_path_capacity(forest);
  parallel_blocks(x.rows(), kRowBlock, [&](std::size_t begin, std::size_t end, std::size_t) {
    std::vector<PathElement> path(capacity);
    std::vector<double> phi(p);
    for (std::size_t i = begin; i < end; ++i) {
      const double* row = x.row(i);
      for (const Tree& t : forest.trees) {
        std::fill(phi.begin(), phi.end(), 0.0);
        tree_shap(
            t, [&](std::size_t u) { return goes_left(t, u, row[static_cast<std::size_t>(t.feature[u])]); },
            phi.data(), path.data());
        double* dst = out.row(i) + static_cast<std::size_t>(t.group) * width;
        for (std::size_t j = 0; j < p; ++j) dst[j] += phi[j];
      }
    }
  });
  set_bias(forest, out);
  return out;
}

namespace {

// Open-addressing map from a 64-bit branch mask to a dense slot number, cleared
// cheaply between trees by a generation stamp.
class MaskTable {
 public:
  explicit MaskTable(std::size_t max_keys) {
    std::size_t cap = 16;
    while (cap < 2 * max_keys) cap <<= 1;
    keys_.resize(cap);
    slots_.resize(cap);
    stamp_.assign(cap, 0);
    mask_ = cap - 1;
  }
  void clear() noexcept {
    if (++generation_ == 0) {
      std::fill(stamp_.begin(), stamp_.end(), 0u);
      generation_ = 1;
    }
    size_ = 0;
  }
  // Slot of `key`, inserting it with the next slot number if new.
  std::uint32_t find_or_insert(std::uint64_t key, bool& inserted) noexcept {
    std::size_t h = static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> 20) & mask_;
    while (true) {
      if (stamp_[h] != generation_) {
        stamp_[h] = generation_;
        keys_[h] = key;
        slots_[h] = static_cast<std::uint32_t>(size_++);
        inserted = true;
        return slots_[h];
      }
      if (keys_[h] == key) {
        inserted = false;
        return slots_[h];
      }
      h = (h + 1) & mask_;
    }
  }

 private:
  std::vector<std::uint64_t> keys_;
  std::vector<std::uint32_t> slots_;
  std::vector<std::uint32_t> stamp_;
  std::uint32_t generation_ = 0;
  std::size_t mask_ = 0, size_ = 0;
};

// (P_q(x), P_{q-1}(x)) by the three-term recurrence of the Legendre polynomials.
std::pair<double, double> legendre(int q, double x) {
  double previous = 1.0, current = x;
  for (int k = 2; k <= q; ++k) {
    const double next = ((2.0 * k - 1.0) * x * current - (k - 1.0) * previous) / k;
    previous = current;
    current = next;
  }
  return {current, previous};
}

}  // namespace

Quadrature gauss_legendre(int q) {
  Quadrature rule;
  rule.t.resize(static_cast<std::size_t>(q));
  rule.w.resize(static_cast<std::size_t>(q));
  const double pi = 3.141592653589793238462643383279502884;
  auto derivative = [q](double x) {
    const auto [pq, pq1] = legendre(q, x);
    return q * (x * pq - pq1) / (x * x - 1.0);
  };
  for (int i = 0; i < q; ++i) {
    // Newton's method on P_q from the classical initial guess of its i-th root.
    double x = std::cos(pi * (i + 0.75) / (q + 0.5));
    for (int it = 0; it < 100; ++it) {
      const double step = legendre(q, x).first / derivative(x);
      x -= step;
      if (std::fabs(step) < 1e-16) break;
    }
    const double d = derivative(x);
    // Nodes and weights mapped from [-1, 1] to [0, 1].
    rule.t[static_cast<std::size_t>(i)] = 0.5 * (1.0 - x);
    rule.w[static_cast<std::size_t>(i)] = 1.0 / ((1.0 - x * x) * d * d);
  }
  return rule;
}

namespace {

// A tree as a list of leaves, each with its path's distinct features.
struct LeafForm {
  struct Leaf {
    double value;
    std::uint32_t first;  // first feature slot
    std::uint32_t d;      // distinct features on the path
  };
  std::vector<Leaf> leaves;
  // Per feature slot: the feature, its zero fraction, and which internal nodes of the
  // path split on it (care) and in which direction the path goes there (want: bit set =
  // left). The row's one fraction is 1 iff (mask ^ want) & care == 0.
  std::vector<std::int32_t> feature;
  std::vector<double> zero;
  std::vector<std::uint64_t> care, want;
  // Per feature slot and quadrature point r of the leaf's rule (ceil(d/2) points):
  // the factor z + (o - z) t_r for o = 0 and o = 1.
  std::vector<std::uint32_t> factor_offset;  // per leaf
  std::vector<double> factor;                // [(slot_in_leaf * q + r) * 2 + o]
  std::size_t max_d = 0;
  // Memo of leaf values per subset of satisfied path features (leaves with at most
  // kMemoMaxD features): entry s of leaf l has its stamp at stamp_base[l] + s and its
  // values at value_base[l] + s * entry width, the width being p (dense, all features,
  // for few features: one vector addition per leaf) or the leaf's d (sparse).
  // kNoMemo marks leaves evaluated every time.
  std::vector<std::uint32_t> stamp_base, value_base;
  std::size_t memo_entries = 0, memo_values = 0;
  std::size_t dense_width = 0;  // p when dense, 0 when sparse
};

// Features up to which memo entries are dense p-vectors.
constexpr std::size_t kDenseMaxP = 32;

// Memo entries per leaf: 2^d for d <= 10 (at most 2^10 x 32 doubles = 256 KB per leaf,
// allocated once per task but only touched where used).
constexpr std::uint32_t kMemoMaxD = 10;
constexpr std::uint32_t kNoMemo = 0xFFFFFFFFu;

LeafForm leaf_form(const Tree& t, const std::vector<Quadrature>& rules, std::size_t p) {
  LeafForm form;
  form.dense_width = p <= kDenseMaxP ? p : 0;
  struct Step {
    std::int32_t node;
    bool left;
  };
  std::vector<Step> path;
  // Depth-first walk with an explicit stack of (node, depth, direction taken into it).
  struct Item {
    std::int32_t node;
    int depth;
    bool left;
  };
  std::vector<Item> stack{{0, 0, false}};
  while (!stack.empty()) {
    const Item it = stack.back();
    stack.pop_back();
    path.resize(static_cast<std::size_t>(it.depth));
    if (it.depth > 0) path.back().left = it.left;
    const auto u = static_cast<std::size_t>(it.node);
    if (t.left[u] >= 0) {
      path.push_back({it.node, false});
      stack.push_back({t.right[u], it.depth + 1, false});
      stack.push_back({t.left[u], it.depth + 1, true});
      continue;
    }
    LeafForm::Leaf leaf{t.value[u], static_cast<std::uint32_t>(form.feature.size()), 0};
    for (std::size_t s = 0; s < path.size(); ++s) {
      const auto node = static_cast<std::size_t>(path[s].node);
      const auto child = static_cast<std::size_t>(path[s].left ? t.left[node] : t.right[node]);
      const double ratio = t.cover[node] > 0.0 ? t.cover[child] / t.cover[node] : 0.0;
      const std::uint64_t bit = std::uint64_t{1} << t.internal_index[node];
      std::size_t slot = leaf.first;
      while (slot < form.feature.size() && form.feature[slot] != t.feature[node]) ++slot;
      if (slot == form.feature.size()) {
        form.feature.push_back(t.feature[node]);
        form.zero.push_back(1.0);
        form.care.push_back(0);
        form.want.push_back(0);
      }
      form.zero[slot] *= ratio;
      form.care[slot] |= bit;
      if (path[s].left) form.want[slot] |= bit;
    }
    leaf.d = static_cast<std::uint32_t>(form.feature.size()) - leaf.first;
    form.max_d = std::max<std::size_t>(form.max_d, leaf.d);
    const std::size_t q = (leaf.d + 1) / 2;
    form.factor_offset.push_back(static_cast<std::uint32_t>(form.factor.size()));
    if (q > 0) {
      const Quadrature& rule = rules[q];
      for (std::uint32_t j = 0; j < leaf.d; ++j) {
        const double z = form.zero[leaf.first + j];
        for (std::size_t r = 0; r < q; ++r) {
          form.factor.push_back(z * (1.0 - rule.t[r]));
          form.factor.push_back(z + (1.0 - z) * rule.t[r]);
        }
      }
    }
    if (leaf.d <= kMemoMaxD) {
      form.stamp_base.push_back(static_cast<std::uint32_t>(form.memo_entries));
      form.value_base.push_back(static_cast<std::uint32_t>(form.memo_values));
      form.memo_entries += std::size_t{1} << leaf.d;
      form.memo_values += (std::size_t{1} << leaf.d) * (form.dense_width ? form.dense_width : leaf.d);
    } else {
      form.stamp_base.push_back(kNoMemo);
      form.value_base.push_back(kNoMemo);
    }
    form.leaves.push_back(leaf);
  }
  return form;
}

struct LeafScratch {
  LeafScratch(std::size_t max_d, std::size_t memo_entries, std::size_t memo_values)
      : acc(max_d), prefix(max_d), direct(max_d), one(max_d), memo(new double[memo_values]), stamp(memo_entries, 0) {}
  std::vector<double> acc, prefix, direct;
  std::vector<std::uint8_t> one;
  // Never read before written: the stamps say which entries hold values.
  std::unique_ptr<double[]> memo;
  std::vector<std::uint32_t> stamp;
  std::uint32_t generation = 0;

  // Starts a new tree: forgets every memo entry.
  void next_tree() {
    if (++generation == 0) {
      std::fill(stamp.begin(), stamp.end(), 0u);
      generation = 1;
    }
  }
};

// The d values v (o_j - z_j) * integral_0^1 prod_{i != j} (z_i + (o_i - z_i) t) dt of
// one leaf for the satisfied-feature flags `one`, written to out[0..d).
void leaf_values(const LeafForm& form, const std::vector<Quadrature>& rules, std::size_t l, const std::uint8_t* one,
                 double* out, LeafScratch& scratch) {
  const auto& leaf = form.leaves[l];
  const std::size_t d = leaf.d, first = leaf.first, q = (d + 1) / 2;
  const double* factor = form.factor.data() + form.factor_offset[l];
  double* acc = scratch.acc.data();
  double* prefix = scratch.prefix.data();
  for (std::size_t j = 0; j < d; ++j) acc[j] = 0.0;
  const Quadrature& rule = rules[q];
  for (std::size_t r = 0; r < q; ++r) {
    // Product of every factor but j's, as prefix * suffix.
    double running = 1.0;
    for (std::size_t j = 0; j < d; ++j) {
      prefix[j] = running;
      running *= factor[(j * q + r) * 2 + one[j]];
    }
    double suffix = rule.w[r];
    for (std::size_t j = d; j-- > 0;) {
      acc[j] += prefix[j] * suffix;
      suffix *= factor[(j * q + r) * 2 + one[j]];
    }
  }
  for (std::size_t j = 0; j < d; ++j)
    out[j] = leaf.value * (static_cast<double>(one[j]) - form.zero[first + j]) * acc[j];
}

// Adds leaf l's SHAP values for every branch pattern masks[0..slots) to
// phi[s * p + feature]. Looping over patterns inside a leaf keeps the leaf's memo in
// L1 and makes consecutive additions independent of each other.
void leaf_into_patterns(const LeafForm& form, const std::vector<Quadrature>& rules, std::size_t l,
                        const std::uint64_t* masks, std::size_t slots, double* phi, std::size_t p,
                        LeafScratch& scratch) {
  const auto& leaf = form.leaves[l];
  const std::size_t d = leaf.d, first = leaf.first;
  if (d == 0) return;
  const std::uint64_t* want = form.want.data() + first;
  const std::uint64_t* care = form.care.data() + first;
  const std::int32_t* feature = form.feature.data() + first;
  std::uint8_t* one = scratch.one.data();
  const bool memo = form.stamp_base[l] != kNoMemo;
  for (std::size_t s = 0; s < slots; ++s) {
    const std::uint64_t mask = masks[s];
    std::size_t subset = 0;
    for (std::size_t j = 0; j < d; ++j) subset |= static_cast<std::size_t>(((mask ^ want[j]) & care[j]) == 0) << j;
    double* dst = phi + s * p;
    double* values;
    if (memo && form.dense_width) {
      values = scratch.memo.get() + form.value_base[l] + subset * p;
      std::uint32_t& stamp = scratch.stamp[form.stamp_base[l] + subset];
      if (stamp != scratch.generation) {
        for (std::size_t j = 0; j < d; ++j) one[j] = (subset >> j) & 1u;
        leaf_values(form, rules, l, one, scratch.direct.data(), scratch);
        std::fill(values, values + p, 0.0);
        for (std::size_t j = 0; j < d; ++j) values[feature[j]] = scratch.direct[j];
        stamp = scratch.generation;
      }
      for (std::size_t j = 0; j < p; ++j) dst[j] += values[j];
      continue;
    }
    if (memo) {
      values = scratch.memo.get() + form.value_base[l] + subset * d;
      std::uint32_t& stamp = scratch.stamp[form.stamp_base[l] + subset];
      if (stamp != scratch.generation) {
        for (std::size_t j = 0; j < d; ++j) one[j] = (subset >> j) & 1u;
        leaf_values(form, rules, l, one, values, scratch);
        stamp = scratch.generation;
      }
    } else {
      values = scratch.direct.data();
      for (std::size_t j = 0; j < d; ++j) one[j] = (subset >> j) & 1u;
      leaf_values(form, rules, l, one, values, scratch);
    }
    for (std::size_t j = 0; j < d; ++j) dst[feature[j]] += values[j];
  }
}

}  // namespace

MatrixD contributions(const Forest& forest, ViewD x) {
  const std::size_t n = x.rows(), p = forest.n_features, width = p + 1, groups = forest.n_groups;
  MatrixD out(n, groups * width, 0.0);
  if (n == 0) return out;
  const std::size_t capacity = max_path_capacity(forest);
  const Blocks blocks{n, kRowBlock};

  std::size_t max_q = 1;
  for (const Tree& t : forest.trees) max_q = std::max<std::size_t>(max_q, (static_cast<std::size_t>(t.depth) + 1) / 2);
  std::vector<Quadrature> rules(max_q + 1);
  for (std::size_t q = 1; q <= max_q; ++q) rules[q] = gauss_legendre(static_cast<int>(q));
  std::vector<LeafForm> forms(forest.trees.size());
  parallel_for(forest.trees.size(), [&](std::size_t i) {
    if (forest.trees[i].internal_nodes.size() <= 64) forms[i] = leaf_form(forest.trees[i], rules, p);
  });

  // Trees of each output, in model order (the order their values are summed in).
  std::vector<std::vector<std::size_t>> by_group(groups);
  for (std::size_t i = 0; i < forest.trees.size(); ++i)
    by_group[static_cast<std::size_t>(forest.trees[i].group)].push_back(i);
  std::size_t max_d = 1, memo_entries = 0, memo_values = 0;
  for (const auto& f : forms) {
    max_d = std::max(max_d, f.max_d);
    memo_entries = std::max(memo_entries, f.memo_entries);
    memo_values = std::max(memo_values, f.memo_values);
  }

  parallel_for(blocks.count() * groups, [&](std::size_t task) {
    const std::size_t b = task / groups, g = task % groups;
    const std::size_t begin = blocks.begin(b), m = blocks.size(b);
    const std::vector<float> cols = float_columns(x, begin, m);
    std::vector<std::uint64_t> masks(m), slot_masks;
    std::vector<std::uint32_t> slot_of(m);
    std::vector<double> slot_phi;
    std::vector<PathElement> path(capacity);
    std::vector<double> phi(p);
    LeafScratch scratch(max_d, memo_entries, memo_values);
    MaskTable table(m);

    for (const std::size_t ti : by_group[g]) {
      const Tree& t = forest.trees[ti];
      const std::size_t internal = t.internal_nodes.size();
      if (internal > 64) {
        // Too many splits for a 64-bit pattern: Algorithm 2 for every row.
        for (std::size_t i = 0; i < m; ++i) {
          std::fill(phi.begin(), phi.end(), 0.0);
          tree_shap(
              t,
              [&](std::size_t u) {
                return goes_left(t, u, static_cast<double>(cols[static_cast<std::size_t>(t.feature[u]) * m + i]));
              },
              phi.data(), path.data());
          double* dst = out.row(begin + i) + g * width;
          for (std::size_t j = 0; j < p; ++j) dst[j] += phi[j];
        }
        continue;
      }
      branch_masks(t, cols.data(), m, masks.data());
      table.clear();
      slot_masks.clear();
      for (std::size_t i = 0; i < m; ++i) {
        bool inserted = false;
        slot_of[i] = table.find_or_insert(masks[i], inserted);
        if (inserted) slot_masks.push_back(masks[i]);
      }
      const std::size_t slots = slot_masks.size();
      slot_phi.assign(slots * p, 0.0);
      scratch.next_tree();
      const LeafForm& form = forms[ti];
      for (std::size_t l = 0; l < form.leaves.size(); ++l)
        leaf_into_patterns(form, rules, l, slot_masks.data(), slots, slot_phi.data(), p, scratch);
      for (std::size_t i = 0; i < m; ++i) {
        const double* src = slot_phi.data() + static_cast<std::size_t>(slot_of[i]) * p;
        double* dst = out.row(begin + i) + g * width;
        for (std::size_t j = 0; j < p; ++j) dst[j] += src[j];
      }
    }
  });
  set_bias(forest, out);
  return out;
}

}  // namespace segmenta::explain_detail
