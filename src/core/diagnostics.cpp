#include "segmenta/core.hpp"

namespace segmenta {

void Diagnostics::info(std::string stage, std::string code, std::string message) {
  items_.push_back({Diagnostic::Level::info, std::move(stage), std::move(code), std::move(message)});
}

void Diagnostics::warn(std::string stage, std::string code, std::string message) {
  items_.push_back({Diagnostic::Level::warning, std::move(stage), std::move(code), std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

}  // namespace segmenta
