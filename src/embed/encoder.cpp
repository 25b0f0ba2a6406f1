#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <unordered_map>

#include "embed/internal.hpp"
#include "embed/ops.hpp"
#include "segmenta/comm.hpp"
#include "segmenta/embed.hpp"

namespace segmenta {

using embed_detail::Activations;
using embed_detail::PackedLinear;

namespace {

namespace fs = std::filesystem;

enum Linear { kQkv = 0, kOut = 1, kFfn1 = 2, kFfn2 = 3 };

struct LayerNormParams {
  AlignedVector<float> attn_gamma, attn_beta, ffn_gamma, ffn_beta;
};


// Rows of the feed-forward block processed together: the intermediate activations of a
// chunk (64 x F) stay in L2 between the two GEMMs. The BLAS path takes the whole group.
constexpr std::size_t kFfnChunk = 64;

// Per-thread buffers of one group of R packed tokens (no padding between sentences).
struct Workspace {
  AlignedVector<float> h, qkv, ctx, tmp, inter, scratch, ranges;
  // Reduced-precision activations: slot 0 (R x H) feeds QKV, the attention output and FFN1;
  // slot 1 (R x F; only a chunk's rows are in use at a time) feeds FFN2.
  struct Slot {
    AlignedVector<std::uint16_t> bf;
    AlignedVector<std::int8_t> q;
    AlignedVector<float> scale;
    AlignedVector<std::int32_t> zero, qsum;
  } slot[2];

  void reserve(std::size_t R, const BertConfig& c, std::size_t max_t,
               const std::vector<std::array<PackedLinear, 4>>& lin) {
    const std::size_t H = c.hidden_size, F = c.intermediate_size;
    bool any_bf16 = false, any_int8 = false;
    for (const auto& layer : lin)
      for (const auto& x : layer) {
        any_bf16 |= x.precision == EmbedPrecision::bf16;
        any_int8 |= x.precision == EmbedPrecision::int8;
      }
    auto grow = [](auto& v, std::size_t n) {
      if (v.size() < n) v.resize(n);
    };
    grow(h, R * H);
    grow(qkv, R * 3 * H);
    grow(ctx, R * H);
    grow(tmp, R * H);
    grow(inter, R * F);
    grow(ranges, 2 * R);
    grow(scratch, embed_detail::attention_scratch_floats(max_t, c.num_attention_heads, c.head_dim()));
    const std::size_t width[2] = {embed_detail::padded_depth(H), embed_detail::padded_depth(F)};
    for (int i = 0; i < 2; ++i) {
      if (any_bf16) grow(slot[i].bf, R * width[i]);
      if (any_int8) {
        grow(slot[i].q, R * width[i]);
        grow(slot[i].scale, R);
        grow(slot[i].zero, R);
        grow(slot[i].qsum, R);
      }
    }
  }

  // The activation view a linear layer of precision p reads, over `k` input features; for
  // fp32 it is the fp32 buffer itself.
  Activations act(EmbedPrecision p, float* fp32, std::size_t k, int s = 0) {
    Activations a;
    a.precision = p;
    if (p == EmbedPrecision::fp32) {
      a.f32 = fp32;
      a.ld = k;
    } else if (p == EmbedPrecision::bf16) {
      a.bf16 = slot[s].bf.data();
      a.ld = embed_detail::padded_depth(k);
    } else {
      a.q = slot[s].q.data();
      a.ld = embed_detail::padded_depth(k);
      a.scale = slot[s].scale.data();
      a.zero = slot[s].zero.data();
      a.qsum128 = slot[s].qsum.data();
    }
    return a;
  }
};

// The same activations from row r0 on.
Activations rows_from(Activations a, std::size_t r0) {
  if (a.f32) a.f32 += r0 * a.ld;
  if (a.bf16) a.bf16 += r0 * a.ld;
  if (a.q) {
    a.q += r0 * a.ld;
    a.scale += r0;
    a.zero += r0;
    a.qsum128 += r0;
  }
  return a;
}

// A small pool so that batches reuse buffers instead of faulting in fresh pages.
class WorkspacePool {
 public:
  std::unique_ptr<Workspace> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return std::make_unique<Workspace>();
    auto w = std::move(free_.back());
    free_.pop_back();
    return w;
  }
  void give(std::unique_ptr<Workspace> w) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(w));
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<Workspace>> free_;
};

// Layer 0's self-attention input depends on a token only through (token id, position):
// its embedding row after the LayerNorm, and the Q|K|V projection of that row. Text made
// from a template repeats these pairs many times (the blog's 41,048 distinct sentences hold
// 1.49 M tokens but few distinct pairs), so a batch computes each distinct pair once, with
// the same kernels, and the groups copy rows instead of running layer 0's QKV product
// (1/24 of the encoder's arithmetic for MiniLM). The packed kernels and the embedding pass
// compute a row from that row alone, so bf16/int8 vectors are bit-identical with and
// without it; fp32 goes through BLAS, whose blocking may depend on the row count, and
// agrees to rounding.
struct Layer0Table {
  std::size_t pairs = 0;
  AlignedVector<float> h;    // (pairs, H): embeddings after the LayerNorm
  AlignedVector<float> qkv;  // (pairs, 3H): layer 0's Q|K|V as linear_forward leaves it
  std::vector<std::uint32_t> index;  // per token of the batch, its pair
  std::vector<std::size_t> start;    // per sequence of the batch, its first token in `index`
};

void l2_normalize(float* v, std::size_t n) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(v[i]) * v[i];
  // torch.nn.functional.normalize: x / max(||x||, 1e-12).
  const double norm = std::max(std::sqrt(s), 1e-12);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(v[i] / norm);
}

}  // namespace

struct SentenceEncoder::Impl {
  SentenceModelInfo info;
  Tokenizer tokenizer;
  std::uint64_t fingerprint = 0;
  // pos holds the position embeddings from row position_offset on, so that row t is the
  // t-th token's (XLM-RoBERTa counts positions from padding_idx + 1).
  AlignedVector<float> word, pos, type0, emb_gamma, emb_beta;
  std::vector<LayerNormParams> norms;
  std::vector<std::array<PackedLinear, 4>> fp32;
  mutable std::once_flag packed_once[2];
  mutable std::vector<std::array<PackedLinear, 4>> packed[2];  // bf16, int8

