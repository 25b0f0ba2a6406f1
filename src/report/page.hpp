// Markup shared by the writer and the reader of the page.
#pragma once

#include <string_view>

namespace segmenta::detail {

/// Opening tag of the element that holds the report's data document.
inline constexpr std::string_view kDataElementOpen = "<script type=\"application/json\" id=\"segmenta-data\">";

}  // namespace segmenta::detail
