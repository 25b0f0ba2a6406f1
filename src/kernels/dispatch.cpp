// The run-time choice of the kernels: CPUID once, capped by SEGMENTA_KERNEL.
#include "kernels/dispatch.hpp"

#include <cstdlib>
#include <string_view>

namespace segmenta::kernels {
namespace {

// Compilers without the micro-architecture level names in __builtin_cpu_supports
// (GCC before 12, clang before 19: the fuzz preset's clang-16) check the features
// of the levels one by one (those it can name: not F16C, LZCNT or MOVBE, which every
// CPU with AVX2 and BMI2 has).
#if defined(__clang__) && __clang_major__ < 19
#define SEGMENTA_CPU_V3()                                                                                     \
  (__builtin_cpu_supports("avx") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&         \
   __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse4.2"))
#define SEGMENTA_CPU_V4() (SEGMENTA_CPU_V3() && __builtin_cpu_supports("avx512cd"))
#else
#define SEGMENTA_CPU_V3() __builtin_cpu_supports("x86-64-v3")
#define SEGMENTA_CPU_V4() __builtin_cpu_supports("x86-64-v4")
#endif

bool cpu_has(Isa isa) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  switch (isa) {
    case Isa::portable: return true;
    // The micro-architecture levels are what the per-instruction-set variants of
    // segmenta_isa_variants are compiled for (x86-64-v3 adds BMI, LZCNT, MOVBE, F16C).
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && SEGMENTA_CPU_V3();
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
             SEGMENTA_CPU_V4();
  }
  return false;
#else
  return isa == Isa::portable;
#endif
}

/// SEGMENTA_KERNEL as a cap: portable, avx2, avx512; unset or anything else, no cap.
Isa env_cap() noexcept {
  const char* v = std::getenv("SEGMENTA_KERNEL");
  if (!v) return Isa::avx512;
  const std::string_view s(v);
  if (s == "portable") return Isa::portable;
  if (s == "avx2") return Isa::avx2;
  return Isa::avx512;
}

}  // namespace

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::portable: return "portable";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

const KernelTable* table_for(Isa isa) noexcept {
  if (!cpu_has(isa)) return nullptr;
  switch (isa) {
    case Isa::portable: return portable_table();
    case Isa::avx2: return avx2_table();
    case Isa::avx512: return avx512_table();
  }
  return nullptr;
}

bool isa_supported(Isa isa) noexcept { return table_for(isa) != nullptr; }

const KernelTable& table() noexcept {
  static const KernelTable* const chosen = [] {
    const int cap = static_cast<int>(env_cap());
    for (int i = cap; i > 0; --i)
      if (const KernelTable* t = table_for(static_cast<Isa>(i))) return t;
    return portable_table();
  }();
  return *chosen;
}

Isa active_isa() noexcept { return table().isa; }

}  // namespace segmenta::kernels
