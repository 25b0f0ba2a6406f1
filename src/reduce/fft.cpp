#include "reduce/fft.hpp"

#include <cmath>
#include <numbers>

#include "reduce/tsne_internal.hpp"

namespace segmenta::tsne_detail {
namespace {

// Radix kernels. a_t are the (already twiddled) inputs of one butterfly, y_t its
// outputs; sgn = -1 for the forward transform, +1 for the inverse, so that the
// r-th root of unity used is e^{sgn 2πi / r}.

template <class R>
inline void twiddle(R& re, R& im, R wr, R wi) {
  const R a = re * wr - im * wi;
  im = re * wi + im * wr;
  re = a;
}

template <class R>
void stage_radix2(R* re, R* im, std::size_t m, std::size_t l, std::size_t w, const R* twr, const R* twi) {
  const std::size_t span = 2 * l;
  for (std::size_t b = 0; b < m; b += span)
    for (std::size_t j = 0; j < l; ++j) {
      R* __restrict r0 = re + (b + j) * w;
      R* __restrict i0 = im + (b + j) * w;
      R* __restrict r1 = re + (b + j + l) * w;
      R* __restrict i1 = im + (b + j + l) * w;
      const R wr = twr[j], wi = twi[j];
      for (std::size_t c = 0; c < w; ++c) {
        R xr = r1[c], xi = i1[c];
        twiddle(xr, xi, wr, wi);
        const R ar = r0[c], ai = i0[c];
        r0[c] = ar + xr;
        i0[c] = ai + xi;
        r1[c] = ar - xr;
        i1[c] = ai - xi;
      }
    }
}

template <class R>
void stage_radix3(R* re, R* im, std::size_t m, std::size_t l, std::size_t w, const R* twr, const R* twi, R sgn) {
  const std::size_t span = 3 * l;
  const R h = R(0.5), s = sgn * static_cast<R>(std::numbers::sqrt3 / 2);
  for (std::size_t b = 0; b < m; b += span)
    for (std::size_t j = 0; j < l; ++j) {
      R* __restrict r0 = re + (b + j) * w;
      R* __restrict i0 = im + (b + j) * w;
      R* __restrict r1 = re + (b + j + l) * w;
      R* __restrict i1 = im + (b + j + l) * w;
      R* __restrict r2 = re + (b + j + 2 * l) * w;
      R* __restrict i2 = im + (b + j + 2 * l) * w;
      const R w1r = twr[2 * j], w1i = twi[2 * j], w2r = twr[2 * j + 1], w2i = twi[2 * j + 1];
      for (std::size_t c = 0; c < w; ++c) {
        R a1r = r1[c], a1i = i1[c], a2r = r2[c], a2i = i2[c];
        twiddle(a1r, a1i, w1r, w1i);
        twiddle(a2r, a2i, w2r, w2i);
        const R a0r = r0[c], a0i = i0[c];
        const R sr = a1r + a2r, si = a1i + a2i;
        const R dr = a1r - a2r, di = a1i - a2i;
        const R tr = a0r - h * sr, ti = a0i - h * si;
        // ± i·s·(a1 - a2)
        const R ur = -s * di, ui = s * dr;
        r0[c] = a0r + sr;
        i0[c] = a0i + si;
        r1[c] = tr + ur;
        i1[c] = ti + ui;
        r2[c] = tr - ur;
        i2[c] = ti - ui;
      }
    }
}

template <class R>
void stage_radix4(R* re, R* im, std::size_t m, std::size_t l, std::size_t w, const R* twr, const R* twi, R sgn) {
  const std::size_t span = 4 * l;
  for (std::size_t b = 0; b < m; b += span)
    for (std::size_t j = 0; j < l; ++j) {
      R* __restrict r0 = re + (b + j) * w;
      R* __restrict i0 = im + (b + j) * w;
      R* __restrict r1 = re + (b + j + l) * w;
      R* __restrict i1 = im + (b + j + l) * w;
      R* __restrict r2 = re + (b + j + 2 * l) * w;
      R* __restrict i2 = im + (b + j + 2 * l) * w;
      R* __restrict r3 = re + (b + j + 3 * l) * w;
      R* __restrict i3 = im + (b + j + 3 * l) * w;
      const R w1r = twr[3 * j], w1i = twi[3 * j];
      const R w2r = twr[3 * j + 1], w2i = twi[3 * j + 1];
      const R w3r = twr[3 * j + 2], w3i = twi[3 * j + 2];
      for (std::size_t c = 0; c < w; ++c) {
        R a1r = r1[c], a1i = i1[c], a2r = r2[c], a2i = i2[c], a3r = r3[c], a3i = i3[c];
        twiddle(a1r, a1i, w1r, w1i);
        twiddle(a2r, a2i, w2r, w2i);
        twiddle(a3r, a3i, w3r, w3i);
        const R a0r = r0[c], a0i = i0[c];
        const R p02r = a0r + a2r, p02i = a0i + a2i, m02r = a0r - a2r, m02i = a0i - a2i;
        const R p13r = a1r + a3r, p13i = a1i + a3i, m13r = a1r - a3r, m13i = a1i - a3i;
        // sgn·i·(a1 - a3)
        const R ur = -sgn * m13i, ui = sgn * m13r;
        r0[c] = p02r + p13r;
        i0[c] = p02i + p13i;
        r2[c] = p02r - p13r;
        i2[c] = p02i - p13i;
        r1[c] = m02r + ur;
        i1[c] = m02i + ui;
        r3[c] = m02r - ur;
        i3[c] = m02i - ui;
      }
    }
}

template <class R>
void stage_radix5(R* re, R* im, std::size_t m, std::size_t l, std::size_t w, const R* twr, const R* twi, R sgn) {
  const std::size_t span = 5 * l;
  const R c1 = static_cast<R>(std::cos(2 * std::numbers::pi / 5)), c2 = static_cast<R>(std::cos(4 * std::numbers::pi / 5));
  const R s1 = sgn * static_cast<R>(std::sin(2 * std::numbers::pi / 5));
  const R s2 = sgn * static_cast<R>(std::sin(4 * std::numbers::pi / 5));
  for (std::size_t b = 0; b < m; b += span)
    for (std::size_t j = 0; j < l; ++j) {
      R* __restrict r0 = re + (b + j) * w;
      R* __restrict i0 = im + (b + j) * w;
      R* __restrict r1 = re + (b + j + l) * w;
      R* __restrict i1 = im + (b + j + l) * w;
      R* __restrict r2 = re + (b + j + 2 * l) * w;
      R* __restrict i2 = im + (b + j + 2 * l) * w;
      R* __restrict r3 = re + (b + j + 3 * l) * w;
      R* __restrict i3 = im + (b + j + 3 * l) * w;
      R* __restrict r4 = re + (b + j + 4 * l) * w;
      R* __restrict i4 = im + (b + j + 4 * l) * w;
      const R* tr = twr + 4 * j;
      const R* ti = twi + 4 * j;
      for (std::size_t c = 0; c < w; ++c) {
        R a1r = r1[c], a1i = i1[c], a2r = r2[c], a2i = i2[c], a3r = r3[c], a3i = i3[c], a4r = r4[c], a4i = i4[c];
        twiddle(a1r, a1i, tr[0], ti[0]);
        twiddle(a2r, a2i, tr[1], ti[1]);
        twiddle(a3r, a3i, tr[2], ti[2]);
        twiddle(a4r, a4i, tr[3], ti[3]);
        const R a0r = r0[c], a0i = i0[c];
        const R b1r = a1r + a4r, b1i = a1i + a4i, d1r = a1r - a4r, d1i = a1i - a4i;
        const R b2r = a2r + a3r, b2i = a2i + a3i, d2r = a2r - a3r, d2i = a2i - a3i;
        const R t1r = a0r + c1 * b1r + c2 * b2r, t1i = a0i + c1 * b1i + c2 * b2i;
        const R t2r = a0r + c2 * b1r + c1 * b2r, t2i = a0i + c2 * b1i + c1 * b2i;
        // u1 = i (s1 d1 + s2 d2), u2 = i (s2 d1 - s1 d2)
        const R e1r = s1 * d1r + s2 * d2r, e1i = s1 * d1i + s2 * d2i;
        const R e2r = s2 * d1r - s1 * d2r, e2i = s2 * d1i - s1 * d2i;
        r0[c] = a0r + b1r + b2r;
        i0[c] = a0i + b1i + b2i;
        r1[c] = t1r - e1i;
        i1[c] = t1i + e1r;
        r4[c] = t1r + e1i;
        i4[c] = t1i - e1r;
        r2[c] = t2r - e2i;
        i2[c] = t2i + e2r;
        r3[c] = t2r + e2i;
        i3[c] = t2i - e2r;
      }
    }
}

}  // namespace

std::size_t next_fast_size(std::size_t n) {
  if (n <= 1) return 1;
  for (std::size_t m = n;; ++m) {
    std::size_t r = m;
    for (std::size_t f : {2u, 3u, 5u})
      while (r % f == 0) r /= f;
    if (r == 1) return m;
  }
}

template <class R>
FftPlan<R>::FftPlan(std::size_t m) : m_(m) {
  // Radices in stage order: 4s first (fewest passes over the strip), then 2, 3, 5.
  std::vector<std::size_t> radices;
  std::size_t r = m;
  while (r % 4 == 0) {
    radices.push_back(4);
    r /= 4;
  }
  while (r % 2 == 0) {
    radices.push_back(2);
    r /= 2;
  }
  while (r % 3 == 0) {
    radices.push_back(3);
    r /= 3;
  }
  while (r % 5 == 0) {
    radices.push_back(5);
    r /= 5;
  }
  // Digit reversal: with the last stage's radix q and m' = size / q, the sub-transform
  // of the decimated sequence x[j q + t] occupies block t, so input(p) = input'(p mod m') q + p / m'.
  order_.assign(m, 0);
  std::size_t size = 1;
  for (std::size_t q : radices) {
    std::vector<std::uint32_t> next(size * q);
    for (std::size_t p = 0; p < size * q; ++p)
      next[p] = static_cast<std::uint32_t>(order_[p % size] * q + p / size);
    size *= q;
    std::copy(next.begin(), next.end(), order_.begin());
  }
  std::size_t l = 1;
  for (std::size_t q : radices) {
    Stage st;
    st.radix = q;
    st.span = l;
    const std::size_t span = l * q;
    st.twr.resize(l * (q - 1));
    st.twi.resize(l * (q - 1));
    for (std::size_t j = 0; j < l; ++j)
      for (std::size_t t = 1; t < q; ++t) {
        const double ang = -2.0 * std::numbers::pi * static_cast<double>(j * t) / static_cast<double>(span);
        st.twr[j * (q - 1) + t - 1] = static_cast<R>(std::cos(ang));
        st.twi[j * (q - 1) + t - 1] = static_cast<R>(std::sin(ang));
      }
    st.twi_inv.resize(st.twi.size());
    for (std::size_t i = 0; i < st.twi.size(); ++i) st.twi_inv[i] = -st.twi[i];
    stages_.push_back(std::move(st));
    l = span;
  }
}

template <class R>
void FftPlan<R>::run(R* re, R* im, std::size_t w, bool inverse) const {
  const R sgn = inverse ? R(1) : R(-1);
  for (const Stage& st : stages_) {
    const R* twi = inverse ? st.twi_inv.data() : st.twi.data();
    switch (st.radix) {
      case 2: stage_radix2(re, im, m_, st.span, w, st.twr.data(), twi); break;
      case 3: stage_radix3(re, im, m_, st.span, w, st.twr.data(), twi, sgn); break;
      case 4: stage_radix4(re, im, m_, st.span, w, st.twr.data(), twi, sgn); break;
      default: stage_radix5(re, im, m_, st.span, w, st.twr.data(), twi, sgn); break;
    }
  }
}

template class FftPlan<float>;
template class FftPlan<double>;

template <class R>
void fft_columns(R* re, R* im, std::size_t m, std::size_t count, std::size_t stride, bool inverse) {
  const FftPlan<R> plan(m);
  constexpr std::size_t kLanes = 16;
  std::vector<R> br(m * kLanes), bi(m * kLanes);
  const auto& order = plan.input_order();
  for (std::size_t c0 = 0; c0 < count; c0 += kLanes) {
    const std::size_t w = std::min(kLanes, count - c0);
    for (std::size_t t = 0; t < m; ++t)
      for (std::size_t l = 0; l < w; ++l) {
        br[t * w + l] = re[order[t] * stride + c0 + l];
        bi[t * w + l] = im[order[t] * stride + c0 + l];
      }
    plan.run(br.data(), bi.data(), w, inverse);
    for (std::size_t t = 0; t < m; ++t)
      for (std::size_t l = 0; l < w; ++l) {
        re[t * stride + c0 + l] = br[t * w + l];
        im[t * stride + c0 + l] = bi[t * w + l];
      }
  }
}

template void fft_columns<float>(float*, float*, std::size_t, std::size_t, std::size_t, bool);
template void fft_columns<double>(double*, double*, std::size_t, std::size_t, std::size_t, bool);

}  // namespace segmenta::tsne_detail
