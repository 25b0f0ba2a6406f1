// Sentence-embedding benchmarks: a MiniLM-shaped encoder (6 layers, hidden 384, 12 heads,
// FFN 1536, vocab 30522) with seeded random weights, on the blog sentences of
// ../shared/data/bank-full.csv, in fp32 / bf16 / int8, and the peaks to compare against.
//
// Two modes.
//   bench_embed_encoder [--benchmark_filter=...]
//       Google Benchmark cases: tokenizer, encoder per precision (512 sentences), the
//       GEMM kernels at the encoder's shape, and raw instruction-throughput peaks.
//   bench_embed_encoder --compare=DIR [--subset=N] [--full] [--repeats=R] [--no-peaks]
//                       [--precisions=fp32,bf16,int8]
//       What bench/compare/embed_torch.py drives: writes DIR/model (the random model),
//       DIR/ids.txt (token ids of the first N blog sentences, for torch), times each
//       precision on those N sentences (best of R) and, with --full, once on all 45,211,
//       saves the normalised vectors (DIR/vectors_<precision>.npy, of the full set when
//       --full, else of the subset) and writes DIR/segmenta.json with the timings, the
//       FLOP counts, the measured peaks and the CPU time other processes used meanwhile.
//   bench_embed_encoder --int8-split=DIR [--every=N] [--plans=iiii,ifff,...] [--no-fp32]
//       What bench/compare/int8_split.py drives: every N-th blog sentence in fp32 and in
//       the int8 mode with chosen layers in int8 / bf16 / fp32 (run_split below).
// Threads: SEGMENTA_THREADS / all cores; BLAS is pinned to one thread.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "embed/ops.hpp"
#include "embed/tile_config.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/io.hpp"
#include "segmenta/kernels.hpp"

using namespace segmenta;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kSeed = 20260101;

BertConfig minilm_shape() {
  BertConfig c;
  c.vocab_size = 30522;
  c.hidden_size = 384;
  c.num_hidden_layers = 6;
  c.num_attention_heads = 12;
  c.intermediate_size = 1536;
  c.max_position_embeddings = 512;
  return c;
}

std::string shared(const std::string& rel) {
  const char* env = std::getenv("SEGMENTA_SHARED");
  return (env ? std::string(env) : std::string(SEGMENTA_SHARED_DIR)) + "/" + rel;
}

const std::vector<std::string>& blog_sentences() {
  static const std::vector<std::string> s = [] {
    CsvOptions o;
    o.delimiter = ';';
    return RowTemplate::resolve("blog").render(read_csv(shared("data/bank-full.csv"), o));
  }();
  return s;
}

std::string ensure_model(const std::string& dir) {
  if (!fs::exists(fs::path(dir) / "model.safetensors"))
    write_random_model(dir, minilm_shape(), kSeed, shared("models/paraphrase-MiniLM-L6-v2"));
  return dir;
}

const SentenceEncoder& encoder() {
  static const SentenceEncoder e =
      SentenceEncoder::load(ensure_model((fs::temp_directory_path() / "segmenta-bench-minilm-random").string()));
  return e;
}

// ---------------------------------------------------------------------------
// Peaks
// ---------------------------------------------------------------------------

