// Tokenizer: one interface over the WordPiece tokenizer and the Unigram (SentencePiece)
// model of XLM-RoBERTa, read from a Hugging Face tokenizer.json.
#include <fmt/format.h>
#include <utf8proc.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "embed/internal.hpp"
#include "segmenta/embed.hpp"

namespace segmenta {
namespace {

namespace fs = std::filesystem;
using embed_detail::append_utf8;
using embed_detail::decode_utf8;

struct SvHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

std::string to_utf8(std::u32string_view cps) {
  std::string out;
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

// Unicode normal form of code points through utf8proc.
std::u32string normal_form(const std::u32string& cps, bool compat, bool compose) {
  bool ascii = true;
  for (char32_t c : cps) ascii &= c < 0x80;
  if (ascii || cps.empty()) return cps;
  const std::string utf8 = to_utf8(cps);
  int opts = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
  if (compat) opts |= UTF8PROC_COMPAT;
  std::vector<utf8proc_int32_t> buf(cps.size() * 4 + 8);
  auto run = [&] {
    return utf8proc_decompose(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()), static_cast<utf8proc_ssize_t>(utf8.size()),
                              buf.data(), static_cast<utf8proc_ssize_t>(buf.size()), static_cast<utf8proc_option_t>(opts));
  };
  auto n = run();
  if (n > static_cast<utf8proc_ssize_t>(buf.size())) {
    buf.resize(static_cast<std::size_t>(n));
    n = run();
  }
  if (n < 0) return cps;
  if (compose) {
    n = utf8proc_normalize_utf32(buf.data(), n, static_cast<utf8proc_option_t>(opts | UTF8PROC_COMPOSE));
    if (n < 0) return cps;
  }
  return std::u32string(buf.begin(), buf.begin() + n);
}

// SentencePiece's nmt_nfkc rules, which a Precompiled normalizer of an XLM-R tokenizer.json
// encodes as a character map: some control characters removed, the other line breaks and
// several spaces (and "▁" itself) made a plain space, then NFKC, except that the fullwidth
// tilde U+FF5E is kept.
std::u32string nmt_nfkc(const std::u32string& in) {
  std::u32string t;
  t.reserve(in.size());
  for (char32_t c : in) {
    if ((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F) continue;
    if (c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200F) ||
        c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x2581 || c == 0x3000 || c == 0xFEFF || c == 0xFFFD)
      c = ' ';
    t.push_back(c);
  }
  std::u32string out;
  std::size_t b = 0;
  while (true) {
    const std::size_t e = t.find(char32_t{0xFF5E}, b);
    out += normal_form(t.substr(b, e == std::u32string::npos ? std::u32string::npos : e - b), true, true);
    if (e == std::u32string::npos) break;
    out.push_back(0xFF5E);
    b = e + 1;
  }
  return out;
}

bool is_whitespace(char32_t c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0B || c == 0x0C) return true;
  if (c < 0x80) return false;
  return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ZS || c == 0x85 || c == 0x2028 ||
         c == 0x2029;
}

// One normalizer step of tokenizer.json.
struct NormStep {
  enum Kind { precompiled, nfc, nfd, nfkc, nfkd, lowercase, strip_accents, strip, replace, collapse_spaces } kind;
  bool left = false, right = false;  // strip
  std::u32string from, to;           // replace (a literal; collapse_spaces: runs of 2+ spaces)
};

constexpr char32_t kMeta = 0x2581;  // "▁"

}  // namespace

struct Tokenizer::Unigram {
  std::vector<std::string> vocab;
  std::vector<double> scores;
  std::unordered_map<std::string, std::int32_t, SvHash, std::equal_to<>> ids;
  std::size_t max_piece_chars = 1;
  double min_score = 0.0;
  std::int32_t unk = -1;
  bool byte_fallback = false;
  std::vector<NormStep> norm;
  // Pre-tokenizer: optional whitespace split, then Metaspace.
  bool whitespace_split = false;
  bool metaspace = false;
  char32_t replacement = kMeta;
  std::string prepend = "always";  // always | first | never
  bool split = true;
  // Added tokens matched in the raw text, longest first, with their lstrip / rstrip.
  struct Added {
    std::string content;
    std::int32_t id;
    bool lstrip, rstrip;
  };
  std::vector<Added> added;
  std::int32_t first = -1, last = -1, pad = -1;
  std::uint64_t fingerprint = 0;