  const std::vector<std::array<PackedLinear, 4>>& linears(EmbedPrecision p) const {
    if (p == EmbedPrecision::fp32) return fp32;
    const int slot = p == EmbedPrecision::bf16 ? 0 : 1;
    std::call_once(packed_once[slot], [&] {
      const embed_detail::LinearPlan plan = embed_detail::linear_plan(p);
      std::vector<std::array<PackedLinear, 4>> out(fp32.size());
      for (std::size_t l = 0; l < fp32.size(); ++l)
        for (int j = 0; j < 4; ++j) {
          const PackedLinear& src = fp32[l][static_cast<std::size_t>(j)];
          out[l][static_cast<std::size_t>(j)] =
              embed_detail::pack_linear(plan[static_cast<std::size_t>(j)], src.w32.data(), src.bias.data(), src.n, src.k);
          // A bf16 layer of the int8 mode keeps the portable kernel's bits everywhere.
          if (p == EmbedPrecision::int8) out[l][static_cast<std::size_t>(j)].exact = true;
        }
      packed[slot] = std::move(out);
    });
    return packed[slot];
  }

  // Runs the encoder over `seqs` and writes the pooled vectors (seqs.size(), dimension) to
  // `pooled` rows. The batch goes through in groups of consecutive sentences of at most
  // group_rows tokens (one sentence at least), so that a group's activations stay in the
  // caches from one layer to the next; bf16/int8 results do not depend on the grouping,
  // and for fp32 it depends only on the batch, never on the thread count.
  void forward(EmbedPrecision p, const std::vector<const std::vector<std::int32_t>*>& seqs, Workspace& ws,
               const std::vector<float*>& pooled, std::size_t group_rows, const Layer0Table* table = nullptr,
               const std::vector<const std::uint32_t*>& pairs = {}) const {
    std::size_t begin = 0;
    while (begin < seqs.size()) {
      std::size_t end = begin, rows = 0;
      while (end < seqs.size() && (end == begin || rows + seqs[end]->size() <= group_rows)) rows += seqs[end++]->size();
      const std::vector<const std::vector<std::int32_t>*> g(seqs.begin() + static_cast<std::ptrdiff_t>(begin),
                                                           seqs.begin() + static_cast<std::ptrdiff_t>(end));
      const std::vector<float*> out(pooled.begin() + static_cast<std::ptrdiff_t>(begin),
                                    pooled.begin() + static_cast<std::ptrdiff_t>(end));
      std::vector<const std::uint32_t*> gp;
      if (table)
        gp.assign(pairs.begin() + static_cast<std::ptrdiff_t>(begin), pairs.begin() + static_cast<std::ptrdiff_t>(end));
      forward_group(p, g, ws, out, nullptr, table, gp);
      begin = end;
    }
  }

  // Layer 0's embedding pass for one token: h row = LayerNorm(word + position + type 0),
  // and its form as the QKV input (row r of `a`).
  void embed_row(std::int32_t id, std::size_t t, float* row, const Activations& a, std::size_t r) const {
    const std::size_t H = info.bert.hidden_size;
    const float* we = word.data() + static_cast<std::size_t>(id) * H;
    const float* pe = pos.data() + t * H;
    for (std::size_t i = 0; i < H; ++i) row[i] = we[i] + pe[i];
    float range[2];
    embed_detail::add_layer_norm(row, type0.data(), nullptr, emb_gamma.data(), emb_beta.data(),
                                 static_cast<float>(info.bert.layer_norm_eps), H, row, range);
    embed_detail::emit_row(row, H, a, r, range);
  }

  // The layer-0 table of a batch of sequences, or nothing when it would not pay: a batch
  // of fewer than 256 tokens, fewer than two tokens per distinct (id, position) pair, or
  // more than 512 MB of rows.
  std::unique_ptr<Layer0Table> layer0_table(EmbedPrecision p, const std::vector<const std::vector<std::int32_t>*>& seqs) const {
    const std::size_t H = info.bert.hidden_size;
    std::size_t tokens = 0, max_t = 0;
    for (const auto* s : seqs) {
      tokens += s->size();
      max_t = std::max(max_t, s->size());
    }
    if (tokens < 256) return nullptr;
    auto table = std::make_unique<Layer0Table>();
    table->index.resize(tokens);
    table->start.resize(seqs.size());
    // Pair numbers in order of first appearance: a dense (id, position) map where it is
    // small (MiniLM: 30,522 x 128 entries), a hash map otherwise.
    std::vector<std::int32_t> id_of;
    std::vector<std::uint32_t> pos_of;
    const std::size_t cap_pairs = std::min(tokens / 2, (std::size_t{512} << 20) / (4 * H * sizeof(float)));
    const std::size_t V = info.bert.vocab_size;
    const bool dense = V * max_t <= (std::size_t{1} << 24);
    std::vector<std::uint32_t> dense_map(dense ? V * max_t : 0, UINT32_MAX);
    std::unordered_map<std::uint64_t, std::uint32_t> sparse_map;
    std::size_t at = 0;
    for (std::size_t s = 0; s < seqs.size(); ++s) {
      table->start[s] = at;
      const auto& ids = *seqs[s];
      for (std::size_t t = 0; t < ids.size(); ++t) {
        const auto id = static_cast<std::size_t>(ids[t]);
        std::uint32_t* slot;
        if (dense) {
          slot = &dense_map[id * max_t + t];
        } else {
          slot = &sparse_map.try_emplace(static_cast<std::uint64_t>(id) * max_t + t, UINT32_MAX).first->second;
        }
        if (*slot == UINT32_MAX) {
          if (id_of.size() >= cap_pairs) return nullptr;
          *slot = static_cast<std::uint32_t>(id_of.size());
          id_of.push_back(ids[t]);
          pos_of.push_back(static_cast<std::uint32_t>(t));
        }
        table->index[at++] = *slot;
      }
    }
    const std::size_t pairs = table->pairs = id_of.size();
    table->h.resize(pairs * H);
    table->qkv.resize(pairs * 3 * H);
    const auto& lin = linears(p);
    const PackedLinear& qkv = lin[0][kQkv];
    constexpr std::size_t kBlock = 256;
    parallel_blocks(pairs, kBlock, [&](std::size_t b, std::size_t e, std::size_t) {
      Workspace ws;
      ws.reserve(kBlock, info.bert, 1, lin);
      float* hb = table->h.data() + b * H;
      const Activations a = ws.act(qkv.precision, hb, H);
      for (std::size_t i = b; i < e; ++i) embed_row(id_of[i], pos_of[i], hb + (i - b) * H, a, i - b);
      embed_detail::linear_forward(qkv, a, e - b, table->qkv.data() + b * 3 * H, 3 * H);
    });
    return table;
  }