// Instruction throughput: 12 independent accumulator chains of one instruction, so the
// loop is bound by the execution ports, not by latency. Operations per instruction:
// fp32 FMA 2*16 (zmm; 2*8 on ymm where the build has no AVX-512), VDPBF16PS 2*32,
// VPDPBUSD 2*64, VPMADDWD on ymm 2*16 (the older AVX2 int8 kernel's multiply, whose adds
// are separate instructions), VPMADDUBSW on ymm 2*32 (the AVX2 int8 kernel's multiply; it
// needs a VPMADDWD by ones for each, to widen its 16-bit pair sums), and the VEX
// (AVX-VNNI) VPDPBUSD on ymm 2*32. Kinds 3 and 4 are the AMX tile multiplies on four independent
// 16 x 16 accumulator tiles: TDPBUSD 2*16*16*64, TDPBF16PS 2*16*16*32. A kind the CPU
// or the build does not offer measures 0.
enum PeakKind { kFma = 0, kDpbf16ps = 1, kVpdpbusd = 2, kTdpbusd = 3, kTdpbf16ps = 4, kVpmaddwd = 5, kVpmaddubsw = 6, kVpdpbusdYmm = 7 };
#if defined(__AVX512F__)
constexpr double kFmaOps = 32;
#else
constexpr double kFmaOps = 16;
#endif
constexpr bool is_tile(int kind) { return kind == kTdpbusd || kind == kTdpbf16ps; }
constexpr double kPeakOps[8] = {kFmaOps, 64, 128, 32768, 16384, 32, 64, 64};
constexpr double kPeakPerIteration[8] = {12, 12, 12, 4, 4, 12, 12, 12};
constexpr const char* kPeakNames[8] = {"fp32 vfmadd231ps", "bf16 vdpbf16ps", "int8 vpdpbusd", "int8 tdpbusd (AMX)",
                                       "bf16 tdpbf16ps (AMX)", "int8 vpmaddwd (AVX2)",
                                       "int8 vpmaddubsw (AVX2)", "int8 vpdpbusd ymm (AVX-VNNI)"};

#define SEGMENTA_REP12(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)
void vector_peak_loop(int kind, long iters) {
  // Zero operands and accumulators first: with whatever the registers held before, one
  // run on an AMX VM measured the FMA peak at 2.3 instead of 193 GFLOP/s on one core
  // (leftover denormals going through microcode assists, most likely).
#define SEGMENTA_Z(n) asm volatile("vpxor %%xmm" #n ", %%xmm" #n ", %%xmm" #n ::: "xmm" #n);
  SEGMENTA_REP12(SEGMENTA_Z)
  SEGMENTA_Z(12)
  SEGMENTA_Z(13)
  for (long i = 0; i < iters; ++i) {
    if (kind == kFma) {
#if defined(__AVX512F__)
#define SEGMENTA_F(n) asm volatile("vfmadd231ps %%zmm12, %%zmm13, %%zmm" #n ::: "xmm" #n);
      SEGMENTA_REP12(SEGMENTA_F)
#elif defined(__FMA__)
#define SEGMENTA_F(n) asm volatile("vfmadd231ps %%ymm12, %%ymm13, %%ymm" #n ::: "xmm" #n);
      SEGMENTA_REP12(SEGMENTA_F)
#endif
#if defined(__AVX512BF16__)
    } else if (kind == kDpbf16ps) {
#define SEGMENTA_B(n) asm volatile("vdpbf16ps %%zmm12, %%zmm13, %%zmm" #n ::: "xmm" #n);
      SEGMENTA_REP12(SEGMENTA_B)
#endif
#if defined(__AVX512VNNI__)
    } else if (kind == kVpdpbusd) {
#define SEGMENTA_V(n) asm volatile("vpdpbusd %%zmm12, %%zmm13, %%zmm" #n ::: "xmm" #n);
      SEGMENTA_REP12(SEGMENTA_V)
#endif
#if defined(__AVX2__)
    } else if (kind == kVpmaddwd) {
      // Independent products (the sums are the kernel's separate adds).
#define SEGMENTA_W(n) asm volatile("vpmaddwd %%ymm12, %%ymm13, %%ymm" #n ::: "xmm" #n);
      SEGMENTA_REP12(SEGMENTA_W)
    } else if (kind == kVpmaddubsw) {
#define SEGMENTA_U(n) asm volatile("vpmaddubsw %%ymm12, %%ymm13, %%ymm" #n ::: "xmm" #n);
      SEGMENTA_REP12(SEGMENTA_U)
#endif
#if defined(__AVXVNNI__)
    } else if (kind == kVpdpbusdYmm) {
#define SEGMENTA_Y(n) asm volatile("%{vex%} vpdpbusd %%ymm12, %%ymm13, %%ymm" #n ::: "xmm" #n);
      SEGMENTA_REP12(SEGMENTA_Y)
#endif
    }
  }
}

