#include <fmt/format.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "embed/internal.hpp"
#include "segmenta/embed.hpp"

namespace segmenta {
namespace {

struct SvHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, std::int32_t, SvHash, std::equal_to<>>;

// --- Unicode classes, as Hugging Face's BertNormalizer / BertPreTokenizer define them ---

bool is_white_space_property(char32_t c) noexcept {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
         c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

bool is_control(char32_t c) noexcept {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
      return true;
    default:
      return false;
  }
}

bool is_punctuation(char32_t c) noexcept {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  if (c < 128) return false;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool is_chinese_char(char32_t c) noexcept {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void append_utf8(std::string& out, char32_t c) {
  utf8proc_uint8_t buf[4];
  const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(c), buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
}

// Decodes UTF-8; an invalid byte reads as U+FFFD and decoding resumes at the next byte.
void decode_utf8(std::string_view s, std::u32string& out) {
  out.clear();
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    utf8proc_int32_t cp;
    const auto n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) {
      out.push_back(0xFFFD);
      ++i;
    } else {
      out.push_back(static_cast<char32_t>(cp));
      i += static_cast<std::size_t>(n);
    }
  }
}

// Canonical decomposition (NFD, with canonical reordering of combining marks) followed by
// removal of nonspacing marks (category Mn).
void strip_accents(std::u32string& cps) {
  bool ascii = true;
  for (char32_t c : cps) ascii &= c < 0x80;
  if (ascii) return;
  std::string utf8;
  for (char32_t c : cps) append_utf8(utf8, c);
  std::vector<utf8proc_int32_t> buf(cps.size() * 4 + 8);
  const int opts = UTF8PROC_DECOMPOSE | UTF8PROC_STABLE;
  auto n = utf8proc_decompose(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()), static_cast<utf8proc_ssize_t>(utf8.size()),
                              buf.data(), static_cast<utf8proc_ssize_t>(buf.size()), static_cast<utf8proc_option_t>(opts));
  if (n > static_cast<utf8proc_ssize_t>(buf.size())) {
    buf.resize(static_cast<std::size_t>(n));
    n = utf8proc_decompose(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()), static_cast<utf8proc_ssize_t>(utf8.size()),
                           buf.data(), static_cast<utf8proc_ssize_t>(buf.size()), static_cast<utf8proc_option_t>(opts));
  }
  if (n < 0) return;  // cannot happen for valid code points; keep the text undecomposed
  cps.clear();
  for (utf8proc_ssize_t i = 0; i < n; ++i)
    if (utf8proc_category(buf[static_cast<std::size_t>(i)]) != UTF8PROC_CATEGORY_MN)
      cps.push_back(static_cast<char32_t>(buf[static_cast<std::size_t>(i)]));
}

// Per-character full lower-case mapping: the simple mapping everywhere except U+0130,
// whose full lower case is "i" + U+0307 (the only unconditional multi-character mapping).
void lowercase(std::u32string& cps) {
  bool special = false;
  for (char32_t& c : cps) {
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z') c += 32;
    } else if (c == 0x130) {
      special = true;
    } else {
      c = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
    }
  }
  if (!special) return;
  std::u32string out;
  for (char32_t c : cps) {
    if (c == 0x130) {
      out.push_back('i');
      out.push_back(0x307);
    } else {
      out.push_back(c);
    }
  }
  cps.swap(out);
}

std::string json_token(const nlohmann::json& j, const std::string& fallback) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return fallback;
}

}  // namespace

void embed_detail::decode_utf8(std::string_view s, std::u32string& out) { segmenta::decode_utf8(s, out); }
void embed_detail::append_utf8(std::string& out, char32_t c) { segmenta::append_utf8(out, c); }
void embed_detail::strip_accents(std::u32string& cps) { segmenta::strip_accents(cps); }
void embed_detail::lowercase(std::u32string& cps) { segmenta::lowercase(cps); }

