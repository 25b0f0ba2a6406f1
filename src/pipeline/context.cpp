// RunContext's own functions (context.hpp), apart from the run that fills it
// (segment.cpp), so that what the methods' parts need links without the run's stages.
#include "context.hpp"

#include <fmt/format.h>

namespace segmenta::detail {

KSpec RunContext::k_range() const {
  KSpec ks = params.k;
  // The blog swept 2..10 and nothing more: its preset keeps that range.
  if (blog) ks.automatic = false;
  if (ks.hi >= rows.size()) ks.hi = rows.size() - 1;
  if (ks.lo > ks.hi)
    throw ParameterError("k", fmt::format("{} segments need more than {} clustered rows", params.k.str(), rows.size()));
  return ks;
}

}  // namespace segmenta::detail
