// The variants of treeshap_isa.inc, one per instruction set (see there).
#pragma once

#include <span>
#include <vector>

#include "explain/treeshap.hpp"
#include "segmenta/kernels.hpp"

namespace segmenta::explain_detail {

/// The functions of treeshap.hpp whose results depend on the instruction set.
struct TreeshapFunctions {
  void (*finalize)(Tree& tree);
  std::vector<double> (*expected_values)(const Forest& forest);
  MatrixD (*predict_margins)(const Forest& forest, ViewD x);
  MatrixD (*contributions_reference)(const Forest& forest, ViewD x);
  Quadrature (*gauss_legendre)(int q);
  MatrixD (*contributions)(const Forest& forest, ViewD x);
  MatrixD (*post_stratified_mean_abs)(const MatrixD& phi, std::span<const std::int32_t> segment_of_sample,
                                      std::span<const std::size_t> segment_rows, std::size_t n_clustered,
                                      std::size_t p);
  std::vector<double> (*post_stratified_weights)(std::span<const std::int32_t> segment_of_sample,
                                                 std::span<const std::size_t> segment_rows, std::size_t n_clustered);
  void (*add_post_stratified)(const MatrixD& phi, std::span<const std::int32_t> segment_of_rows,
                              std::span<const double> weight, std::size_t p, double* out);
};

namespace isa_portable {
const TreeshapFunctions& functions() noexcept;
}
namespace isa_avx2 {
const TreeshapFunctions& functions() noexcept;
}
namespace isa_avx512 {
const TreeshapFunctions& functions() noexcept;
}

/// The variant compiled for `isa`; nullptr when this CPU cannot run it. The functions
/// of treeshap.hpp call the one of kernels::active_isa().
const TreeshapFunctions* treeshap_functions(kernels::Isa isa) noexcept;

}  // namespace segmenta::explain_detail