  void normalize(std::u32string& t) const {
    for (const NormStep& s : norm) {
      switch (s.kind) {
        case NormStep::precompiled: t = nmt_nfkc(t); break;
        case NormStep::nfc: t = normal_form(t, false, true); break;
        case NormStep::nfd: t = normal_form(t, false, false); break;
        case NormStep::nfkc: t = normal_form(t, true, true); break;
        case NormStep::nfkd: t = normal_form(t, true, false); break;
        case NormStep::lowercase: embed_detail::lowercase(t); break;
        case NormStep::strip_accents: {
          std::u32string o;
          for (char32_t c : t)
            if (utf8proc_category(static_cast<utf8proc_int32_t>(c)) != UTF8PROC_CATEGORY_MN) o.push_back(c);
          t.swap(o);
          break;
        }
        case NormStep::strip: {
          std::size_t b = 0, e = t.size();
          if (s.left)
            while (b < e && is_whitespace(t[b])) ++b;
          if (s.right)
            while (e > b && is_whitespace(t[e - 1])) --e;
          t = t.substr(b, e - b);
          break;
        }
        case NormStep::replace: {
          if (s.from.empty()) break;
          std::u32string o;
          std::size_t i = 0;
          while (i < t.size()) {
            if (t.compare(i, s.from.size(), s.from) == 0) {
              o += s.to;
              i += s.from.size();
            } else {
              o.push_back(t[i++]);
            }
          }
          t.swap(o);
          break;
        }
        case NormStep::collapse_spaces: {
          std::u32string o;
          std::size_t i = 0;
          while (i < t.size()) {
            if (t[i] == ' ' && i + 1 < t.size() && t[i + 1] == ' ') {
              while (i < t.size() && t[i] == ' ') ++i;
              o += s.to;
            } else {
              o.push_back(t[i++]);
            }
          }
          t.swap(o);
          break;
        }
      }
    }
  }

  // Words after the pre-tokenizer; `first_section`: the text starts the input.
  void words(const std::u32string& t, bool first_section, std::vector<std::u32string>& out) const {
    std::vector<std::u32string> parts;
    if (whitespace_split) {
      std::size_t i = 0;
      while (i < t.size()) {
        while (i < t.size() && is_whitespace(t[i])) ++i;
        std::size_t j = i;
        while (j < t.size() && !is_whitespace(t[j])) ++j;
        if (j > i) parts.push_back(t.substr(i, j - i));
        i = j;
      }
    } else {
      parts.push_back(t);
    }
    for (std::size_t p = 0; p < parts.size(); ++p) {
      std::u32string w = parts[p];
      if (!metaspace) {
        if (!w.empty()) out.push_back(std::move(w));
        continue;
      }
      for (char32_t& c : w)
        if (c == ' ') c = replacement;
      const bool add = prepend == "always" || (prepend == "first" && first_section && p == 0);
      if (add && !w.empty() && w[0] != replacement) w.insert(w.begin(), replacement);
      if (!split) {
        if (!w.empty()) out.push_back(std::move(w));
        continue;
      }
      // Split before every replacement character (it begins the next word).
      std::size_t b = 0;
      for (std::size_t i = 1; i <= w.size(); ++i)
        if (i == w.size() || w[i] == replacement) {
          if (i > b) out.push_back(w.substr(b, i - b));
          b = i;
        }
    }
  }

