// Mixed-radix (2, 3, 4, 5) complex FFT over strips of independent sequences.
//
// The FFT-accelerated t-SNE gradient convolves 2-D grids; both passes of a 2-D
// transform run many equally long 1-D transforms side by side, so the unit of work
// here is a strip: `w` sequences stored as the lanes of m rows (split real and
// imaginary planes, row t of lane l at re[t * w + l]). Every butterfly is then a
// loop over contiguous lanes, which the compiler vectorises. The algorithm is an
// in-place decimation-in-time Cooley-Tukey: the caller loads row t of the strip
// from input element input_order()[t] (the mixed-radix digit reversal), and the
// stages leave the result in natural order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace segmenta::tsne_detail {

template <class R>
class FftPlan {
 public:
  FftPlan() = default;
  /// Plan for length m; m must have no prime factor other than 2, 3 and 5.
  explicit FftPlan(std::size_t m);
  std::size_t size() const noexcept { return m_; }
  /// Row t of the strip must hold input element input_order()[t] before run().
  const std::vector<std::uint32_t>& input_order() const noexcept { return order_; }
  /// Transforms a strip of w lanes in place (forward: e^{-2πi jk/m}; inverse:
  /// e^{+2πi jk/m}, unscaled). re and im hold m rows of w values each.
  void run(R* re, R* im, std::size_t w, bool inverse) const;

 private:
  struct Stage {
    std::size_t radix = 0, span = 0;  // span l: length of the sub-transforms combined
    std::vector<R> twr, twi, twi_inv;  // w_L^{j t}, index j * (radix - 1) + (t - 1); twi_inv = -twi
  };
  std::size_t m_ = 0;
  std::vector<std::uint32_t> order_;
  std::vector<Stage> stages_;
};

extern template class FftPlan<float>;
extern template class FftPlan<double>;

}  // namespace segmenta::tsne_detail