  void forward_group(EmbedPrecision p, const std::vector<const std::vector<std::int32_t>*>& seqs, Workspace& ws,
                     const std::vector<float*>& pooled, float* hidden_out = nullptr, const Layer0Table* table = nullptr,
                     const std::vector<const std::uint32_t*>& pairs = {}) const {
    const BertConfig& c = info.bert;
    const std::size_t H = c.hidden_size, F = c.intermediate_size, heads = c.num_attention_heads, d = c.head_dim();
    const float eps = static_cast<float>(c.layer_norm_eps);
    std::vector<std::size_t> offset(seqs.size() + 1, 0);
    std::size_t max_t = 0;
    for (std::size_t s = 0; s < seqs.size(); ++s) {
      offset[s + 1] = offset[s] + seqs[s]->size();
      max_t = std::max(max_t, seqs[s]->size());
    }
    const std::size_t R = offset.back();
    const auto& lin = linears(p);
    ws.reserve(R, c, max_t, lin);
    float* h = ws.h.data();
    // Each linear layer reads its input in its own precision; an fp32 (BLAS) layer leaves
    // its bias to the pass that follows it.
    auto prec = [&](std::size_t l, Linear j) { return lin[l][j].precision; };
    auto fp_bias = [&](std::size_t l, Linear j) -> const float* {
      return prec(l, j) == EmbedPrecision::fp32 ? fp32[l][j].bias.data() : nullptr;
    };

    if (table) {
      for (std::size_t s = 0; s < seqs.size(); ++s)
        for (std::size_t t = 0; t < seqs[s]->size(); ++t) {
          const std::size_t r = offset[s] + t, pair = pairs[s][t];
          std::memcpy(h + r * H, table->h.data() + pair * H, H * sizeof(float));
          std::memcpy(ws.qkv.data() + r * 3 * H, table->qkv.data() + pair * 3 * H, 3 * H * sizeof(float));
        }
    } else {
      const Activations ah = ws.act(prec(0, kQkv), h, H);
      for (std::size_t s = 0; s < seqs.size(); ++s)
        for (std::size_t t = 0; t < seqs[s]->size(); ++t) embed_row((*seqs[s])[t], t, h + (offset[s] + t) * H, ah, offset[s] + t);
    }

    for (std::size_t l = 0; l < lin.size(); ++l) {
      const auto& L = lin[l];
      const LayerNormParams& n = norms[l];
      const bool last = l + 1 == lin.size();
      // Self-attention.
      if (l > 0 || !table) embed_detail::linear_forward(L[kQkv], ws.act(prec(l, kQkv), h, H), R, ws.qkv.data(), 3 * H);
      Activations actx = ws.act(prec(l, kOut), ws.ctx.data(), H);
      for (std::size_t s = 0; s < seqs.size(); ++s) {
        const std::size_t r0 = offset[s], T = offset[s + 1] - offset[s];
        embed_detail::attention(ws.qkv.data() + r0 * 3 * H, 3 * H, fp_bias(l, kQkv), T, heads, d, ws.ctx.data() + r0 * H, H,
                                ws.scratch.data());
        for (std::size_t r = r0; r < r0 + T; ++r) embed_detail::emit_row(ws.ctx.data() + r * H, H, actx, r);
      }
      embed_detail::linear_forward(L[kOut], actx, R, ws.tmp.data(), H);
      Activations a1 = ws.act(prec(l, kFfn1), h, H);
      float range[2];
      for (std::size_t r = 0; r < R; ++r) {
        embed_detail::add_layer_norm(h + r * H, ws.tmp.data() + r * H, fp_bias(l, kOut), n.attn_gamma.data(),
                                     n.attn_beta.data(), eps, H, h + r * H, range);
        embed_detail::emit_row(h + r * H, H, a1, r, range);
      }
      // Feed-forward, in row chunks when both layers are packed (an fp32 FFN1 reads h,
      // which the chunk's LayerNorm overwrites, so BLAS takes all rows at once). Slot 0
      // rows of a chunk are read by FFN1 before the LayerNorm writes the next layer's input
      // into them.
      const bool packed_ffn = prec(l, kFfn1) != EmbedPrecision::fp32 && prec(l, kFfn2) != EmbedPrecision::fp32;
      const std::size_t chunk = packed_ffn ? kFfnChunk : R;
      Activations a2 = ws.act(prec(l, kFfn2), ws.inter.data(), F, 1);
      Activations a3 = last ? Activations{} : ws.act(prec(l + 1, kQkv), h, H);
      for (std::size_t c0 = 0; c0 < R; c0 += chunk) {
        const std::size_t rows = std::min(chunk, R - c0);
        embed_detail::linear_gelu_forward(L[kFfn1], rows_from(a1, c0), rows, ws.inter.data(), F, fp_bias(l, kFfn1),
                                          ws.ranges.data());
        for (std::size_t r = 0; r < rows; ++r) embed_detail::emit_row(ws.inter.data() + r * F, F, a2, r, ws.ranges.data() + 2 * r);
        embed_detail::linear_forward(L[kFfn2], a2, rows, ws.tmp.data() + c0 * H, H);
        for (std::size_t r = c0; r < c0 + rows; ++r) {
          embed_detail::add_layer_norm(h + r * H, ws.tmp.data() + r * H, fp_bias(l, kFfn2), n.ffn_gamma.data(),
                                       n.ffn_beta.data(), eps, H, h + r * H, range);
          if (!last) embed_detail::emit_row(h + r * H, H, a3, r, range);
        }
      }
    }

    if (hidden_out) std::memcpy(hidden_out, h, R * H * sizeof(float));
    // Pooling over each sentence's tokens: the concatenation cls | max | mean | mean_sqrt_len.
    const PoolingConfig& pc = info.pooling;
    std::vector<double> sum(H);
    for (std::size_t s = 0; s < seqs.size(); ++s) {
      if (!pooled[s]) continue;
      const std::size_t r0 = offset[s], T = offset[s + 1] - offset[s];
      float* out = pooled[s];
      if (pc.cls) {
        std::memcpy(out, h + r0 * H, H * sizeof(float));
        out += H;
      }
      if (pc.max) {
        for (std::size_t i = 0; i < H; ++i) out[i] = h[r0 * H + i];
        for (std::size_t r = r0 + 1; r < r0 + T; ++r)
          for (std::size_t i = 0; i < H; ++i) out[i] = std::max(out[i], h[r * H + i]);
        out += H;
      }
      if (pc.mean || pc.mean_sqrt_len) {
        std::fill(sum.begin(), sum.end(), 0.0);
        for (std::size_t r = r0; r < r0 + T; ++r)
          for (std::size_t i = 0; i < H; ++i) sum[i] += h[r * H + i];
        if (pc.mean) {
          for (std::size_t i = 0; i < H; ++i) out[i] = static_cast<float>(sum[i] / static_cast<double>(T));
          out += H;
        }
        if (pc.mean_sqrt_len) {
          const double sq = std::sqrt(static_cast<double>(T));
          for (std::size_t i = 0; i < H; ++i) out[i] = static_cast<float>(sum[i] / sq);
          out += H;
        }
      }
      if (pc.last_token) std::memcpy(out, h + (r0 + T - 1) * H, H * sizeof(float));
    }
  }
};

