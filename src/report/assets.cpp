// Embeds the page assets at build time. The assembler's .incbin copies each file
// into read-only data between two labels; this costs nothing at compile time
// (a few MB copied by the assembler) and nothing at run time (no file to find).
// The paths come from src/report/CMakeLists.txt.
#include "assets.hpp"

#include "segmenta/report.hpp"

#define SEGMENTA_ASSET(name, path)             \
  ".pushsection .rodata\n"                     \
  ".balign 64\n"                               \
  ".globl segmenta_asset_" name "_begin\n"     \
  ".hidden segmenta_asset_" name "_begin\n"    \
  "segmenta_asset_" name "_begin:\n"           \
  ".incbin \"" path "\"\n"                     \
  ".globl segmenta_asset_" name "_end\n"       \
  ".hidden segmenta_asset_" name "_end\n"      \
  "segmenta_asset_" name "_end:\n"             \
  ".byte 0\n"                                  \
  ".popsection\n"

asm(SEGMENTA_ASSET("plotly", SEGMENTA_PLOTLY_JS) SEGMENTA_ASSET("page_js", SEGMENTA_PAGE_JS)
        SEGMENTA_ASSET("page_css", SEGMENTA_PAGE_CSS));

extern "C" {
extern const char segmenta_asset_plotly_begin[], segmenta_asset_plotly_end[];
extern const char segmenta_asset_page_js_begin[], segmenta_asset_page_js_end[];
extern const char segmenta_asset_page_css_begin[], segmenta_asset_page_css_end[];
}

namespace segmenta {

std::string_view plotly_version() noexcept { return SEGMENTA_PLOTLY_VERSION; }

namespace detail {

std::string_view plotly_js() noexcept {
  return {segmenta_asset_plotly_begin, static_cast<std::size_t>(segmenta_asset_plotly_end - segmenta_asset_plotly_begin)};
}
std::string_view page_js() noexcept {
  return {segmenta_asset_page_js_begin, static_cast<std::size_t>(segmenta_asset_page_js_end - segmenta_asset_page_js_begin)};
}
std::string_view page_css() noexcept {
  return {segmenta_asset_page_css_begin,
          static_cast<std::size_t>(segmenta_asset_page_css_end - segmenta_asset_page_css_begin)};
}

}  // namespace detail
}  // namespace segmenta