std::string embed_detail::lower_text(std::string_view text) {
  std::u32string cps;
  decode_utf8(text, cps);
  lowercase(cps);
  std::string out;
  out.reserve(text.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

struct WordPieceTokenizer::Impl {
  std::vector<std::string> vocab;
  TokenMap start, cont;  // word-initial pieces; continuation pieces without their prefix
  TokenizerOptions options;
  std::vector<std::string> specials;  // longest first
  std::array<bool, 256> special_first{};  // bytes that start a special token
  std::int32_t cls = 0, sep = 0, pad = 0, unk = 0;
  std::uint64_t fingerprint = 0;

  void build() {
    if (vocab.empty()) throw InvalidArgument("tokenizer: the vocabulary is empty");
    const std::string& prefix = options.continuing_subword_prefix;
    start.reserve(vocab.size());
    for (std::size_t i = 0; i < vocab.size(); ++i) {
      const auto id = static_cast<std::int32_t>(i);
      if (!start.emplace(vocab[i], id).second)
        throw InvalidArgument(fmt::format("tokenizer: token '{}' appears twice in the vocabulary", vocab[i]));
      if (!prefix.empty() && vocab[i].size() > prefix.size() && vocab[i].compare(0, prefix.size(), prefix) == 0)
        cont.emplace(vocab[i].substr(prefix.size()), id);
    }
    auto need = [&](const std::string& tok, const char* what) {
      auto it = start.find(tok);
      if (it == start.end()) throw InvalidArgument(fmt::format("tokenizer: the {} token '{}' is not in the vocabulary", what, tok));
      return it->second;
    };
    unk = need(options.unk_token, "unknown");
    cls = need(options.cls_token, "cls");
    sep = need(options.sep_token, "sep");
    pad = need(options.pad_token, "pad");
    specials.clear();
    for (const auto& s : options.special_tokens)
      if (!s.empty() && start.count(s)) specials.push_back(s);
    std::sort(specials.begin(), specials.end(), [](const std::string& a, const std::string& b) {
      return a.size() != b.size() ? a.size() > b.size() : a < b;
    });
    specials.erase(std::unique(specials.begin(), specials.end()), specials.end());
    special_first.fill(false);
    for (const auto& s : specials) special_first[static_cast<unsigned char>(s[0])] = true;

    std::string key;
    for (const auto& v : vocab) {
      key += v;
      key.push_back('\n');
    }
    key += fmt::format("{}{}{}{}{}{}{}", options.clean_text, options.handle_chinese_chars, options.lowercase,
                       options.strip_accents ? static_cast<int>(*options.strip_accents) : 2,
                       options.max_input_chars_per_word, prefix, fmt::join(specials, "|"));
    fingerprint = fnv1a64(key);
  }

  // Normalises one piece of text between special tokens and appends its words.
  template <class Sink>
  void basic_words(std::string_view text, std::u32string& cps, std::u32string& tmp, Sink&& sink) const {
    decode_utf8(text, tmp);
    cps.clear();
    for (char32_t c : tmp) {
      if (options.clean_text) {
        if (c == 0 || c == 0xFFFD || is_control(c)) continue;
        if (is_white_space_property(c)) c = ' ';
      }
      if (options.handle_chinese_chars && c >= 0x3400 && is_chinese_char(c)) {
        cps.push_back(' ');
        cps.push_back(c);
        cps.push_back(' ');
      } else {
        cps.push_back(c);
      }
    }
    if (options.strip_accents.value_or(options.lowercase)) strip_accents(cps);
    if (options.lowercase) lowercase(cps);
    std::size_t i = 0;
    const std::size_t n = cps.size();
    while (i < n) {
      if (is_white_space_property(cps[i])) {
        ++i;
        continue;
      }
      if (is_punctuation(cps[i])) {
        sink(std::u32string_view(cps.data() + i, 1));
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < n && !is_white_space_property(cps[j]) && !is_punctuation(cps[j])) ++j;
      sink(std::u32string_view(cps.data() + i, j - i));
      i = j;
    }
  }

  // Calls piece(text_piece) for each run between special tokens and special(id) for each match.
  template <class Text, class Special>
  void split_specials(std::string_view text, Text&& piece, Special&& special) const {
    std::size_t begin = 0, i = 0;
    while (i < text.size()) {
      const std::string* hit = nullptr;
      if (special_first[static_cast<unsigned char>(text[i])]) {
        for (const auto& s : specials)
          if (text.compare(i, s.size(), s) == 0) {
            hit = &s;
            break;
          }
      }
      if (!hit) {
        ++i;
        continue;
      }
      if (i > begin) piece(text.substr(begin, i - begin));
      special(*hit);
      i += hit->size();
      begin = i;
    }
    if (begin < text.size()) piece(text.substr(begin));
  }

  // WordPiece of one word; appends ids (or one unk).
  void wordpiece(std::u32string_view word, std::string& utf8, std::vector<std::size_t>& bounds,
                 std::vector<std::int32_t>& out) const {
    if (word.size() > options.max_input_chars_per_word) {
      out.push_back(unk);
      return;
    }
    utf8.clear();
    bounds.clear();
    for (char32_t c : word) {
      bounds.push_back(utf8.size());
      append_utf8(utf8, c);
    }
    bounds.push_back(utf8.size());
    const std::size_t mark = out.size();
    std::size_t s = 0;
    const std::size_t n = word.size();
    while (s < n) {
      std::size_t e = n;
      std::int32_t found = -1;
      const TokenMap& map = s == 0 ? start : cont;
      while (e > s) {
        const std::string_view sub(utf8.data() + bounds[s], bounds[e] - bounds[s]);
        auto it = map.find(sub);
        if (it != map.end()) {
          found = it->second;
          break;
        }
        --e;
      }
      if (found < 0) {
        out.resize(mark);
        out.push_back(unk);
        return;
      }
      out.push_back(found);
      s = e;
    }
  }

  void ids(std::string_view text, std::vector<std::int32_t>& out) const {
    std::u32string cps, tmp;
    std::string utf8;
    std::vector<std::size_t> bounds;
    split_specials(
        text,
        [&](std::string_view piece) {
          basic_words(piece, cps, tmp, [&](std::u32string_view w) { wordpiece(w, utf8, bounds, out); });
        },
        [&](const std::string& s) { out.push_back(start.find(s)->second); });
  }
};

WordPieceTokenizer::WordPieceTokenizer() = default;
WordPieceTokenizer::~WordPieceTokenizer() = default;
WordPieceTokenizer::WordPieceTokenizer(const WordPieceTokenizer& o)
    : impl_(o.impl_ ? std::make_unique<Impl>(*o.impl_) : nullptr) {}
WordPieceTokenizer& WordPieceTokenizer::operator=(const WordPieceTokenizer& o) {
  if (this != &o) impl_ = o.impl_ ? std::make_unique<Impl>(*o.impl_) : nullptr;
  return *this;
}
WordPieceTokenizer::WordPieceTokenizer(WordPieceTokenizer&&) noexcept = default;
WordPieceTokenizer& WordPieceTokenizer::operator=(WordPieceTokenizer&&) noexcept = default;

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, TokenizerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->vocab = std::move(vocab);
  impl_->options = std::move(options);
  impl_->build();
}

WordPieceTokenizer WordPieceTokenizer::from_vocab_file(const std::string& path, TokenizerOptions options) {
  const std::string text = read_file(path);
  std::vector<std::string> vocab;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find('\n', i);
    if (j == std::string::npos) j = text.size();
    std::size_t e = j;
    if (e > i && text[e - 1] == '\r') --e;
    vocab.emplace_back(text.substr(i, e - i));
    i = j + 1;
  }
  try {
    return WordPieceTokenizer(std::move(vocab), std::move(options));
  } catch (const InvalidArgument& e) {
    throw ModelFormatError(fmt::format("{}: {}", path, e.what()));
  }
}