namespace {

std::vector<float> load_tensor(const SafeTensors& st, const std::string& prefix, const std::string& name,
                               const std::vector<std::size_t>& shape) {
  return st.load(prefix + name, shape);
}

// LayerNorm parameters appear as weight/bias, or gamma/beta in checkpoints converted from TensorFlow.
std::vector<float> load_norm(const SafeTensors& st, const std::string& prefix, const std::string& base, bool weight,
                             std::size_t H) {
  const std::string modern = prefix + base + (weight ? ".weight" : ".bias");
  if (st.find(modern)) return st.load(modern, {H});
  const std::string legacy = prefix + base + (weight ? ".gamma" : ".beta");
  if (st.find(legacy)) return st.load(legacy, {H});
  return st.load(modern, {H});  // throws the "missing" error with the modern name
}

template <class V>
AlignedVector<float> aligned(const V& v) {
  return AlignedVector<float>(v.begin(), v.end());
}

}  // namespace

SentenceEncoder::SentenceEncoder() = default;
SentenceEncoder::~SentenceEncoder() = default;
SentenceEncoder::SentenceEncoder(const SentenceEncoder&) = default;
SentenceEncoder& SentenceEncoder::operator=(const SentenceEncoder&) = default;
SentenceEncoder::SentenceEncoder(SentenceEncoder&&) noexcept = default;
SentenceEncoder& SentenceEncoder::operator=(SentenceEncoder&&) noexcept = default;

SentenceEncoder SentenceEncoder::load(const std::string& dir) {
  init_blas();  // one BLAS thread per batch, also for hidden_states(), which runs no parallel loop
  auto impl = std::make_shared<Impl>();
  impl->info = read_model_info(dir);
  check_model_weights(dir);
  const fs::path transformer = fs::path(impl->info.weights_path).parent_path();
  impl->tokenizer = Tokenizer::from_folder(transformer.string());
  const BertConfig& c = impl->info.bert;
  if (impl->tokenizer.vocab_size() > c.vocab_size)
    throw ModelFormatError(fmt::format("{}: the tokenizer has {} tokens but config.json's vocab_size is {}", dir,
                                       impl->tokenizer.vocab_size(), c.vocab_size));
  const std::string bytes = read_file(impl->info.weights_path);
  const std::uint64_t weights_hash = fnv1a64(bytes);
  const SafeTensors st = SafeTensors::parse(bytes, impl->info.weights_path);
  std::string prefix;
  if (!st.find("embeddings.word_embeddings.weight"))
    for (const char* p : {"bert.", "roberta.", "xlm_roberta."})
      if (st.find(std::string(p) + "embeddings.word_embeddings.weight")) prefix = p;
  const std::size_t H = c.hidden_size, F = c.intermediate_size;
  impl->word = aligned(load_tensor(st, prefix, "embeddings.word_embeddings.weight", {c.vocab_size, H}));
  {
    const auto pos = load_tensor(st, prefix, "embeddings.position_embeddings.weight", {c.max_position_embeddings, H});
    impl->pos.assign(pos.begin() + static_cast<std::ptrdiff_t>(c.position_offset * H), pos.end());
  }
  const auto types = load_tensor(st, prefix, "embeddings.token_type_embeddings.weight", {c.type_vocab_size, H});
  impl->type0.assign(types.begin(), types.begin() + static_cast<std::ptrdiff_t>(H));
  impl->emb_gamma = aligned(load_norm(st, prefix, "embeddings.LayerNorm", true, H));
  impl->emb_beta = aligned(load_norm(st, prefix, "embeddings.LayerNorm", false, H));
  for (std::size_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string base = fmt::format("encoder.layer.{}.", l);
    auto w = [&](const std::string& name, std::size_t out, std::size_t in) {
      return load_tensor(st, prefix, base + name + ".weight", {out, in});
    };
    auto b = [&](const std::string& name, std::size_t out) { return load_tensor(st, prefix, base + name + ".bias", {out}); };
    std::vector<float> wqkv, bqkv;
    for (const char* part : {"query", "key", "value"}) {
      const auto wp = w(std::string("attention.self.") + part, H, H);
      const auto bp = b(std::string("attention.self.") + part, H);
      wqkv.insert(wqkv.end(), wp.begin(), wp.end());
      bqkv.insert(bqkv.end(), bp.begin(), bp.end());
    }
    std::array<PackedLinear, 4> lin;
    lin[kQkv] = embed_detail::pack_linear(EmbedPrecision::fp32, wqkv.data(), bqkv.data(), 3 * H, H);
    {
      const auto wo = w("attention.output.dense", H, H);
      const auto bo = b("attention.output.dense", H);
      lin[kOut] = embed_detail::pack_linear(EmbedPrecision::fp32, wo.data(), bo.data(), H, H);
    }
    {
      const auto wi = w("intermediate.dense", F, H);
      const auto bi = b("intermediate.dense", F);
      lin[kFfn1] = embed_detail::pack_linear(EmbedPrecision::fp32, wi.data(), bi.data(), F, H);
    }
    {
      const auto wo2 = w("output.dense", H, F);
      const auto bo2 = b("output.dense", H);
      lin[kFfn2] = embed_detail::pack_linear(EmbedPrecision::fp32, wo2.data(), bo2.data(), H, F);
    }
    impl->fp32.push_back(std::move(lin));
    LayerNormParams n;
    n.attn_gamma = aligned(load_norm(st, prefix, base + "attention.output.LayerNorm", true, H));
    n.attn_beta = aligned(load_norm(st, prefix, base + "attention.output.LayerNorm", false, H));
    n.ffn_gamma = aligned(load_norm(st, prefix, base + "output.LayerNorm", true, H));
    n.ffn_beta = aligned(load_norm(st, prefix, base + "output.LayerNorm", false, H));
    impl->norms.push_back(std::move(n));
  }
  const auto& in = impl->info;
  std::string key =
      fmt::format("{:016x}|{:016x}|{}|{}|{}|{}|{}{}{}{}|{}|{}|{}|{}|{}|{}", weights_hash, impl->tokenizer.fingerprint(),
                  in.max_seq_length, in.do_lower_case, in.normalize, c.layer_norm_eps, in.pooling.cls, in.pooling.max,
                  in.pooling.mean, in.pooling.mean_sqrt_len, c.vocab_size, c.hidden_size, c.num_hidden_layers,
                  c.num_attention_heads, c.intermediate_size, c.max_position_embeddings);
  // Appended only when set, so that the models that loaded before keep their
  // fingerprints (model.json files record them).
  if (in.pooling.last_token) key += "|lasttoken";
  if (c.position_offset) key += fmt::format("|positions+{}", c.position_offset);
  impl->fingerprint = fnv1a64(key);
  SentenceEncoder e;
  e.impl_ = std::move(impl);
  return e;
}

