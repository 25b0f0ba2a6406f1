// Fuzz target: the safetensors reader. The input is a whole safetensors file,
// parsed in memory; every tensor it lists is then read as floats (the weights as
// the encoder reads them), which checks the offsets, shapes, dtypes and values.
// Loading a model folder around such a file is the model_folder target.
#include <cstddef>
#include <cstdint>
#include <string>

#include "segmenta/embed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const segmenta::SafeTensors st = segmenta::SafeTensors::parse(std::move(bytes), "fuzz.safetensors");
    for (const auto& t : st.tensors()) {
      try {
        if (st.to_float(t).size() != t.numel()) __builtin_trap();
      } catch (const segmenta::ModelFormatError&) {
      }
    }
  } catch (const segmenta::Error&) {
  }
  return 0;
}
