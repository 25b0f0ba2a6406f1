// The per-instruction-set variants of a translation unit (segmenta_isa_variants in
// cmake/Module.cmake) each expose a table of function pointers; variant_for picks the
// table of one instruction set, so every dispatching file chooses the same way.
#pragma once

#include "segmenta/kernels.hpp"

namespace segmenta::kernels {

/// The table of `isa` among the variants' tables; null when the CPU cannot run it.
template <class Table>
const Table* variant_for(Isa isa, const Table& (*portable)() noexcept, const Table& (*avx2)() noexcept,
                         const Table& (*avx512)() noexcept) noexcept {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::portable: return &portable();
    case Isa::avx2: return &avx2();
    case Isa::avx512: return &avx512();
  }
  return nullptr;
}

}  // namespace segmenta::kernels
