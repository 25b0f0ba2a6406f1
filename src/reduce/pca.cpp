// fit_pca and PcaModel::transform: the variant of pca_isa.inc for the CPU.
#include <fmt/format.h>

#include <type_traits>

#include "kernels/variant.hpp"
#include "reduce/pca_isa.hpp"
#include "segmenta/reduce.hpp"

namespace segmenta {

namespace pca_detail {

const PcaFunctions* pca_functions(kernels::Isa isa) noexcept {
  return kernels::variant_for(isa, isa_portable::functions, isa_avx2::functions, isa_avx512::functions);
}

namespace {

const PcaFunctions& active() noexcept {
  static const PcaFunctions* const chosen = pca_functions(kernels::active_isa());
  return *chosen;
}

}  // namespace

}  // namespace pca_detail

template <class T>
PcaModel fit_pca(MatrixView<T> x, const PcaParams& params, Diagnostics* diag) {
  if constexpr (std::is_same_v<T, double>)
    return pca_detail::active().fit_d(x, params, diag);
  else
    return pca_detail::active().fit_f(x, params, diag);
}

template <class T>
MatrixD PcaModel::transform(MatrixView<T> x) const {
  if (components.empty()) throw NotFitted("PcaModel: transform called before fit_pca");
  if (x.cols() != n_features)
    throw InvalidArgument(fmt::format("x: expected {} columns, got {}", n_features, x.cols()));
  if constexpr (std::is_same_v<T, double>)
    return pca_detail::active().transform_d(*this, x);
  else
    return pca_detail::active().transform_f(*this, x);
}

template PcaModel fit_pca<double>(ViewD, const PcaParams&, Diagnostics*);
template PcaModel fit_pca<float>(ViewF, const PcaParams&, Diagnostics*);
template MatrixD PcaModel::transform<double>(ViewD) const;
template MatrixD PcaModel::transform<float>(ViewF) const;

}  // namespace segmenta
