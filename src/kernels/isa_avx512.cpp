// The kernels for AVX-512 CPUs (F, VL, DQ, BW: Intel Skylake-SP and later, AMD Zen 4):
// compiled with -mavx512f -mavx512vl -mavx512dq -mavx512bw (src/kernels/CMakeLists.txt)
// and called only after CPUID said so.
#include "kernels/distance_kernels.hpp"

namespace segmenta::kernels {

#if defined(__AVX512F__) && defined(__AVX512VL__) && defined(__AVX512DQ__) && defined(__AVX512BW__)
const KernelTable* avx512_table() noexcept {
  static const KernelTable table = impl::make_table<simd::Avx512>(Isa::avx512);
  return &table;
}
#else
const KernelTable* avx512_table() noexcept { return nullptr; }
#endif

}  // namespace segmenta::kernels
