// The variants of pca_isa.inc, one per instruction set (see there).
#pragma once

#include "segmenta/kernels.hpp"
#include "segmenta/reduce.hpp"

namespace segmenta::pca_detail {

struct PcaFunctions {
  PcaModel (*fit_d)(ViewD x, const PcaParams& params, Diagnostics* diag);
  PcaModel (*fit_f)(ViewF x, const PcaParams& params, Diagnostics* diag);
  MatrixD (*transform_d)(const PcaModel& m, ViewD x);  // shapes checked by the caller
  MatrixD (*transform_f)(const PcaModel& m, ViewF x);
};

namespace isa_portable {
const PcaFunctions& functions() noexcept;
}
namespace isa_avx2 {
const PcaFunctions& functions() noexcept;
}
namespace isa_avx512 {
const PcaFunctions& functions() noexcept;
}

/// The variant compiled for `isa`; nullptr when this CPU cannot run it. fit_pca and
/// PcaModel::transform call the one of kernels::active_isa().
const PcaFunctions* pca_functions(kernels::Isa isa) noexcept;

}  // namespace segmenta::pca_detail