WordPieceTokenizer WordPieceTokenizer::from_tokenizer_json(const std::string& path) {
  const std::string text = read_file(path);
  auto fail = [&](const std::string& what) { return ModelFormatError(fmt::format("{}: {}", path, what)); };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw fail(embed_detail::json_error_text(text, e.byte, e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw fail(embed_detail::json_error_text(text, 0, e.what()));
  }
  if (!j.is_object()) throw fail("not a JSON object");
  TokenizerOptions o;
  try {
    const auto& model = j.at("model");
    if (model.value("type", std::string("WordPiece")) != "WordPiece")
      throw fail(fmt::format("model type '{}' is not supported (only WordPiece)", model.value("type", std::string())));
    o.unk_token = model.value("unk_token", o.unk_token);
    o.continuing_subword_prefix = model.value("continuing_subword_prefix", o.continuing_subword_prefix);
    o.max_input_chars_per_word = model.value("max_input_chars_per_word", o.max_input_chars_per_word);
    const auto& norm = j.value("normalizer", nlohmann::json());
    if (norm.is_null()) {
      o.clean_text = o.handle_chinese_chars = o.lowercase = false;
      o.strip_accents = false;
    } else {
      if (norm.value("type", std::string()) != "BertNormalizer")
        throw fail(fmt::format("normalizer '{}' is not supported (only BertNormalizer)", norm.value("type", std::string())));
      o.clean_text = norm.value("clean_text", true);
      o.handle_chinese_chars = norm.value("handle_chinese_chars", true);
      o.lowercase = norm.value("lowercase", true);
      if (norm.contains("strip_accents") && norm["strip_accents"].is_boolean())
        o.strip_accents = norm["strip_accents"].get<bool>();
    }
    const auto& pre = j.value("pre_tokenizer", nlohmann::json());
    if (!pre.is_null() && pre.value("type", std::string()) != "BertPreTokenizer")
      throw fail(fmt::format("pre_tokenizer '{}' is not supported (only BertPreTokenizer)", pre.value("type", std::string())));
    const auto& post = j.value("post_processor", nlohmann::json());
    if (post.is_object()) {
      if (post.value("type", std::string()) == "BertProcessing") {
        if (post.contains("cls") && post["cls"].is_array() && !post["cls"].empty()) o.cls_token = post["cls"][0].get<std::string>();
        if (post.contains("sep") && post["sep"].is_array() && !post["sep"].empty()) o.sep_token = post["sep"][0].get<std::string>();
      } else if (post.value("type", std::string()) == "TemplateProcessing" && post.contains("single")) {
        const auto& single = post["single"];
        if (single.is_array() && single.size() == 3 && single[0].contains("SpecialToken") && single[2].contains("SpecialToken")) {
          o.cls_token = single[0]["SpecialToken"].at("id").get<std::string>();
          o.sep_token = single[2]["SpecialToken"].at("id").get<std::string>();
        }
      }
    }
    const auto& padding = j.value("padding", nlohmann::json());
    if (padding.is_object()) o.pad_token = padding.value("pad_token", o.pad_token);
    o.special_tokens.clear();
    for (const auto& t : j.value("added_tokens", nlohmann::json::array()))
      if (t.value("special", false) || !t.value("normalized", true)) o.special_tokens.push_back(t.at("content").get<std::string>());

    const auto& vocab = model.at("vocab");
    if (!vocab.is_object()) throw fail("model.vocab is not an object");
    std::vector<std::string> tokens(vocab.size());
    std::vector<char> seen(vocab.size(), 0);
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      if (!it.value().is_number_unsigned()) throw fail(fmt::format("vocab id of '{}' is not a non-negative integer", it.key()));
      const auto id = it.value().get<std::size_t>();
      if (id >= tokens.size() || seen[id]) throw fail("vocab ids are not 0..n-1 without gaps");
      seen[id] = 1;
      tokens[id] = it.key();
    }
    return WordPieceTokenizer(std::move(tokens), std::move(o));
  } catch (const nlohmann::json::exception& e) {
    throw fail(embed_detail::json_error_text(text, 0, e.what()));
  } catch (const InvalidArgument& e) {
    throw fail(e.what());
  }
}

