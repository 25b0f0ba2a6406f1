// The registry: one entry per line of segmenta/methods.inc.
#include <fmt/format.h>

#include "method.hpp"

namespace segmenta::detail {

#define SEGMENTA_METHOD(name) extern const MethodSpec name##_method;
#include "segmenta/methods.inc"
#undef SEGMENTA_METHOD

const MethodSpec& method_spec(Method m) {
  switch (m) {
#define SEGMENTA_METHOD(name) \
  case Method::name:          \
    return name##_method;
#include "segmenta/methods.inc"
#undef SEGMENTA_METHOD
    case Method::all: break;
  }
  throw InvalidArgument(fmt::format("method: '{}' is not one clustering method", to_string(m)));
}

}  // namespace segmenta::detail