__attribute__((target("amx-tile,amx-int8,amx-bf16"))) void tile_peak_loop(int kind, long iters) {
  embed_detail::TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;
    cfg.rows[t] = 16;
  }
  embed_detail::load_tile_config(cfg);
  for (int t = 0; t < 8; ++t) {
    // _tile_zero pastes its operand into the assembly: literal tile numbers only.
    switch (t) {
      case 0: _tile_zero(0); break;
      case 1: _tile_zero(1); break;
      case 2: _tile_zero(2); break;
      case 3: _tile_zero(3); break;
      case 4: _tile_zero(4); break;
      case 5: _tile_zero(5); break;
      case 6: _tile_zero(6); break;
      default: _tile_zero(7); break;
    }
  }
  for (long i = 0; i < iters; ++i) {
    if (kind == kTdpbusd) {
      _tile_dpbusd(0, 4, 6);
      _tile_dpbusd(1, 4, 7);
      _tile_dpbusd(2, 5, 6);
      _tile_dpbusd(3, 5, 7);
    } else {
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  _tile_release();
}

bool peak_available(int kind) {
  if (is_tile(kind)) return embed_detail::cpu_has_amx();
  // The vector loops exist only where the build targets the instructions.
#if defined(__AVX512F__) || defined(__FMA__)
  if (kind == kFma) return true;
#endif
#if defined(__AVX512BF16__)
  if (kind == kDpbf16ps) return embed_detail::cpu_has_avx512_bf16();
#endif
#if defined(__AVX512VNNI__)
  if (kind == kVpdpbusd) return embed_detail::cpu_has_avx512_vnni();
#endif
#if defined(__AVX2__)
  if (kind == kVpmaddwd || kind == kVpmaddubsw) return true;
#endif
#if defined(__AVXVNNI__)
  if (kind == kVpdpbusdYmm) return embed_detail::cpu_has_avx_vnni();
#endif
  return false;
}

void instruction_peak_once(int kind, long iters) {
  if (is_tile(kind)) return tile_peak_loop(kind, iters);
  vector_peak_loop(kind, iters);
}

// Best of `repeats` runs of `threads` copies in parallel: operations per second over all
// threads (0 when the instruction is not available).
double instruction_peak(int kind, int threads, int repeats = 5) {
  if (!peak_available(kind)) return 0.0;
  const long iters = is_tile(kind) ? 2'000'000 : 20'000'000;
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back([&] { instruction_peak_once(kind, iters); });
    for (auto& t : pool) t.join();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return threads * static_cast<double>(iters) * kPeakPerIteration[kind] * kPeakOps[kind] / best;
}

// Linear-layer throughput (rows x n x k, operations 2*rows*n*k) of one precision on
// `threads` threads, each on its own activations (as the encoder runs batches).
double gemm_rate(EmbedPrecision p, std::size_t rows, std::size_t n, std::size_t k, int threads, double seconds = 0.6) {
  Rng rng(1);
  std::vector<float> w(n * k), b(n), x(rows * k);
  for (auto& v : w) v = static_cast<float>(0.05 * rng.normal());
  for (auto& v : x) v = static_cast<float>(rng.normal());
  const auto lin = embed_detail::pack_linear(p, w.data(), b.data(), n, k);
  struct Buf {
    AlignedVector<float> f, y;
    AlignedVector<std::uint16_t> bf;
    AlignedVector<std::int8_t> q;
    AlignedVector<float> s;
    AlignedVector<std::int32_t> z, qs;
    embed_detail::Activations a;
  };
  std::vector<Buf> bufs(static_cast<std::size_t>(threads));
  for (auto& bb : bufs) {
    const std::size_t ld = embed_detail::padded_depth(k);
    bb.f.assign(x.begin(), x.end());
    bb.y.assign(rows * n, 0.0f);
    bb.bf.assign(rows * ld, 0);
    bb.q.assign(rows * ld, 0);
    bb.s.assign(rows, 0);
    bb.z.assign(rows, 0);
    bb.qs.assign(rows, 0);
    bb.a.precision = p;
    bb.a.f32 = bb.f.data();
    bb.a.bf16 = bb.bf.data();
    bb.a.q = bb.q.data();
    bb.a.scale = bb.s.data();
    bb.a.zero = bb.z.data();
    bb.a.qsum128 = bb.qs.data();
    bb.a.ld = p == EmbedPrecision::fp32 ? k : ld;
    if (p != EmbedPrecision::fp32)
      for (std::size_t r = 0; r < rows; ++r) embed_detail::emit_row(x.data() + r * k, k, bb.a, r);
  }
  init_blas();
  double best = 0.0;
  const auto t_end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < t_end) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        auto& bb = bufs[static_cast<std::size_t>(t)];
        for (int rep = 0; rep < 3; ++rep) embed_detail::linear_forward(lin, bb.a, rows, bb.y.data(), n);
      });
    for (auto& t : pool) t.join();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 3.0 * threads * 2.0 * double(rows) * double(n) * double(k) / dt);
  }
  return best;
}