  // Best segmentation of one word (Viterbi over piece scores); appends ids.
  void segment(const std::u32string& word, std::vector<std::int32_t>& out) const {
    const std::size_t n = word.size();
    std::vector<std::size_t> off(n + 1, 0);
    std::string utf8;
    for (std::size_t i = 0; i < n; ++i) {
      off[i] = utf8.size();
      append_utf8(utf8, word[i]);
    }
    off[n] = utf8.size();
    struct Best {
      double score = 0.0;
      std::size_t from = 0;
      std::int32_t id = -1;
      bool set = false;
    };
    std::vector<Best> best(n + 1);
    best[0].set = true;
    const double unk_score = min_score - 10.0;
    for (std::size_t s = 0; s < n; ++s) {
      if (!best[s].set) continue;
      const double base = best[s].score;
      bool single = false;
      const std::size_t lim = std::min(n, s + max_piece_chars);
      for (std::size_t e = s + 1; e <= lim; ++e) {
        const auto it = ids.find(std::string_view(utf8.data() + off[s], off[e] - off[s]));
        if (it == ids.end()) continue;
        const double cand = base + scores[static_cast<std::size_t>(it->second)];
        if (!best[e].set || cand > best[e].score) best[e] = {cand, s, it->second, true};
        if (e == s + 1) single = true;
      }
      if (!single) {
        const double cand = base + unk_score;
        if (!best[s + 1].set || cand > best[s + 1].score) best[s + 1] = {cand, s, unk, true};
      }
    }
    // Back from the end; runs of unknown pieces fuse into one.
    std::vector<std::pair<std::size_t, std::size_t>> spans;  // [begin, end) in code points
    std::vector<bool> unknown;
    std::size_t e = n;
    while (e > 0) {
      const Best& b = best[e];
      const bool is_unk = b.id == unk;
      if (is_unk && !unknown.empty() && unknown.back())
        spans.back().first = b.from;
      else {
        spans.push_back({b.from, e});
        unknown.push_back(is_unk);
      }
      e = b.from;
    }
    for (std::size_t k = spans.size(); k-- > 0;) {
      const std::string_view piece(utf8.data() + off[spans[k].first], off[spans[k].second] - off[spans[k].first]);
      const auto it = ids.find(piece);
      if (it != ids.end()) {
        out.push_back(it->second);
        continue;
      }
      if (byte_fallback) {
        std::vector<std::int32_t> bytes;
        for (unsigned char c : piece) {
          const auto bt = ids.find(fmt::format("<0x{:02X}>", c));
          if (bt == ids.end()) break;
          bytes.push_back(bt->second);
        }
        if (bytes.size() == piece.size()) {
          out.insert(out.end(), bytes.begin(), bytes.end());
          continue;
        }
      }
      out.push_back(unk);
    }
  }

  void text_ids(std::string_view text, std::vector<std::int32_t>& out) const {
    std::u32string cps;
    std::vector<std::u32string> ws;
    bool first_section = true;
    auto piece = [&](std::string_view part) {
      decode_utf8(part, cps);
      normalize(cps);
      ws.clear();
      words(cps, first_section, ws);
      for (const auto& w : ws) segment(w, out);
    };
    // Added tokens split the raw text; lstrip / rstrip take the whitespace beside them.
    std::size_t begin = 0, i = 0;
    while (i < text.size()) {
      const Added* hit = nullptr;
      for (const Added& a : added)
        if (text.compare(i, a.content.size(), a.content) == 0) {
          hit = &a;
          break;
        }
      if (!hit) {
        ++i;
        continue;
      }
      std::size_t end_prev = i;
      if (hit->lstrip)
        while (end_prev > begin && std::isspace(static_cast<unsigned char>(text[end_prev - 1]))) --end_prev;
      if (end_prev > begin) piece(text.substr(begin, end_prev - begin));
      first_section = false;
      out.push_back(hit->id);
      i += hit->content.size();
      if (hit->rstrip)
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
      begin = i;
    }
    if (begin < text.size()) piece(text.substr(begin));
  }
};

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw ModelFormatError(fmt::format("{}: {}", path, what));
}

std::u32string u32(const std::string& s) {
  std::u32string o;
  decode_utf8(s, o);
  return o;
}

