// Exact silhouette micro benchmarks on the shapes the workflow meets:
//   * one silhouette_samples on the blog's 40691 x 8 inlier matrix (double), with the
//     fixed-init k = 5 labels (scikit-learn: silhouette_score 14.3 s on 2 cores);
//   * the blog's silhouette analysis k = 2..9 (eight labelings, every sample's value
//     for each) in one silhouette_samples_many pass (scikit-learn: 210 s, each k
//     costing a silhouette_score and a silhouette_samples);
//   * one silhouette_samples on 45211 x 384 float unit vectors (sentence-embedding
//     shape), labels = the nearest of the first 5 rows by dot product (scikit-learn:
//     26 s).
// bench/compare/silhouette_sklearn.py times scikit-learn on the same inputs. The unit
// vectors are read from $SEGMENTA_BENCH_VECTORS (raw little-endian float32,
// 45211 x 384, as written by silhouette_sklearn.py --write-vectors) so that both
// sides use identical data; without it they are drawn here (same distribution).
//
// Run: build/<dir>/bench/bench_metrics_silhouette [--benchmark_filter=...]
//        [--benchmark_out=bench/results/metrics_silhouette.json]
// Counters: mean silhouette (sum over labelings for the analysis) and threads.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "bench_data.hpp"
#include "segmenta/io.hpp"
#include "segmenta/metrics.hpp"

using namespace segmenta;

using namespace segmenta::bench;

namespace {

Table golden_csv(const std::string& relative) {
  CsvOptions o;
  o.delimiter = ',';
  return read_csv(std::string(SEGMENTA_SHARED_DIR) + "/golden/" + relative, o);
}

std::vector<std::int32_t> label_column(const std::string& file, const std::string& name) {
  const Table t = golden_csv(file);
  const MatrixD m = t.numeric_matrix({t.index_of(name)});
  std::vector<std::int32_t> out(m.rows());
  for (std::size_t i = 0; i < m.rows(); ++i) out[i] = static_cast<std::int32_t>(m(i, 0));
  return out;
}

constexpr std::size_t kVecClusters = 5;

// The index of the largest float32 dot product with rows 0..4 (first on ties), the
// same rule as the comparison script (numpy float32 matmul may round differently
// on exact near-ties; the timing does not depend on it).
const std::vector<std::int32_t>& vector_labels() {
  static const std::vector<std::int32_t> labels = [] {
    const MatrixF& v = unit_vectors();
    std::vector<std::int32_t> out(kVecRows);
    for (std::size_t i = 0; i < kVecRows; ++i) {
      float best = -INFINITY;
      for (std::size_t c = 0; c < kVecClusters; ++c) {
        float s = 0.0f;
        for (std::size_t j = 0; j < kVecDim; ++j) s += v(i, j) * v(c, j);
        if (s > best) {
          best = s;
          out[i] = static_cast<std::int32_t>(c);
        }
      }
    }
    return out;
  }();
  return labels;
}

double mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

void BM_SilhouetteBlog(benchmark::State& state) {
  const MatrixD& x = blog_matrix();
  const auto labels = label_column("kmeans/labels.csv", "fixed_init_label");
  double score = 0.0;
  for (auto _ : state) {
    const auto s = silhouette_samples(x.view(), labels);
    score = mean(s);
    benchmark::DoNotOptimize(score);
  }
  state.counters["silhouette"] = score;
  state.counters["threads"] = num_threads();
}
BENCHMARK(BM_SilhouetteBlog)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_SilhouetteAnalysisK2to9(benchmark::State& state) {
  const MatrixD& x = blog_matrix();
  std::vector<std::vector<std::int32_t>> labelings;
  for (int k = 2; k <= 9; ++k) {
    std::string name = "k";
    name += std::to_string(k);
    labelings.push_back(label_column("kmeans/elbow_labels.csv", name));
  }
  const std::vector<Labels> views(labelings.begin(), labelings.end());
  double total = 0.0;
  for (auto _ : state) {
    const auto s = silhouette_samples_many(x.view(), views);
    total = 0.0;
    for (const auto& v : s) total += mean(v);
    benchmark::DoNotOptimize(total);
  }
  state.counters["sum_of_scores"] = total;
  state.counters["threads"] = num_threads();
}
BENCHMARK(BM_SilhouetteAnalysisK2to9)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_SilhouetteEmbeddings384(benchmark::State& state) {
  const MatrixF& x = unit_vectors();
  const auto& labels = vector_labels();
  double score = 0.0;
  for (auto _ : state) {
    const auto s = silhouette_samples(x.view(), labels);
    score = mean(s);
    benchmark::DoNotOptimize(score);
  }
  state.counters["silhouette"] = score;
  state.counters["threads"] = num_threads();
}
BENCHMARK(BM_SilhouetteEmbeddings384)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

void BM_CalinskiDaviesBlog(benchmark::State& state) {
  const MatrixD& x = blog_matrix();
  const auto labels = label_column("kmeans/labels.csv", "fixed_init_label");
  double ch = 0.0, db = 0.0;
  for (auto _ : state) {
    ch = calinski_harabasz_score(x.view(), labels);
    db = davies_bouldin_score(x.view(), labels);
    benchmark::DoNotOptimize(ch + db);
  }
  state.counters["calinski_harabasz"] = ch;
  state.counters["davies_bouldin"] = db;
}
BENCHMARK(BM_CalinskiDaviesBlog)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
