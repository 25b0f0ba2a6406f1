// segmenta reduce: projections for pictures — PCA, t-SNE, MCA and FAMD.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "segmenta/core.hpp"
#include "segmenta/table.hpp"

namespace segmenta {

// === PCA and t-SNE ===

// === MCA and FAMD ===

}  // namespace segmenta