void add_normalizer(const std::string& path, const nlohmann::json& n, std::vector<NormStep>& out) {
  if (n.is_null()) return;
  const std::string type = n.value("type", std::string());
  NormStep s{};
  if (type == "Sequence") {
    for (const auto& x : n.at("normalizers")) add_normalizer(path, x, out);
    return;
  }
  if (type == "Precompiled") {
    s.kind = NormStep::precompiled;
  } else if (type == "NFC") {
    s.kind = NormStep::nfc;
  } else if (type == "NFD") {
    s.kind = NormStep::nfd;
  } else if (type == "NFKC") {
    s.kind = NormStep::nfkc;
  } else if (type == "NFKD") {
    s.kind = NormStep::nfkd;
  } else if (type == "Lowercase") {
    s.kind = NormStep::lowercase;
  } else if (type == "StripAccents") {
    s.kind = NormStep::strip_accents;
  } else if (type == "Strip") {
    s.kind = NormStep::strip;
    s.left = n.value("strip_left", false);
    s.right = n.value("strip_right", false);
  } else if (type == "Replace") {
    const auto& pat = n.at("pattern");
    s.to = u32(n.at("content").get<std::string>());
    if (pat.contains("String")) {
      s.kind = NormStep::replace;
      s.from = u32(pat["String"].get<std::string>());
    } else if (pat.contains("Regex") && pat["Regex"] == " {2,}") {
      s.kind = NormStep::collapse_spaces;
    } else {
      bad(path, fmt::format("the Replace normalizer's pattern {} is not supported (a string, or the regex \" {{2,}}\")",
                            pat.dump()));
    }
  } else {
    bad(path, fmt::format("normalizer '{}' is not supported with a Unigram model (Sequence, Precompiled, NFC, NFD, NFKC, "
                          "NFKD, Lowercase, StripAccents, Strip, Replace are)",
                          type));
  }
  out.push_back(std::move(s));
}

void add_pre_tokenizer(const std::string& path, const nlohmann::json& p, Tokenizer::Unigram& u) {
  if (p.is_null()) return;
  const std::string type = p.value("type", std::string());
  if (type == "Sequence") {
    for (const auto& x : p.at("pretokenizers")) add_pre_tokenizer(path, x, u);
  } else if (type == "WhitespaceSplit") {
    if (u.metaspace) bad(path, "WhitespaceSplit after Metaspace is not supported");
    u.whitespace_split = true;
  } else if (type == "Metaspace") {
    u.metaspace = true;
    const std::u32string r = u32(p.value("replacement", std::string("\u2581")));
    if (r.size() != 1) bad(path, "the Metaspace replacement must be one character");
    u.replacement = r[0];
    if (p.contains("prepend_scheme"))
      u.prepend = p["prepend_scheme"].get<std::string>();
    else
      u.prepend = p.value("add_prefix_space", true) ? "always" : "never";
    if (u.prepend != "always" && u.prepend != "first" && u.prepend != "never")
      bad(path, fmt::format("Metaspace prepend_scheme '{}' is not supported", u.prepend));
    u.split = p.value("split", true);
  } else {
    bad(path, fmt::format("pre_tokenizer '{}' is not supported with a Unigram model (Metaspace, WhitespaceSplit, "
                          "Sequence are)",
                          type));
  }
}

// The specials the post-processor puts around a single sequence.
void post_specials(const std::string& path, const nlohmann::json& post, const Tokenizer::Unigram& u, std::int32_t& first,
                   std::int32_t& last) {
  auto id_of = [&](const std::string& tok) {
    const auto it = u.ids.find(tok);
    if (it == u.ids.end()) bad(path, fmt::format("the post-processor's token '{}' is not in the vocabulary", tok));
    return it->second;
  };
  const std::string type = post.is_object() ? post.value("type", std::string()) : std::string();
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    first = id_of(post.at("cls").at(0).get<std::string>());
    last = id_of(post.at("sep").at(0).get<std::string>());
  } else if (type == "TemplateProcessing") {
    const auto& single = post.at("single");
    if (!single.is_array() || single.size() != 3 || !single[0].contains("SpecialToken") || !single[1].contains("Sequence") ||
        !single[2].contains("SpecialToken"))
      bad(path, "only a post-processor template of the form <special> $A <special> is supported");
    first = id_of(single[0]["SpecialToken"].at("id").get<std::string>());
    last = id_of(single[2]["SpecialToken"].at("id").get<std::string>());
  } else if (type.empty()) {
    first = id_of("<s>");
    last = id_of("</s>");
  } else {
    bad(path, fmt::format("post_processor '{}' is not supported (TemplateProcessing, RobertaProcessing, BertProcessing are)",
                          type));
  }
}