WordPieceTokenizer WordPieceTokenizer::from_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  if (fs::exists(fs::path(dir) / "tokenizer.json")) return from_tokenizer_json((fs::path(dir) / "tokenizer.json").string());
  const std::string vocab = (fs::path(dir) / "vocab.txt").string();
  if (!fs::exists(vocab)) throw IoError(fmt::format("{}: neither tokenizer.json nor vocab.txt is present", dir));
  TokenizerOptions o;
  const fs::path cfg = fs::path(dir) / "tokenizer_config.json";
  if (fs::exists(cfg)) {
    nlohmann::json j;
    const std::string cfg_text = read_file(cfg.string());
    try {
      j = nlohmann::json::parse(cfg_text);
    } catch (const nlohmann::json::parse_error& e) {
      throw ModelFormatError(
          fmt::format("{}: {}", cfg.string(), embed_detail::json_error_text(cfg_text, e.byte, e.what())));
    } catch (const nlohmann::json::exception& e) {
      throw ModelFormatError(fmt::format("{}: {}", cfg.string(), embed_detail::json_error_text(cfg_text, 0, e.what())));
    }
    if (j.is_object()) {
      if (j.contains("do_lower_case") && j["do_lower_case"].is_boolean()) o.lowercase = j["do_lower_case"].get<bool>();
      if (j.contains("strip_accents") && j["strip_accents"].is_boolean()) o.strip_accents = j["strip_accents"].get<bool>();
      if (j.contains("tokenize_chinese_chars") && j["tokenize_chinese_chars"].is_boolean())
        o.handle_chinese_chars = j["tokenize_chinese_chars"].get<bool>();
      if (j.contains("unk_token")) o.unk_token = json_token(j["unk_token"], o.unk_token);
      if (j.contains("cls_token")) o.cls_token = json_token(j["cls_token"], o.cls_token);
      if (j.contains("sep_token")) o.sep_token = json_token(j["sep_token"], o.sep_token);
      if (j.contains("pad_token")) o.pad_token = json_token(j["pad_token"], o.pad_token);
    }
  }
  const fs::path map = fs::path(dir) / "special_tokens_map.json";
  if (fs::exists(map)) {
    const std::string map_text = read_file(map.string());
    try {
      const auto j = nlohmann::json::parse(map_text);
      if (j.is_object()) {
        o.special_tokens.clear();
        for (auto it = j.begin(); it != j.end(); ++it)
          if (it.value().is_array()) {
            for (const auto& t : it.value()) o.special_tokens.push_back(json_token(t, ""));
          } else {
            o.special_tokens.push_back(json_token(it.value(), ""));
          }
      }
    } catch (const nlohmann::json::parse_error& e) {
      throw ModelFormatError(
          fmt::format("{}: {}", map.string(), embed_detail::json_error_text(map_text, e.byte, e.what())));
    } catch (const nlohmann::json::exception& e) {
      throw ModelFormatError(fmt::format("{}: {}", map.string(), embed_detail::json_error_text(map_text, 0, e.what())));
    }
  }
  return from_vocab_file(vocab, std::move(o));
}

