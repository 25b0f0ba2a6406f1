// The kernels for AVX2 + FMA CPUs (Intel Haswell and later, AMD Zen 1-3): compiled with
// -mavx2 -mfma (src/kernels/CMakeLists.txt) and called only after CPUID said so.
#include "kernels/distance_kernels.hpp"

namespace segmenta::kernels {

#if defined(__AVX2__) && defined(__FMA__)
const KernelTable* avx2_table() noexcept {
  static const KernelTable table = impl::make_table<simd::Avx2>(Isa::avx2);
  return &table;
}
#else
const KernelTable* avx2_table() noexcept { return nullptr; }
#endif

}  // namespace segmenta::kernels