std::shared_ptr<const Tokenizer::Unigram> read_unigram(const std::string& path, const nlohmann::json& j) {
  auto u = std::make_shared<Tokenizer::Unigram>();
  const auto& model = j.at("model");
  const auto& vocab = model.at("vocab");
  if (!vocab.is_array() || vocab.empty()) bad(path, "model.vocab of a Unigram model must be a non-empty list of [piece, score]");
  u->vocab.reserve(vocab.size());
  u->scores.reserve(vocab.size());
  u->min_score = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < vocab.size(); ++i) {
    const auto& e = vocab[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
      bad(path, fmt::format("model.vocab[{}] is not a [piece, score] pair", i));
    std::string piece = e[0].get<std::string>();
    const double score = e[1].get<double>();
    if (!std::isfinite(score)) bad(path, fmt::format("model.vocab[{}] has a score that is not a finite number", i));
    if (!u->ids.emplace(piece, static_cast<std::int32_t>(i)).second)
      bad(path, fmt::format("piece '{}' appears twice in model.vocab", piece));
    std::u32string cps;
    decode_utf8(piece, cps);
    u->max_piece_chars = std::max(u->max_piece_chars, cps.size());
    u->min_score = std::min(u->min_score, score);
    u->vocab.push_back(std::move(piece));
    u->scores.push_back(score);
  }
  if (model.contains("unk_id") && !model["unk_id"].is_null()) {
    if (!model["unk_id"].is_number_unsigned() || model["unk_id"].get<std::size_t>() >= vocab.size())
      bad(path, "model.unk_id is not an id of the vocabulary");
    u->unk = model["unk_id"].get<std::int32_t>();
  } else {
    bad(path, "a Unigram model without unk_id is not supported");
  }
  u->byte_fallback = model.value("byte_fallback", false);
  add_normalizer(path, j.value("normalizer", nlohmann::json()), u->norm);
  add_pre_tokenizer(path, j.value("pre_tokenizer", nlohmann::json()), *u);
  for (const auto& t : j.value("added_tokens", nlohmann::json::array())) {
    const std::string content = t.at("content").get<std::string>();
    if (content.empty()) continue;
    const auto id = t.at("id").get<std::int32_t>();
    if (id < 0 || static_cast<std::size_t>(id) >= u->vocab.size())
      bad(path, fmt::format("added token '{}' has id {} outside the vocabulary", content, id));
    u->added.push_back({content, id, t.value("lstrip", false), t.value("rstrip", false)});
  }
  std::stable_sort(u->added.begin(), u->added.end(),
                   [](const auto& a, const auto& b) { return a.content.size() > b.content.size(); });
  post_specials(path, j.value("post_processor", nlohmann::json()), *u, u->first, u->last);
  const auto& padding = j.value("padding", nlohmann::json());
  if (padding.is_object() && padding.contains("pad_id"))
    u->pad = padding["pad_id"].get<std::int32_t>();
  else if (auto it = u->ids.find("<pad>"); it != u->ids.end())
    u->pad = it->second;
  else
    u->pad = u->unk;
  std::string key;
  for (std::size_t i = 0; i < u->vocab.size(); ++i) key += fmt::format("{}\t{}\n", u->vocab[i], u->scores[i]);
  key += j.value("normalizer", nlohmann::json()).dump() + j.value("pre_tokenizer", nlohmann::json()).dump() +
         j.value("added_tokens", nlohmann::json()).dump() + j.value("post_processor", nlohmann::json()).dump() +
         fmt::format("{}{}", u->byte_fallback, u->unk);
  u->fingerprint = fnv1a64(key);
  return u;
}

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::Tokenizer(WordPieceTokenizer wordpiece)
    : kind_(Kind::wordpiece), wordpiece_(std::make_shared<const WordPieceTokenizer>(std::move(wordpiece))) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(const Tokenizer&) = default;
Tokenizer& Tokenizer::operator=(const Tokenizer&) = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer Tokenizer::from_tokenizer_json(const std::string& path) {
  const std::string text = read_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    bad(path, embed_detail::json_error_text(text, e.byte, e.what()));
  } catch (const nlohmann::json::exception& e) {
    bad(path, embed_detail::json_error_text(text, 0, e.what()));
  }
  // Without a 'model' object there is no type to choose by: the WordPiece reader, the
  // format of the files before Unigram, says what is wrong with the file.
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    return Tokenizer(WordPieceTokenizer::from_tokenizer_json(path));
  const std::string type = j["model"].value("type", std::string(j["model"].contains("vocab") && j["model"]["vocab"].is_array()
                                                                    ? "Unigram"
                                                                    : "WordPiece"));
  if (type == "WordPiece") return Tokenizer(WordPieceTokenizer::from_tokenizer_json(path));
  if (type != "Unigram")
    bad(path, fmt::format("tokenizer model '{}' is not supported (WordPiece and Unigram are)", type));
  Tokenizer t;
  t.kind_ = Kind::unigram;
  try {
    t.unigram_ = read_unigram(path, j);
  } catch (const nlohmann::json::exception& e) {
    bad(path, embed_detail::json_error_text(text, 0, e.what()));
  }
  return t;
}

