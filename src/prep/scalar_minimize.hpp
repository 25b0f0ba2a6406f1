// One-dimensional minimisation as scipy.optimize does it: a downhill bracket search
// (scipy.optimize.bracket) followed by Brent's method (scipy.optimize.brent).
// Written from the published algorithms (Numerical Recipes' mnbrak and brent, and
// scipy's documented defaults) so that the sequence of evaluated points, and hence
// the minimiser found for a flat objective, follows scikit-learn's lambda fits.
//
// Comparisons are written so that a NaN objective value behaves as it does in
// Python (every ordered comparison with NaN is false).
#pragma once

#include <cmath>
#include <utility>

namespace segmenta::detail {

/// Three abscissae with fb <= fa and fb <= fc when the search succeeded.
struct Bracket {
  double xa, xb, xc;
  double fa, fb, fc;
  int evaluations = 0;
};

/// Downhill search from (xa, xb): the golden-ratio expansion with parabolic
/// extrapolation of scipy.optimize.bracket (grow_limit 110, golden ratio 1.618034,
/// parabola denominators below 1e-21 clamped, at most 1000 steps; where scipy would
/// raise after 1000 steps the current triple is returned instead).
template <class F>
Bracket bracket_downhill(F&& f, double xa, double xb) {
  constexpr double gold = 1.618034;
  constexpr double tiny_denominator = 1e-21;
  constexpr double grow_limit = 110.0;
  constexpr int max_steps = 1000;

  double fa = f(xa), fb = f(xb);
  int evaluations = 2;
  if (fa < fb) {  // walk downhill from a to b
    std::swap(xa, xb);
    std::swap(fa, fb);
  }
  double xc = xb + gold * (xb - xa);
  double fc = f(xc);
  ++evaluations;
  int steps = 0;
  while (fc < fb) {
    // Vertex of the parabola through (xa, fa), (xb, fb), (xc, fc).
    const double r = (xb - xa) * (fb - fc);
    const double q = (xb - xc) * (fb - fa);
    const double diff = q - r;
    const double denominator = std::abs(diff) < tiny_denominator ? 2.0 * tiny_denominator : 2.0 * diff;
    double w = xb - ((xb - xc) * q - (xb - xa) * r) / denominator;
    const double w_limit = xb + grow_limit * (xc - xb);
    if (steps > max_steps) break;
    ++steps;
    double fw;
    if ((w - xc) * (xb - w) > 0.0) {
      // The vertex lies between b and c.
      fw = f(w);
      ++evaluations;
      if (fw < fc) {
        xa = xb;
        xb = w;
        fa = fb;
        fb = fw;
        return {xa, xb, xc, fa, fb, fc, evaluations};
      }
      if (fw > fb) {
        xc = w;
        fc = fw;
        return {xa, xb, xc, fa, fb, fc, evaluations};
      }
      w = xc + gold * (xc - xb);
      fw = f(w);
      ++evaluations;
    } else if ((w - w_limit) * (w_limit - xc) >= 0.0) {
      // The vertex overshoots the growth limit: clip it there.
      w = w_limit;
      fw = f(w);
      ++evaluations;
    } else if ((w - w_limit) * (xc - w) > 0.0) {
      // The vertex lies between c and the limit.
      fw = f(w);
      ++evaluations;
      if (fw < fc) {
        xb = xc;
        xc = w;
        w = xc + gold * (xc - xb);
        fb = fc;
        fc = fw;
        fw = f(w);
        ++evaluations;
      }
    } else {
      // The vertex points backwards: plain golden expansion.
      w = xc + gold * (xc - xb);
      fw = f(w);
      ++evaluations;
    }
    xa = xb;
    xb = xc;
    xc = w;
    fa = fb;
    fb = fc;
    fc = fw;
  }
  return {xa, xb, xc, fa, fb, fc, evaluations};
}

struct BrentResult {
  double x, fx;
  int iterations = 0;
};

/// Brent's method started from a bracket (scipy.optimize.brent defaults: relative
/// tolerance 1.48e-8, absolute floor 1e-11, at most 500 iterations, golden section
/// fraction 0.3819660).
template <class F>
BrentResult brent_minimize(F&& f, const Bracket& br, double tol = 1.48e-8, int max_iter = 500) {
  constexpr double min_tol = 1.0e-11;
  constexpr double cgold = 0.3819660;

  double x = br.xb, w = br.xb, v = br.xb;
  double fx = br.fb, fw = br.fb, fv = br.fb;
  double a = br.xa < br.xc ? br.xa : br.xc;
  double b = br.xa < br.xc ? br.xc : br.xa;
  double step_before_last = 0.0;  // the step taken two iterations ago
  double step = 0.0;              // the step taken last
  int iter = 0;
  while (iter < max_iter) {
    const double tol1 = tol * std::abs(x) + min_tol;
    const double tol2 = 2.0 * tol1;
    const double mid = 0.5 * (a + b);
    if (std::abs(x - mid) < tol2 - 0.5 * (b - a)) break;
    if (std::abs(step_before_last) <= tol1) {
      step_before_last = x >= mid ? a - x : b - x;
      step = cgold * step_before_last;
    } else {
      // Parabola through x, w, v.
      const double r = (x - w) * (fx - fv);
      double q = (x - v) * (fx - fw);
      double p = (x - v) * q - (x - w) * r;
      q = 2.0 * (q - r);
      if (q > 0.0) p = -p;
      q = std::abs(q);
      const double older = step_before_last;
      step_before_last = step;
      if (p > q * (a - x) && p < q * (b - x) && std::abs(p) < std::abs(0.5 * q * older)) {
        step = p * 1.0 / q;
        const double u = x + step;
        if ((u - a) < tol2 || (b - u) < tol2) step = mid - x >= 0 ? tol1 : -tol1;
      } else {
        step_before_last = x >= mid ? a - x : b - x;
        step = cgold * step_before_last;
      }
    }
    double u;
    if (std::abs(step) < tol1)
      u = step >= 0 ? x + tol1 : x - tol1;
    else
      u = x + step;
    const double fu = f(u);
    if (fu > fx) {
      if (u < x)
        a = u;
      else
        b = u;
      if (fu <= fw || w == x) {
        v = w;
        w = u;
        fv = fw;
        fw = fu;
      } else if (fu <= fv || v == x || v == w) {
        v = u;
        fv = fu;
      }
    } else {
      if (u >= x)
        a = x;
      else
        b = x;
      v = w;
      w = x;
      x = u;
      fv = fw;
      fw = fx;
      fx = fu;
    }
    ++iter;
  }
  return {x, fx, iter};
}

}  // namespace segmenta::detail