namespace {
const SentenceEncoder::Impl& need(const std::shared_ptr<const SentenceEncoder::Impl>& p) {
  if (!p) throw NotFitted("embed: no model loaded (use SentenceEncoder::load)");
  return *p;
}
}  // namespace

const SentenceModelInfo& SentenceEncoder::info() const { return need(impl_).info; }
const Tokenizer& SentenceEncoder::tokenizer() const { return need(impl_).tokenizer; }
std::size_t SentenceEncoder::dimension() const { return need(impl_).info.dimension(); }
std::uint64_t SentenceEncoder::fingerprint() const { return need(impl_).fingerprint; }

namespace {
// The tokens of one sentence as sentence-transformers forms them: the prompt put before
// the text, model-level lower-casing, truncation to max_seq_length. True when truncated.
bool sentence_ids(const SentenceEncoder::Impl& m, const std::string& prompt, const std::string& text,
                  std::vector<std::int32_t>& out) {
  std::string full;
  const std::string* s = &text;
  if (!prompt.empty()) {
    full = prompt + text;
    s = &full;
  }
  if (m.info.do_lower_case) return m.tokenizer.encode_into(embed_detail::lower_text(*s), m.info.max_seq_length, out);
  return m.tokenizer.encode_into(*s, m.info.max_seq_length, out);
}
}  // namespace

std::vector<std::vector<std::int32_t>> SentenceEncoder::token_ids(const std::vector<std::string>& sentences,
                                                                  const std::string& prompt_name) const {
  const Impl& m = need(impl_);
  const std::string prompt = m.info.prompt_text(prompt_name);
  std::vector<std::vector<std::int32_t>> out(sentences.size());
  parallel_blocks(sentences.size(), 512, [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t i = b; i < e; ++i) sentence_ids(m, prompt, sentences[i], out[i]);
  });
  return out;
}

MatrixF SentenceEncoder::hidden_states(const std::vector<std::int32_t>& ids, EmbedPrecision precision) const {
  const Impl& m = need(impl_);
  const BertConfig& c = m.info.bert;
  if (ids.empty() || ids.size() > c.max_tokens())
    throw InvalidArgument(fmt::format("embed: a token sequence must hold 1..{} ids, got {}", c.max_tokens(), ids.size()));
  for (auto id : ids)
    if (id < 0 || static_cast<std::size_t>(id) >= c.vocab_size)
      throw InvalidArgument(fmt::format("embed: token id {} is outside the vocabulary (size {})", id, c.vocab_size));
  Workspace ws;
  MatrixF out(ids.size(), c.hidden_size);
  std::vector<float> pooled(m.info.dimension());
  m.forward_group(precision, {&ids}, ws, {pooled.data()}, out.data());
  return out;
}

namespace {

// On-disk cache: one file per (model fingerprint, precision), holding records
// (128-bit sentence hash, pooled vector). Rewritten atomically after each encode call that
// added vectors; a file that does not parse is ignored (and replaced).
struct DiskCache {
  std::string path;
  std::size_t dim = 0;
  std::unordered_map<std::uint64_t, std::vector<std::pair<embed_detail::Hash128, std::size_t>>> index;
  std::vector<embed_detail::Hash128> keys;
  std::vector<float> values;
  std::uint64_t digest = 0;  // of the file's bytes as read (0: no file)

  static constexpr char kMagic[8] = {'S', 'G', 'M', 'T', 'E', 'M', 'B', '1'};

