// Fuzz target: the BERT WordPiece tokenizer (normalisation, splitting, WordPiece)
// over a small vocabulary; the first byte picks the options and the length limit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "segmenta/embed.hpp"

namespace {

std::vector<std::string> vocabulary() {
  std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "customer", "age", "job",
                                "admin", "##s", "##ing", "a", "b", "c", "##a", "##b", "##c", ":", ",", ".", "1",
                                "##1", "2", "##2", "é", "中", "##é", "retired", "yes", "no"};
  return v;
}

const segmenta::WordPieceTokenizer& tokenizer(int variant) {
  static const segmenta::WordPieceTokenizer plain(vocabulary());
  static const segmenta::WordPieceTokenizer cased = [] {
    segmenta::TokenizerOptions o;
    o.lowercase = false;
    o.strip_accents = true;
    o.handle_chinese_chars = false;
    o.max_input_chars_per_word = 5;
    return segmenta::WordPieceTokenizer(vocabulary(), o);
  }();
  return variant ? cased : plain;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const segmenta::WordPieceTokenizer& t = tokenizer(mode & 1);
  const std::size_t max_length = (mode >> 1) & 1 ? 2 + (mode >> 2) : 0;
  const std::vector<std::int32_t> ids = t.encode(text, max_length);
  if (ids.size() < 2 || ids.front() != t.cls_id() || ids.back() != t.sep_id()) __builtin_trap();
  if (max_length && ids.size() > max_length) __builtin_trap();
  for (std::int32_t id : ids)
    if (id < 0 || static_cast<std::size_t>(id) >= t.vocab_size()) __builtin_trap();
  (void)t.basic_tokenize(text);
  return 0;
}
