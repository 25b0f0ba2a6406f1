// The variants of lca_isa.inc, one per instruction set (see there).
#pragma once

#include <cstddef>

#include "segmenta/kernels.hpp"

namespace segmenta::cluster_detail {

/// The vectorised parts of the latent-class E-step.
struct LcaFunctions {
  /// x[i] = exp(x[i]) for x[i] <= 0 (−inf included), relative error below 1e-15;
  /// arguments below −708 give 0 (where std::exp would give a subnormal number).
  void (*exp_nonpositive)(double* x, std::size_t n);
};

namespace isa_portable {
const LcaFunctions& lca_functions() noexcept;
}
namespace isa_avx2 {
const LcaFunctions& lca_functions() noexcept;
}
namespace isa_avx512 {
const LcaFunctions& lca_functions() noexcept;
}

/// The variant compiled for `isa`; nullptr when this CPU cannot run it.
const LcaFunctions* lca_functions(kernels::Isa isa) noexcept;
/// The variant of kernels::active_isa().
const LcaFunctions& lca_active() noexcept;

}  // namespace segmenta::cluster_detail