  const float* find(const embed_detail::Hash128& k) const {
    auto it = index.find(k.a);
    if (it == index.end()) return nullptr;
    for (const auto& [key, slot] : it->second)
      if (key == k) return values.data() + slot * dim;
    return nullptr;
  }
  void add(const embed_detail::Hash128& k, const float* v) {
    if (find(k)) return;
    index[k.a].emplace_back(k, keys.size());
    keys.push_back(k);
    values.insert(values.end(), v, v + dim);
  }
  void load(Diagnostics* diag) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return;
    const std::string bytes = read_file(path);
    digest = embed_detail::hash128(bytes).a | 1;
    auto bad = [&] {
      if (diag) diag->warn("embed", "cache_unreadable", fmt::format("ignoring the unreadable embedding cache {}", path));
    };
    if (bytes.size() < 24 || std::memcmp(bytes.data(), kMagic, 8) != 0) return bad();
    std::uint32_t d;
    std::uint64_t count;
    std::memcpy(&d, bytes.data() + 8, 4);
    std::memcpy(&count, bytes.data() + 16, 8);
    const std::size_t rec = 16 + 4 * static_cast<std::size_t>(d);
    if (d != dim || count > (bytes.size() - 24) / rec || bytes.size() != 24 + count * rec) return bad();
    keys.reserve(count);
    values.reserve(count * dim);
    for (std::uint64_t i = 0; i < count; ++i) {
      const char* p = bytes.data() + 24 + i * rec;
      embed_detail::Hash128 k;
      std::memcpy(&k.a, p, 8);
      std::memcpy(&k.b, p + 8, 8);
      std::vector<float> v(dim);
      std::memcpy(v.data(), p + 16, 4 * dim);
      add(k, v.data());
    }
  }
  void save() const {
    std::string out(24 + keys.size() * (16 + 4 * dim), '\0');
    std::memcpy(out.data(), kMagic, 8);
    const auto d = static_cast<std::uint32_t>(dim);
    const std::uint64_t count = keys.size();
    std::memcpy(out.data() + 8, &d, 4);
    std::memcpy(out.data() + 16, &count, 8);
    char* p = out.data() + 24;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::memcpy(p, &keys[i].a, 8);
      std::memcpy(p + 8, &keys[i].b, 8);
      std::memcpy(p + 16, values.data() + i * dim, 4 * dim);
      p += 16 + 4 * dim;
    }
    write_file_atomic(path, out);
  }
};

// Tokens per group in Impl::forward. The BLAS path keeps whole batches (OpenBLAS packs
// the weights on every call, which favours tall calls); the packed-weight kernels prefer
// groups whose Q|K|V block (128 x 3H floats, 590 KB for MiniLM) is still in L2 when the
// attention reads it.
std::size_t group_rows(EmbedPrecision p) { return p == EmbedPrecision::fp32 ? std::size_t{1} << 30 : 128; }

// What the ranks of an MPI run did in run_batches (EncodeStats' per-rank fields).
struct RankRun {
  std::vector<std::size_t> encoded;
  std::vector<double> seconds;
  std::uint64_t bytes = 0;
};

// Rows per rank and per exchange when gathering vectors: every exchange stays below 1 GiB
// in all (MPI counts are ints), whatever the rank count.
std::size_t gather_rows_per_round(std::size_t dim, int ranks) {
  const std::size_t budget = std::size_t{1} << 30;
  return std::max<std::size_t>(1, budget / (static_cast<std::size_t>(ranks) * dim * sizeof(float)));
}

// Encodes token sequences (already validated) into `out` rows (pooled, not normalised),
// in length-sorted batches of batch_size, one batch per task.
// With several ranks (o.comm), each runs the batches rank_blocks gives it, in the
// order one process runs them (the batches, and the layer-0 table built over every
// sequence, are the one-process ones, so every vector has its one-process bits; an fp32
// vector could otherwise change with its batch's rows), and the vectors are gathered in
// that order into every rank's `out`.
// Returns the number of layer-0 pairs shared (0: no table).
std::size_t run_batches(const SentenceEncoder::Impl& m, const std::vector<const std::vector<std::int32_t>*>& seqs,
                        const std::vector<float*>& out, const EncodeOptions& o, RankRun* ranks = nullptr) {
  std::vector<std::size_t> order(seqs.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return seqs[a]->size() > seqs[b]->size(); });
  const Communicator* comm = o.comm != nullptr && o.comm->size() > 1 ? o.comm : nullptr;
  const Blocks blocks{order.size(), o.batch_size};
  // Batches [share.first, share.last) are this rank's; sentences [row(first), row(last)) of `order`.
  const auto share_of = [&](int rank) {
    return comm ? rank_blocks(blocks.count(), rank, comm->size()) : RankBlocks{0, blocks.count()};
  };
  const auto row = [&](std::size_t b) { return std::min(order.size(), blocks.begin(b)); };
  const RankBlocks share = share_of(comm ? comm->rank() : 0);
  std::size_t pairs = 0;
  std::atomic<std::size_t> encoded_here{0};  // sentences this process ran through the encoder
  Stopwatch clock;
  const auto work = [&] {
    m.linears(o.precision);  // pack the weights once, before the threads start
    std::unique_ptr<Progress> progress;
    if (o.progress) progress = std::make_unique<Progress>(o.progress_label, row(share.last) - row(share.first), "sentences");
    const std::unique_ptr<Layer0Table> table = m.layer0_table(o.precision, seqs);
    pairs = table ? table->pairs : 0;
    WorkspacePool pool;
    parallel_for(share.last - share.first, [&](std::size_t j) {
      const std::size_t b = share.first + j;
      std::vector<const std::vector<std::int32_t>*> batch;
      std::vector<float*> dst;
      std::vector<const std::uint32_t*> pairs_of;
      for (std::size_t i = blocks.begin(b); i < blocks.end(b); ++i) {
        batch.push_back(seqs[order[i]]);
        dst.push_back(out[order[i]]);
        if (table) pairs_of.push_back(table->index.data() + table->start[order[i]]);
      }
      auto ws = pool.take();
      m.forward(o.precision, batch, *ws, dst, group_rows(o.precision), table.get(), pairs_of);
      pool.give(std::move(ws));
      encoded_here += batch.size();
      if (progress) progress->advance(batch.size());
    });
    if (progress) progress->finish();
  };
  if (!comm) {
    work();
    return pairs;
  }

  // Every rank learns of any rank's failure before the exchange (else the others wait).
  agree_on_failure(*comm, work);
  const double seconds = clock.seconds();
  const std::size_t dim = m.info.dimension(), row_bytes = dim * sizeof(float);
  const int size = comm->size();
  const std::uint64_t received_before = comm->bytes_gathered();
  std::vector<std::size_t> begin(static_cast<std::size_t>(size)), count(static_cast<std::size_t>(size));
  std::size_t most = 0;
  for (int r = 0; r < size; ++r) {
    const RankBlocks s = share_of(r);
    begin[static_cast<std::size_t>(r)] = row(s.first);
    count[static_cast<std::size_t>(r)] = row(s.last) - row(s.first);
    most = std::max(most, count[static_cast<std::size_t>(r)]);
  }
  // In rounds of at most `step` rows from each rank; every rank knows every share, so
  // all run the same rounds.
  const std::size_t step = gather_rows_per_round(dim, size), me = static_cast<std::size_t>(comm->rank());
  for (std::size_t done = 0; done < most; done += step) {
    const std::size_t mine = std::min(step, count[me] - std::min(done, count[me]));
    std::string bytes(mine * row_bytes, '\0');
    for (std::size_t i = 0; i < mine; ++i)
      std::memcpy(bytes.data() + i * row_bytes, out[order[begin[me] + done + i]], row_bytes);
    const std::vector<std::string> all = comm->allgather_bytes(bytes);
    for (std::size_t r = 0; r < all.size(); ++r) {
      const std::size_t theirs = std::min(step, count[r] - std::min(done, count[r]));
      if (all[r].size() != theirs * row_bytes)
        throw Error(fmt::format("embed: rank {} sent {} bytes of vectors, not {}", r, all[r].size(), theirs * row_bytes));
      if (r == me) continue;
      for (std::size_t i = 0; i < theirs; ++i)
        std::memcpy(out[order[begin[r] + done + i]], all[r].data() + i * row_bytes, row_bytes);
    }
  }
  // What each rank did (counted as it ran, not derived from the shares).
  const std::uint64_t bytes = comm->bytes_gathered() - received_before;
  const double did[] = {seconds, static_cast<double>(encoded_here.load())};
  const std::vector<double> all = comm->allgather(did);
  if (ranks) {
    ranks->encoded.clear();
    ranks->seconds.clear();
    for (std::size_t r = 0; r + 1 < all.size(); r += 2) {
      ranks->seconds.push_back(all[r]);
      ranks->encoded.push_back(static_cast<std::size_t>(all[r + 1]));
    }
    ranks->bytes = bytes;
  }
  return pairs;
}

