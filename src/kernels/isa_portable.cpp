// The kernels for any x86-64 CPU (and other architectures): plain C++ lanes. The
// reference the SIMD instantiations are tested against, bit for bit.
#include "kernels/distance_kernels.hpp"

namespace segmenta::kernels {

const KernelTable* portable_table() noexcept {
  static const KernelTable table = impl::make_table<simd::Portable>(Isa::portable);
  return &table;
}

}  // namespace segmenta::kernels
