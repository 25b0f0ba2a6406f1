// The per-instruction-set variants of the encoder's elementwise passes (passes_isa.inc):
// each variant exposes its functions in one table. Private to the embed module.
#pragma once

#include <cstddef>

#include "embed/ops.hpp"

namespace segmenta::embed_detail {

/// The passes of ops.hpp whose code depends on the instruction set (same signatures).
struct PassTable {
  void (*add_layer_norm)(const float* x, const float* y, const float* bias, const float* gamma, const float* beta,
                         float eps, std::size_t k, float* out, float* range) noexcept;
  void (*gelu_inplace)(float* x, const float* bias, std::size_t k, float* range) noexcept;
  void (*attention)(const float* qkv, std::size_t ldq, const float* bias, std::size_t T, std::size_t heads,
                    std::size_t d, float* ctx, std::size_t ldc, float* scratch) noexcept;
  void (*emit_row)(const float* x, std::size_t k, const Activations& a, std::size_t r, const float* range) noexcept;
  float (*exp_one)(float x) noexcept;   // the passes' exp of one value
  float (*gelu_one)(float x) noexcept;  // the passes' GELU of one value
};

namespace isa_portable {
const PassTable& passes() noexcept;
}
namespace isa_avx2 {
const PassTable& passes() noexcept;
}
namespace isa_avx512 {
const PassTable& passes() noexcept;
}

}  // namespace segmenta::embed_detail