// Distinct keys in order of first appearance: first[u] is the first index of key u,
// slot[i] the key of index i.
struct Distinct {
  std::vector<std::size_t> first, slot;
};
template <class KeyOf>
Distinct distinct(std::size_t n, KeyOf key_of) {
  Distinct d;
  d.slot.resize(n);
  std::unordered_map<std::string_view, std::size_t> seen;
  seen.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto [it, inserted] = seen.emplace(key_of(i), d.first.size());
    if (inserted) d.first.push_back(i);
    d.slot[i] = it->second;
  }
  return d;
}

// The rows of `uniq` back in input order (row i is uniq row slot[i]), L2-normalised when asked.
MatrixF expand_rows(const Matrix<float>& uniq, const std::vector<std::size_t>& slot, bool normalize) {
  const std::size_t dim = uniq.cols();
  MatrixF out(slot.size(), dim);
  for (std::size_t i = 0; i < slot.size(); ++i) {
    std::memcpy(out.row(i), uniq.row(slot[i]), dim * sizeof(float));
    if (normalize) l2_normalize(out.row(i), dim);
  }
  return out;
}

void validate_options(const EncodeOptions& o) {
  if (o.batch_size == 0) throw InvalidArgument("embed: batch_size must be at least 1");
}

}  // namespace

MatrixF SentenceEncoder::encode_ids(const std::vector<std::vector<std::int32_t>>& ids, const EncodeOptions& options,
                                    EncodeStats* stats) const {
  const Impl& m = need(impl_);
  validate_options(options);
  Stopwatch clock;
  const BertConfig& c = m.info.bert;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty() || ids[i].size() > c.max_tokens())
      throw InvalidArgument(fmt::format("embed: sequence {} must hold 1..{} ids, got {}", i, c.max_tokens(), ids[i].size()));
    for (auto id : ids[i])
      if (id < 0 || static_cast<std::size_t>(id) >= c.vocab_size)
        throw InvalidArgument(fmt::format("embed: sequence {} holds token id {} outside the vocabulary (size {})", i, id, c.vocab_size));
  }
  const std::size_t dim = m.info.dimension();
  // Identical sequences are encoded once, as encode() does with identical texts, so the
  // same ids give the same batches and therefore the same bits (BLAS results may depend
  // on a call's row count).
  const auto [first, slot] = distinct(ids.size(), [&](std::size_t i) {
    return std::string_view(reinterpret_cast<const char*>(ids[i].data()), ids[i].size() * sizeof(std::int32_t));
  });
  MatrixF uniq(first.size(), dim);
  std::vector<const std::vector<std::int32_t>*> seqs;
  std::vector<float*> dst;
  for (std::size_t u = 0; u < first.size(); ++u) {
    seqs.push_back(&ids[first[u]]);
    dst.push_back(uniq.row(u));
  }
  RankRun ranks;
  const std::size_t pairs = run_batches(m, seqs, dst, options, &ranks);
  MatrixF out = expand_rows(uniq, slot, options.normalize.value_or(m.info.normalize));
  if (stats) {
    *stats = EncodeStats{};
    stats->sentences = ids.size();
    stats->unique = stats->encoded = first.size();
    for (std::size_t u : first) {
      stats->tokens += ids[u].size();
      stats->flops += bert_forward_flops(c, ids[u].size());
    }
    stats->seconds = clock.seconds();
    stats->layer0_pairs = pairs;
    stats->encoded_by_rank = std::move(ranks.encoded);
    stats->seconds_by_rank = std::move(ranks.seconds);
    stats->bytes_received = ranks.bytes;
  }
  return out;
}