Tokenizer Tokenizer::from_folder(const std::string& dir) {
  const fs::path json = fs::path(dir) / "tokenizer.json";
  if (fs::exists(json)) return from_tokenizer_json(json.string());
  return Tokenizer(WordPieceTokenizer::from_folder(dir));
}

namespace {
template <class P>
const P& need(const std::shared_ptr<const P>& p) {
  if (!p) throw NotFitted("tokenizer: no vocabulary loaded");
  return *p;
}
}  // namespace

Tokenizer::Kind Tokenizer::kind() const {
  if (!wordpiece_ && !unigram_) throw NotFitted("tokenizer: no vocabulary loaded");
  return kind_;
}

std::vector<std::string> Tokenizer::tokenize(std::string_view text) const {
  if (kind() == Kind::wordpiece) return wordpiece_->tokenize(text);
  std::vector<std::int32_t> ids;
  unigram_->text_ids(text, ids);
  std::vector<std::string> out;
  for (auto i : ids) out.push_back(unigram_->vocab[static_cast<std::size_t>(i)]);
  return out;
}

bool Tokenizer::encode_into(std::string_view text, std::size_t max_length, std::vector<std::int32_t>& out) const {
  if (kind() == Kind::wordpiece) return wordpiece_->encode_into(text, max_length, out);
  if (max_length == 1) throw InvalidArgument("tokenizer: max_length must be 0 (no limit) or at least 2");
  const Unigram& u = *unigram_;
  out.clear();
  out.push_back(u.first);
  u.text_ids(text, out);
  bool truncated = false;
  if (max_length > 0 && out.size() + 1 > max_length) {
    out.resize(max_length - 1);
    truncated = true;
  }
  out.push_back(u.last);
  return truncated;
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, std::size_t max_length) const {
  std::vector<std::int32_t> out;
  encode_into(text, max_length, out);
  return out;
}

std::size_t Tokenizer::vocab_size() const noexcept {
  if (wordpiece_) return wordpiece_->vocab_size();
  return unigram_ ? unigram_->vocab.size() : 0;
}

std::optional<std::int32_t> Tokenizer::id(std::string_view token) const noexcept {
  if (wordpiece_) return wordpiece_->id(token);
  if (!unigram_) return std::nullopt;
  const auto it = unigram_->ids.find(token);
  if (it == unigram_->ids.end()) return std::nullopt;
  return it->second;
}

const std::string& Tokenizer::token(std::int32_t id) const {
  if (kind() == Kind::wordpiece) return wordpiece_->token(id);
  if (id < 0 || static_cast<std::size_t>(id) >= unigram_->vocab.size())
    throw InvalidArgument(fmt::format("tokenizer: token id {} is outside the vocabulary", id));
  return unigram_->vocab[static_cast<std::size_t>(id)];
}

std::int32_t Tokenizer::first_id() const noexcept {
  return wordpiece_ ? wordpiece_->cls_id() : unigram_ ? unigram_->first : 0;
}
std::int32_t Tokenizer::last_id() const noexcept { return wordpiece_ ? wordpiece_->sep_id() : unigram_ ? unigram_->last : 0; }
std::int32_t Tokenizer::pad_id() const noexcept { return wordpiece_ ? wordpiece_->pad_id() : unigram_ ? unigram_->pad : 0; }
std::int32_t Tokenizer::unk_id() const noexcept { return wordpiece_ ? wordpiece_->unk_id() : unigram_ ? unigram_->unk : 0; }
const WordPieceTokenizer* Tokenizer::wordpiece() const noexcept { return wordpiece_.get(); }
std::uint64_t Tokenizer::fingerprint() const noexcept {
  return wordpiece_ ? wordpiece_->fingerprint() : unigram_ ? unigram_->fingerprint : 0;
}

}  // namespace segmenta
