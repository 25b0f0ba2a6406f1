// Helpers shared by the CSV reader and type inference (io module only).
#pragma once

#include <string_view>

namespace segmenta::io_detail {

/// Strips spaces and tabs at both ends.
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace segmenta::io_detail