MatrixF SentenceEncoder::encode(const std::vector<std::string>& sentences, const EncodeOptions& options,
                                EncodeStats* stats, Diagnostics* diagnostics) const {
  const Impl& m = need(impl_);
  validate_options(options);
  const std::string prompt = options.prompt ? (options.prompt->empty() ? "" : m.info.prompt_text(*options.prompt))
                                            : m.info.prompt_text("");
  Stopwatch clock;
  const std::size_t dim = m.info.dimension();
  EncodeStats st;
  st.sentences = sentences.size();

  // Distinct texts, in order of first appearance.
  // (Named members rather than a structured binding: lambdas below capture them, which
  // clang before 16 refuses for bindings.)
  const Distinct unique_texts = distinct(sentences.size(), [&](std::size_t i) { return std::string_view(sentences[i]); });
  const auto& first = unique_texts.first;
  const auto& slot = unique_texts.slot;
  st.unique = first.size();
  Matrix<float> uniq(first.size(), dim);

  // With several ranks, a failure on any rank is every rank's (the others would wait).
  const Communicator* comm = options.comm != nullptr && options.comm->size() > 1 ? options.comm : nullptr;
  const auto on_every_rank = [&](const auto& step) {
    if (comm)
      agree_on_failure(*comm, step);
    else
      step();
  };
  std::unique_ptr<DiskCache> cache;
  std::vector<embed_detail::Hash128> keys;
  std::vector<std::size_t> todo;
  if (!options.cache_dir.empty()) {
    on_every_rank([&] {
      std::error_code ec;
      fs::create_directories(options.cache_dir, ec);
      if (!fs::is_directory(options.cache_dir))
        throw IoError(fmt::format("embed: cannot create the cache directory {}", options.cache_dir));
      cache = std::make_unique<DiskCache>();
      cache->dim = dim;
      // The int8 mode's key names its per-layer plan, so that vectors cached under another
      // plan (before the attention output moved to bf16) are not mixed with new ones.
      const std::string mode = options.precision == EmbedPrecision::int8
                                   ? "int8:" + embed_detail::plan_name(embed_detail::linear_plan(EmbedPrecision::int8))
                                   : std::string(to_string(options.precision));
      const auto model_key = embed_detail::hash128(prompt.empty() ? fmt::format("{:016x}|{}", m.fingerprint, mode)
                                                                  : fmt::format("{:016x}|{}|prompt={}", m.fingerprint, mode, prompt));
      cache->path = (fs::path(options.cache_dir) / fmt::format("embed-{:016x}{:016x}.bin", model_key.a, model_key.b)).string();
      cache->load(diagnostics);
    });
    if (comm) {
      // Every rank read the file; the ranks run the same batches only if they read the same bytes.
      const std::int64_t mine = static_cast<std::int64_t>(cache->digest);
      for (std::int64_t d : comm->allgather(std::span<const std::int64_t>(&mine, 1)))
        if (d != mine)
          throw IoError(fmt::format("embed: the embedding cache {} changed while the ranks read it; run again", cache->path));
    }
    keys.resize(first.size());
    for (std::size_t u = 0; u < first.size(); ++u) {
      keys[u] = embed_detail::hash128(sentences[first[u]]);
      if (const float* v = cache->find(keys[u])) {
        std::memcpy(uniq.row(u), v, dim * sizeof(float));
        ++st.cached;
      } else {
        todo.push_back(u);
      }
    }
  } else {
    todo.resize(first.size());
    std::iota(todo.begin(), todo.end(), std::size_t{0});
  }

  // Tokenise what is left, in fixed blocks.
  std::vector<std::vector<std::int32_t>> ids(todo.size());
  std::vector<char> truncated(todo.size(), 0);
  parallel_blocks(todo.size(), 512, [&](std::size_t b, std::size_t e, std::size_t) {
    for (std::size_t i = b; i < e; ++i) {
      truncated[i] = sentence_ids(m, prompt, sentences[first[todo[i]]], ids[i]);
    }
  });
  std::vector<const std::vector<std::int32_t>*> seqs;
  std::vector<float*> dst;
  for (std::size_t i = 0; i < todo.size(); ++i) {
    seqs.push_back(&ids[i]);
    dst.push_back(uniq.row(todo[i]));
    st.tokens += ids[i].size();
    st.truncated += truncated[i];
    st.flops += bert_forward_flops(m.info.bert, ids[i].size());
  }
  st.encoded = todo.size();
  RankRun ranks;
  st.layer0_pairs = run_batches(m, seqs, dst, options, &ranks);
  st.encoded_by_rank = std::move(ranks.encoded);
  st.seconds_by_rank = std::move(ranks.seconds);
  st.bytes_received = ranks.bytes;
  if (diagnostics && st.truncated)
    diagnostics->warn("embed", "truncated",
                      fmt::format("{} of {} sentences were longer than the model's max_seq_length of {} tokens and were "
                                  "truncated (their ends do not count in the vectors)",
                                  st.truncated, st.encoded, m.info.max_seq_length));
  if (cache && !todo.empty())
    on_every_rank([&] {
      if (comm && comm->rank() != 0) return;  // one writer: every rank holds the same vectors
      for (std::size_t u : todo) cache->add(keys[u], uniq.row(u));
      cache->save();
    });

  MatrixF out = expand_rows(uniq, slot, options.normalize.value_or(m.info.normalize));
  st.seconds = clock.seconds();
  if (stats) *stats = st;
  return out;
}

std::string_view to_string(EmbedPrecision p) noexcept {
  switch (p) {
    case EmbedPrecision::fp32: return "fp32";
    case EmbedPrecision::bf16: return "bf16";
    case EmbedPrecision::int8: return "int8";
  }
  return "fp32";
}

EmbedPrecision parse_embed_precision(std::string_view name, std::string_view what) {
  if (name == "fp32" || name == "f32" || name == "float32") return EmbedPrecision::fp32;
  if (name == "bf16" || name == "bfloat16") return EmbedPrecision::bf16;
  if (name == "int8" || name == "i8") return EmbedPrecision::int8;
  throw InvalidArgument(fmt::format("{}: unknown precision '{}' (fp32, bf16 or int8)", what, name));
}

bool embed_precision_accelerated(EmbedPrecision p) noexcept {
  // The kernel actually chosen (SEGMENTA_NO_AMX and SEGMENTA_EMBED_KERNEL included), not
  // what the CPU could do: AVX2 and the portable kernel emulate the bf16 / int8 dot products
  // (AVX-VNNI has the int8 one).
  using embed_detail::LinearKernel;
  const LinearKernel k = embed_detail::linear_kernel(p);
  return k == LinearKernel::sgemm || k == LinearKernel::amx || k == LinearKernel::avx512 || k == LinearKernel::avx_vnni;
}

std::string_view embed_precision_kernel(EmbedPrecision p) noexcept {
  using embed_detail::LinearKernel;
  switch (embed_detail::linear_kernel(p)) {
    case LinearKernel::sgemm: return "sgemm";
    case LinearKernel::amx: return "amx";
    case LinearKernel::avx512: return p == EmbedPrecision::bf16 ? "avx512-bf16" : "avx512-vnni";
    case LinearKernel::avx_vnni: return "avx-vnni";
    case LinearKernel::avx2: return "avx2";
    case LinearKernel::portable: return "portable";
  }
  return "portable";
}

}  // namespace segmenta
