// The files built into the report module: plotly.js and the page's script and style.
#pragma once

#include <string_view>

namespace segmenta::detail {

/// plotly.min.js of the pinned plotly.js-dist-min package, as shipped.
std::string_view plotly_js() noexcept;
/// The page's renderer (page/report.js).
std::string_view page_js() noexcept;
/// The page's style sheet (page/report.css).
std::string_view page_css() noexcept;

}  // namespace segmenta::detail