// ---------------------------------------------------------------------------
// Contention: CPU time of other processes during a measurement.
// ---------------------------------------------------------------------------

struct CpuSample {
  double busy = 0, own = 0;  // seconds
  static CpuSample now() {
    CpuSample s;
    std::ifstream f("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    f >> cpu >> user >> nice >> sys >> idle >> iowait >> irq >> softirq >> steal;
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    s.busy = (user + nice + sys + irq + softirq + steal) / tick;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    s.own = double(ru.ru_utime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec) + double(ru.ru_stime.tv_sec) +
            1e-6 * double(ru.ru_stime.tv_usec);
    return s;
  }
};

// Average number of cores used by other processes between two samples.
double foreign_cores(const CpuSample& a, const CpuSample& b, double wall) {
  return wall > 0 ? std::max(0.0, ((b.busy - a.busy) - (b.own - a.own)) / wall) : 0.0;
}

// ---------------------------------------------------------------------------
// Compare mode
// ---------------------------------------------------------------------------

int run_compare(const std::string& dir, std::size_t subset, bool full, int repeats, bool measure_peaks,
                const std::vector<EmbedPrecision>& precisions) {
  fs::create_directories(dir);
  const std::string model_dir = ensure_model(dir + "/model");
  const SentenceEncoder enc = SentenceEncoder::load(model_dir);
  const auto& all = blog_sentences();
  subset = std::min(subset, all.size());
  const std::vector<std::string> sub(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(subset));
  {
    const auto ids = enc.token_ids(sub);
    std::ofstream f(dir + "/ids.txt");
    for (const auto& s : ids) {
      for (std::size_t i = 0; i < s.size(); ++i) f << (i ? " " : "") << s[i];
      f << "\n";
    }
  }
  nlohmann::ordered_json out;
  out["model"] = "MiniLM-shaped random weights (6 x 384, 12 heads, FFN 1536, vocab 30522), seed " + std::to_string(kSeed);
  out["threads"] = num_threads();
  out["batch_size"] = 32;
  out["subset_sentences"] = subset;
  const int threads = num_threads();
  nlohmann::ordered_json peaks;
  if (measure_peaks) std::fprintf(stderr, "measuring peaks (%d threads)...\n", threads);
  for (int t : {1, threads}) {
    if (!measure_peaks) break;
    const std::string key = std::to_string(t) + (t == 1 ? "_thread" : "_threads");
    peaks["fp32_fma_instruction_" + key] = instruction_peak(0, t) / 1e9;
    peaks["bf16_dpbf16ps_instruction_" + key] = instruction_peak(1, t) / 1e9;
    peaks["int8_vpdpbusd_instruction_" + key] = instruction_peak(2, t) / 1e9;
    peaks["int8_tdpbusd_amx_instruction_" + key] = instruction_peak(kTdpbusd, t) / 1e9;
    peaks["bf16_tdpbf16ps_amx_instruction_" + key] = instruction_peak(kTdpbf16ps, t) / 1e9;
    peaks["int8_vpmaddwd_avx2_instruction_" + key] = instruction_peak(kVpmaddwd, t) / 1e9;
    peaks["int8_vpmaddubsw_avx2_instruction_" + key] = instruction_peak(kVpmaddubsw, t) / 1e9;
    peaks["int8_vpdpbusd_ymm_avx_vnni_instruction_" + key] = instruction_peak(kVpdpbusdYmm, t) / 1e9;
    peaks["sgemm_openblas_2048cubed_" + key] = gemm_rate(EmbedPrecision::fp32, 2048, 2048, 2048, t, 1.5) / 1e9;
    for (EmbedPrecision p : {EmbedPrecision::fp32, EmbedPrecision::bf16, EmbedPrecision::int8}) {
      peaks[std::string(to_string(p)) + "_linear_1184x1536x384_" + key] = gemm_rate(p, 1184, 1536, 384, t) / 1e9;
      peaks[std::string(to_string(p)) + "_linear_1184x384x1536_" + key] = gemm_rate(p, 1184, 384, 1536, t) / 1e9;
    }
  }
  out["peaks_gops"] = peaks;
  out["cpu"] = {{"avx2_fma", embed_detail::cpu_has_avx2_fma()},
                {"avx512_bf16", embed_detail::cpu_has_avx512_bf16()},
                {"avx512_vnni", embed_detail::cpu_has_avx512_vnni()},
                {"amx", embed_detail::cpu_has_amx()},
                {"bf16_kernel", std::string(embed_precision_kernel(EmbedPrecision::bf16))},
                {"int8_kernel", std::string(embed_precision_kernel(EmbedPrecision::int8))}};

  nlohmann::ordered_json runs;
  for (EmbedPrecision p : precisions) {
    const std::string name(to_string(p));
    EncodeOptions o;
    o.precision = p;
    o.batch_size = 32;
    o.progress = false;
    o.normalize = true;
    nlohmann::ordered_json r;
    double best = 1e30, best_foreign = 0;
    EncodeStats st;
    MatrixF v;
    std::vector<double> times, cpu_times;
    for (int rep = 0; rep < repeats; ++rep) {
      const CpuSample a = CpuSample::now();
      v = enc.encode(sub, o, &st);
      const CpuSample b = CpuSample::now();
      times.push_back(st.seconds);
      cpu_times.push_back(b.own - a.own);
      if (st.seconds < best) {
        best = st.seconds;
        best_foreign = foreign_cores(a, b, st.seconds);
      }
    }
    r["subset"] = {{"sentences", st.sentences},
                   {"tokens", st.tokens},
                   {"flops", st.flops},
                   {"seconds_all_repeats", times},
                   {"cpu_seconds_all_repeats", cpu_times},
                   {"seconds", best},
                   {"sentences_per_s", double(st.sentences) / best},
                   {"gflops_per_s", st.flops / best / 1e9},
                   {"foreign_cores", best_foreign}};
    std::fprintf(stderr, "%s subset: %zu sentences in %.2f s = %.1f sentences/s, %.1f GFLOP/s (other processes: %.2f cores)\n",
                 name.c_str(), st.sentences, best, double(st.sentences) / best, st.flops / best / 1e9, best_foreign);
    if (full) {
      const CpuSample a = CpuSample::now();
      v = enc.encode(all, o, &st);
      const CpuSample b = CpuSample::now();
      const double fc = foreign_cores(a, b, st.seconds);
      r["full"] = {{"sentences", st.sentences},
                   {"unique", st.unique},
                   {"tokens", st.tokens},
                   {"flops", st.flops},
                   {"seconds", st.seconds},
                   {"sentences_per_s", double(st.sentences) / st.seconds},
                   {"gflops_per_s", st.flops / st.seconds / 1e9},
                   {"foreign_cores", fc}};
      std::fprintf(stderr, "%s full: %zu sentences in %.2f s = %.1f sentences/s, %.1f GFLOP/s (other processes: %.2f cores)\n",
                   name.c_str(), st.sentences, st.seconds, double(st.sentences) / st.seconds, st.flops / st.seconds / 1e9, fc);
    }
    write_file_atomic(dir + "/vectors_" + name + ".npy", matrix_to_npy(v.view()));
    runs[name] = r;
  }
  out["runs"] = runs;
  write_file_atomic(dir + "/segmenta.json", out.dump(2) + "\n");
  return 0;
}

// ---------------------------------------------------------------------------
// Error-split mode
// ---------------------------------------------------------------------------

// Encodes every `every`-th blog sentence in fp32 (unless with_fp32 is false: timings only),
// then in the int8 mode under each plan
// (letters per layer Q|K|V, attention output, FFN1, FFN2: i int8, b bf16, f fp32; "bbbb" is
// the bf16 mode) and saves the normalised vectors as DIR/vectors_<letters>.npy, with the
// wall and CPU seconds of each encode in DIR/split.json (a plan listed several times is
// timed each time, for paired timings). bench/compare/int8_split.py reads them.
int run_split(const std::string& dir, std::size_t every, const std::string& plans, bool with_fp32) {
  fs::create_directories(dir);
  const std::string model_dir = ensure_model(dir + "/model");
  const auto& all = blog_sentences();
  std::vector<std::string> sub;
  for (std::size_t i = 0; i < all.size(); i += every) sub.push_back(all[i]);
  nlohmann::ordered_json out;
  out["sentences"] = sub.size();
  out["every"] = every;
  out["threads"] = num_threads();
  out["int8_kernel"] = std::string(embed_precision_kernel(EmbedPrecision::int8));
  out["default_int8_plan"] = embed_detail::plan_name(embed_detail::linear_plan(EmbedPrecision::int8));
  nlohmann::ordered_json runs;
  auto encode = [&](const std::string& tag, EmbedPrecision mode) {
    const SentenceEncoder enc = SentenceEncoder::load(model_dir);  // packs with the plan set now
    EncodeOptions o;
    o.precision = mode;
    o.batch_size = 32;
    o.progress = false;
    o.normalize = true;
    EncodeStats st;
    const CpuSample a = CpuSample::now();
    const MatrixF v = enc.encode(sub, o, &st);
    const CpuSample b = CpuSample::now();
    write_file_atomic(dir + "/vectors_" + tag + ".npy", matrix_to_npy(v.view()));
    // A plan named twice or more is timed each time (alternating plans for paired timings).
    auto& r = runs[tag];
    if (r.is_null()) r = {{"unique", st.unique}, {"tokens", st.tokens}, {"seconds", nlohmann::json::array()},
                          {"cpu_seconds", nlohmann::json::array()}, {"foreign_cores", nlohmann::json::array()}};
    r["seconds"].push_back(st.seconds);
    r["cpu_seconds"].push_back(b.own - a.own);
    r["foreign_cores"].push_back(foreign_cores(a, b, st.seconds));
    std::fprintf(stderr, "%s: %zu sentences (%zu distinct) in %.2f s, %.2f CPU s (other processes: %.2f cores)\n",
                 tag.c_str(), st.sentences, st.unique, st.seconds, b.own - a.own, foreign_cores(a, b, st.seconds));
  };
  if (with_fp32) encode("ffff", EmbedPrecision::fp32);
  std::size_t at = 0;
  while (at <= plans.size()) {
    const std::size_t end = std::min(plans.find(',', at), plans.size());
    const std::string tag = plans.substr(at, end - at);
    at = end + 1;
    if (tag.empty()) continue;
    if (tag.size() != 4 || tag.find_first_not_of("ibf") != std::string::npos)
      throw InvalidArgument("--plans: each plan is 4 letters of i, b, f, got '" + tag + "'");
    if (tag == "bbbb") {
      encode(tag, EmbedPrecision::bf16);
      continue;
    }
    embed_detail::LinearPlan plan;
    for (std::size_t j = 0; j < 4; ++j)
      plan[j] = tag[j] == 'i' ? EmbedPrecision::int8 : tag[j] == 'b' ? EmbedPrecision::bf16 : EmbedPrecision::fp32;
    embed_detail::set_int8_plan(plan);
    encode(tag, EmbedPrecision::int8);
  }
  out["runs"] = runs;
  write_file_atomic(dir + "/split.json", out.dump(2) + "\n");
  return 0;
}

// ---------------------------------------------------------------------------
// Google Benchmark cases
// ---------------------------------------------------------------------------

void BM_Tokenize(benchmark::State& state) {
  const auto& s = blog_sentences();
  const auto& tok = encoder().tokenizer();
  std::vector<std::int32_t> ids;
  std::size_t n = 0;
  for (auto _ : state) {
    for (const auto& t : s) tok.encode_into(t, 128, ids);
    n += s.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["sentences/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Tokenize)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Encode(benchmark::State& state) {
  const auto p = static_cast<EmbedPrecision>(state.range(0));
  const auto& all = blog_sentences();
  const std::vector<std::string> sub(all.begin(), all.begin() + 512);
  EncodeOptions o;
  o.precision = p;
  o.progress = false;
  o.batch_size = static_cast<std::size_t>(state.range(1));
  EncodeStats st;
  double flops = 0;
  std::size_t n = 0;
  for (auto _ : state) {
    auto v = encoder().encode(sub, o, &st);
    benchmark::DoNotOptimize(v.data());
    flops += st.flops;
    n += sub.size();
  }
  state.SetLabel(std::string(to_string(p)) + " batch " + std::to_string(o.batch_size));
  state.counters["sentences/s"] = benchmark::Counter(double(n), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Encode)->ArgsProduct({{0, 1, 2}, {4, 32}})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

void BM_Linear(benchmark::State& state) {
  const auto p = static_cast<EmbedPrecision>(state.range(0));
  const auto n = static_cast<std::size_t>(state.range(1)), k = static_cast<std::size_t>(state.range(2));
  double rate = 0;
  for (auto _ : state) rate = gemm_rate(p, 1184, n, k, 1, 0.3);
  state.SetLabel(std::string(to_string(p)) + " 1 thread, best");
  state.counters["GOP/s"] = rate / 1e9;
}
BENCHMARK(BM_Linear)
    ->ArgsProduct({{0, 1, 2}, {1152, 1536, 384}, {384}})
    ->Args({0, 384, 1536})
    ->Args({1, 384, 1536})
    ->Args({2, 384, 1536})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void BM_InstructionPeak(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0)), threads = static_cast<int>(state.range(1));
  double rate = 0;
  for (auto _ : state) rate = instruction_peak(kind, threads, 3);
  state.SetLabel(std::string(kPeakNames[kind]) + " x" + std::to_string(threads));
  state.counters["GOP/s"] = rate / 1e9;
}
BENCHMARK(BM_InstructionPeak)->ArgsProduct({{0, 1, 2, 3, 4, 5, 6, 7}, {1, 2}})->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  std::string compare, split, plans = "iiii,ifff,fiff,ffif,fffi,biii,ibii,iibi,iiib,bbbb";
  std::size_t subset = 2048, every = 10;
  bool peaks = true, split_fp32 = true;
  std::vector<EmbedPrecision> precisions = {EmbedPrecision::fp32, EmbedPrecision::bf16, EmbedPrecision::int8};
  bool full = false;
  int repeats = 3;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--compare=", 0) == 0)
      compare = a.substr(10);
    else if (a.rfind("--subset=", 0) == 0)
      subset = std::stoul(a.substr(9));
    else if (a.rfind("--int8-split=", 0) == 0)
      split = a.substr(13);
    else if (a.rfind("--every=", 0) == 0)
      every = std::max<std::size_t>(1, std::stoul(a.substr(8)));
    else if (a.rfind("--plans=", 0) == 0)
      plans = a.substr(8);
    else if (a == "--no-fp32")
      split_fp32 = false;
    else if (a == "--no-peaks")
      peaks = false;
    else if (a.rfind("--precisions=", 0) == 0) {
      precisions.clear();
      std::string list = a.substr(13) + ",";
      for (std::size_t at = 0, end; (end = list.find(',', at)) != std::string::npos; at = end + 1)
        if (end > at) precisions.push_back(parse_embed_precision(list.substr(at, end - at), "--precisions"));
    } else if (a == "--full")
      full = true;
    else if (a.rfind("--repeats=", 0) == 0)
      repeats = std::max(1, std::stoi(a.substr(10)));
    else
      rest.push_back(argv[i]);
  }
  try {
    if (!compare.empty()) return run_compare(compare, subset, full, repeats, peaks, precisions);
    if (!split.empty()) return run_split(split, every, plans, split_fp32);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