namespace {
void require(const void* impl) {
  if (!impl) throw NotFitted("tokenizer: no vocabulary loaded");
}
}  // namespace

std::vector<std::string> WordPieceTokenizer::basic_tokenize(std::string_view text) const {
  require(impl_.get());
  std::vector<std::string> out;
  std::u32string cps, tmp;
  impl_->split_specials(
      text,
      [&](std::string_view piece) {
        impl_->basic_words(piece, cps, tmp, [&](std::u32string_view w) {
          std::string s;
          for (char32_t c : w) append_utf8(s, c);
          out.push_back(std::move(s));
        });
      },
      [&](const std::string& s) { out.push_back(s); });
  return out;
}

std::vector<std::string> WordPieceTokenizer::tokenize(std::string_view text) const {
  require(impl_.get());
  std::vector<std::int32_t> ids;
  impl_->ids(text, ids);
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (auto id : ids) out.push_back(impl_->vocab[static_cast<std::size_t>(id)]);
  return out;
}

bool WordPieceTokenizer::encode_into(std::string_view text, std::size_t max_length, std::vector<std::int32_t>& out) const {
  require(impl_.get());
  if (max_length == 1) throw InvalidArgument("tokenizer: max_length must be 0 (no limit) or at least 2");
  out.clear();
  out.push_back(impl_->cls);
  impl_->ids(text, out);
  bool truncated = false;
  if (max_length > 0 && out.size() + 1 > max_length) {
    out.resize(max_length - 1);
    truncated = true;
  }
  out.push_back(impl_->sep);
  return truncated;
}

std::vector<std::int32_t> WordPieceTokenizer::encode(std::string_view text, std::size_t max_length) const {
  std::vector<std::int32_t> out;
  encode_into(text, max_length, out);
  return out;
}

std::size_t WordPieceTokenizer::vocab_size() const noexcept { return impl_ ? impl_->vocab.size() : 0; }

std::optional<std::int32_t> WordPieceTokenizer::id(std::string_view token) const noexcept {
  if (!impl_) return std::nullopt;
  auto it = impl_->start.find(token);
  if (it == impl_->start.end()) return std::nullopt;
  return it->second;
}

const std::string& WordPieceTokenizer::token(std::int32_t id) const {
  if (!impl_ || id < 0 || static_cast<std::size_t>(id) >= impl_->vocab.size())
    throw InvalidArgument(fmt::format("tokenizer: token id {} is outside the vocabulary", id));
  return impl_->vocab[static_cast<std::size_t>(id)];
}

std::int32_t WordPieceTokenizer::cls_id() const noexcept { return impl_ ? impl_->cls : 0; }
std::int32_t WordPieceTokenizer::sep_id() const noexcept { return impl_ ? impl_->sep : 0; }
std::int32_t WordPieceTokenizer::pad_id() const noexcept { return impl_ ? impl_->pad : 0; }
std::int32_t WordPieceTokenizer::unk_id() const noexcept { return impl_ ? impl_->unk : 0; }
const TokenizerOptions& WordPieceTokenizer::options() const noexcept {
  static const TokenizerOptions defaults;
  return impl_ ? impl_->options : defaults;
}
std::uint64_t WordPieceTokenizer::fingerprint() const noexcept { return impl_ ? impl_->fingerprint : 0; }

}  // namespace segmenta
