// Sentence-transformers models by Hugging Face id: looked up in the standard Hugging
// Face cache (models--org--name/{refs,snapshots,blobs}), which Python's huggingface_hub
// shares, and otherwise downloaded into that same layout over HTTPS with libcurl.
#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <memory>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include "hub.hpp"
#include "segmenta/core.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/pipeline.hpp"

#ifdef SEGMENTA_HAVE_CURL
#include <curl/curl.h>
#endif

namespace segmenta {
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// SHA-256 (FIPS 180-4), for the hub's content hashes of LFS files.
// ---------------------------------------------------------------------------
namespace {

class Sha256 {
 public:
  void update(const unsigned char* p, std::size_t n) {
    total_ += n;
    while (n > 0) {
      const std::size_t take = std::min(n, 64 - fill_);
      std::memcpy(buf_.data() + fill_, p, take);
      fill_ += take;
      p += take;
      n -= take;
      if (fill_ == 64) {
        block(buf_.data());
        fill_ = 0;
      }
    }
  }
  std::string hex() {
    const std::uint64_t bits = total_ * 8;
    const unsigned char one = 0x80, zero = 0;
    update(&one, 1);
    while (fill_ != 56) update(&zero, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(len, 8);
    std::string out;
    for (std::uint32_t v : h_) out += fmt::format("{:08x}", v);
    return out;
  }

 private:
  static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void block(const unsigned char* p) {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (std::uint32_t(p[4 * i]) << 24) | (std::uint32_t(p[4 * i + 1]) << 16) | (std::uint32_t(p[4 * i + 2]) << 8) |
             std::uint32_t(p[4 * i + 3]);
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h_[0] += a, h_[1] += b, h_[2] += c, h_[3] += d, h_[4] += e, h_[5] += f, h_[6] += g, h_[7] += h;
  }

  std::array<std::uint32_t, 8> h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<unsigned char, 64> buf_{};
  std::size_t fill_ = 0;
  std::uint64_t total_ = 0;
};

bool is_hex(const std::string& s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::string read_small(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

}  // namespace

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(reinterpret_cast<const unsigned char*>(buf.data()), static_cast<std::size_t>(in.gcount()));
  }
  return h.hex();
}

// ---------------------------------------------------------------------------
// Ids and the cache
// ---------------------------------------------------------------------------

bool looks_like_hub_id(const std::string& spec) {
  if (spec.empty() || spec.front() == '/' || spec.front() == '.' || spec.front() == '~' || spec.back() == '/') return false;
  if (std::count(spec.begin(), spec.end(), '/') > 1 || spec.find("..") != std::string::npos) return false;
  return std::all_of(spec.begin(), spec.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
  });
}

std::string hub_repo_id(const std::string& spec) {
  return spec.find('/') == std::string::npos ? "sentence-transformers/" + spec : spec;
}

std::string hub_cache_root() {
  if (const std::string v = env("HF_HUB_CACHE"); !v.empty()) return v;
  if (const std::string v = env("HUGGINGFACE_HUB_CACHE"); !v.empty()) return v;
  if (const std::string v = env("HF_HOME"); !v.empty()) return (fs::path(v) / "hub").string();
  if (const std::string v = env("XDG_CACHE_HOME"); !v.empty()) return (fs::path(v) / "huggingface" / "hub").string();
  const std::string home = env("HOME");
  return (fs::path(home.empty() ? "." : home) / ".cache" / "huggingface" / "hub").string();
}

std::string hub_endpoint() {
  std::string e = env("HF_ENDPOINT");
  if (e.empty()) e = "https://huggingface.co";
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

bool hub_offline() {
  std::string v = env("HF_HUB_OFFLINE");
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v == "1" || v == "on" || v == "yes" || v == "true";
}

namespace {

fs::path repo_folder(const std::string& id) {
  std::string name = "models--" + id;
  for (std::size_t i = 0; (i = name.find('/', i)) != std::string::npos;) name.replace(i, 1, "--");
  return fs::path(hub_cache_root()) / name;
}

/// The commit a revision names in the cache ("" when unknown): a commit hash itself,
/// or what refs/<revision> holds.
std::string cached_commit(const fs::path& repo, const std::string& revision) {
  std::error_code ec;
  if (is_hex(revision, 40) && fs::is_directory(repo / "snapshots" / revision, ec)) return revision;
  const fs::path ref = repo / "refs" / revision;
  if (!fs::is_regular_file(ref, ec)) return "";
  const std::string commit = read_small(ref);
  return fs::is_directory(repo / "snapshots" / commit, ec) ? commit : "";
}

/// The sha256 of the snapshot's weights when the cache says it: the blob the link points at.
std::string blob_sha(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_symlink(file, ec)) return "";
  const std::string name = fs::read_symlink(file, ec).filename().string();
  return is_hex(name, 64) ? name : "";
}

// Files of a sentence-transformers repository that segmenta reads; only the
// configuration and the weights must exist.
struct RepoFile {
  const char* path;
  bool required;
};
constexpr RepoFile kFiles[] = {{"config.json", true},
                               {"modules.json", false},
                               {"sentence_bert_config.json", false},
                               {"config_sentence_transformers.json", false},
                               {"1_Pooling/config.json", false},
                               {"tokenizer.json", false},
                               {"tokenizer_config.json", false},
                               {"vocab.txt", false},
                               {"special_tokens_map.json", false},
                               {"model.safetensors", true}};

#ifdef SEGMENTA_HAVE_CURL

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

struct Headers {
  long status = 0;
  std::map<std::string, std::string> fields;  // lower-case names, of the last response
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* h = static_cast<Headers*>(user);
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    h->fields.clear();
    const std::size_t sp = line.find(' ');
    h->status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
  } else if (const std::size_t colon = line.find(':'); colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    h->fields[name] = value;
  }
  return size * n;
}

struct Easy {
  CURL* h;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  explicit Easy(const std::string& url) : h(curl_easy_init()) {
    if (!h) throw IoError(fmt::format("cannot download {}: libcurl did not start", url));
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_USERAGENT, ("segmenta/" + std::string(version())).c_str());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    // The token goes to the hub only: libcurl does not pass a set Authorization header
    // on to another host a redirect leads to.
    if (const std::string token = env("HF_TOKEN"); !token.empty()) {
      headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    }
  }
  ~Easy() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
  }
  Easy(const Easy&) = delete;
  Easy& operator=(const Easy&) = delete;
};

std::string unquote(std::string s) {
  if (s.rfind("W/", 0) == 0) s.erase(0, 2);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

/// The cause of a failed HTTP answer, in words.
[[noreturn]] void http_error(const std::string& url, long status, const std::string& id, const std::string& revision) {
  std::string cause;
  if (status == 401 || status == 403)
    cause = env("HF_TOKEN").empty() ? "the model is gated or private; set HF_TOKEN to an access token that may read it"
                                    : "HF_TOKEN does not give access to this model";
  else if (status == 404)
    cause = fmt::format("no file there: the hub has no model '{}' at revision '{}', or not this file", id, revision);
  else
    cause = "the server refused the request";
  throw IoError(fmt::format("cannot download {}: HTTP {} ({})", url, status, cause));
}

[[noreturn]] void transfer_error(const std::string& url, CURLcode rc, const char* detail) {
  throw IoError(fmt::format("cannot download {}: {}", url, *detail ? detail : curl_easy_strerror(rc)));
}

struct FileMeta {
  std::string path, url;
  bool present = false;
  std::string etag, commit;
  std::uint64_t size = 0;
};

FileMeta head(const std::string& endpoint, const std::string& id, const std::string& revision, const RepoFile& f) {
  FileMeta m;
  m.path = f.path;
  m.url = fmt::format("{}/{}/resolve/{}/{}", endpoint, id, revision, f.path);
  std::string url = m.url;
  for (int hop = 0; hop < 5; ++hop) {
    Easy e(url);
    Headers hd;
    curl_easy_setopt(e.h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(e.h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e.h, CURLOPT_HEADERDATA, &hd);
    const CURLcode rc = curl_easy_perform(e.h);
    if (rc != CURLE_OK) transfer_error(m.url, rc, e.error);
    const auto field = [&](const char* n) { auto it = hd.fields.find(n); return it == hd.fields.end() ? std::string() : it->second; };
    if (hd.status == 404 && !f.required) return m;
    if (hd.status >= 300 && hd.status < 400 && field("x-linked-etag").empty() && !field("location").empty()) {
      // A renamed repository: follow the hub's redirect (relative ones on the hub).
      const std::string loc = field("location");
      url = loc.front() == '/' ? endpoint + loc : loc;
      continue;
    }
    if (hd.status >= 400) http_error(m.url, hd.status, id, revision);
    m.present = true;
    m.commit = field("x-repo-commit");
    m.etag = unquote(!field("x-linked-etag").empty() ? field("x-linked-etag") : field("etag"));
    const std::string size = !field("x-linked-size").empty() ? field("x-linked-size") : field("content-length");
    m.size = std::strtoull(size.c_str(), nullptr, 10);
    if (m.etag.empty() || m.commit.empty())
      throw IoError(fmt::format("cannot download {}: the server's answer has no ETag or X-Repo-Commit header; is "
                                "HF_ENDPOINT={} a Hugging Face hub?", m.url, endpoint));
    if (m.etag.find('/') != std::string::npos || m.etag.find("..") != std::string::npos)
      throw IoError(fmt::format("cannot download {}: the server's ETag '{}' is not a file name", m.url, m.etag));
    return m;
  }
  throw IoError(fmt::format("cannot download {}: too many redirects", m.url));
}

struct Sink {
  std::FILE* f = nullptr;
  CURL* h = nullptr;
  bool first = true;
  bool restart = false;   // the server ignored the range: start the file over
  int write_errno = 0;
  std::uint64_t written = 0;
  Progress* progress = nullptr;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (s->first) {
    s->first = false;
    long status = 0;
    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200 && s->restart) {
      if (std::fflush(s->f) != 0 || ::ftruncate(::fileno(s->f), 0) != 0 || std::fseek(s->f, 0, SEEK_SET) != 0) {
        s->write_errno = errno;
        return 0;
      }
    }
    if (status >= 300) return 0;  // an error page is not the file
  }
  const std::size_t put = std::fwrite(data, 1, size * n, s->f);
  if (put != size * n) {
    s->write_errno = errno ? errno : ENOSPC;
    return 0;
  }
  s->written += put;
  if (s->progress) s->progress->advance(put);
  return put;
}

/// Downloads one file into blobs/<etag> (through <etag>.incomplete, resumed where a
/// previous try stopped) and verifies the sha256 of LFS files.
void download_blob(const FileMeta& m, const fs::path& blob, const std::string& id, const std::string& revision) {
  const fs::path part = blob.string() + ".incomplete";
  std::error_code ec;
  fs::create_directories(blob.parent_path(), ec);
  if (ec) throw IoError(fmt::format("cannot create {}: {}", blob.parent_path().string(), ec.message()));
  std::unique_ptr<Progress> bar;
  if (m.size >= (1u << 20)) bar = std::make_unique<Progress>("download " + m.path, m.size, "B");
  for (int attempt = 1;; ++attempt) {
    std::uint64_t have = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
    if (m.size > 0 && have > m.size) {
      fs::remove(part, ec);
      have = 0;
    }
    std::FILE* f = std::fopen(part.c_str(), "ab");
    if (!f) throw IoError(fmt::format("cannot write {}: {}", part.string(), std::strerror(errno)));
    Easy e(m.url);
    Sink sink;
    sink.f = f;
    sink.h = e.h;
    sink.restart = have > 0;
    sink.progress = bar.get();
    if (bar && attempt == 1 && have > 0) bar->advance(have);
    curl_easy_setopt(e.h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e.h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &sink);
    const std::string range = fmt::format("{}-", have);
    if (have > 0) curl_easy_setopt(e.h, CURLOPT_RANGE, range.c_str());
    const CURLcode rc = curl_easy_perform(e.h);
    const bool closed = std::fclose(f) == 0;
    long status = 0;
    curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &status);
    if (sink.write_errno || !closed) {
      const int err = sink.write_errno ? sink.write_errno : errno;
      // A full disk is not left fuller by the part: it goes, and the next run starts over.
      if (err == ENOSPC || err == EDQUOT) {
        fs::remove(part, ec);
        throw IoError(fmt::format("cannot download {}: cannot write {}: {}; the partial file was removed", m.url,
                                  part.string(), std::strerror(err)));
      }
      throw IoError(fmt::format("cannot download {}: cannot write {}: {}", m.url, part.string(), std::strerror(err)));
    }
    if (status == 416 && m.size > 0 && have == m.size) break;  // already complete
    if (status >= 400) http_error(m.url, status, id, revision);
    if (rc == CURLE_OK) break;
    const bool cut = rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_OPERATION_TIMEDOUT ||
                     rc == CURLE_GOT_NOTHING;
    if (!cut || attempt >= 3) {
      if (cut)
        throw IoError(fmt::format("cannot download {}: the connection was cut ({}); the part is kept in {} and the next "
                                  "run resumes it", m.url, *e.error ? e.error : curl_easy_strerror(rc), part.string()));
      transfer_error(m.url, rc, e.error);
    }
  }
  if (bar) bar->finish();
  if (is_hex(m.etag, 64)) {
    const std::string got = sha256_file(part.string());
    if (got != m.etag) {
      fs::remove(part, ec);
      throw IoError(fmt::format("cannot download {}: its sha256 is {}, not the hub's {}; the corrupted file was removed",
                                m.url, got, m.etag));
    }
  }
  fs::rename(part, blob, ec);
  if (ec) throw IoError(fmt::format("cannot write {}: {}", blob.string(), ec.message()));
}

/// Places the files of a revision in the cache and returns its snapshot folder.
fs::path download(const std::string& id, const std::string& revision, const fs::path& repo) {
  static CurlGlobal global;
  const std::string endpoint = hub_endpoint();
  // Every file's metadata first: a missing model or a refused token stops before
  // anything is written.
  std::vector<FileMeta> files;
  for (const RepoFile& f : kFiles) files.push_back(head(endpoint, id, revision, f));
  const std::string commit = files.front().commit;
  if (!is_hex(commit, 40) && commit.find_first_of("/.") != std::string::npos)
    throw IoError(fmt::format("cannot download {}: the commit '{}' is not a revision", files.front().url, commit));
  const fs::path snapshot = repo / "snapshots" / commit;
  std::error_code ec;
  for (const FileMeta& m : files) {
    if (!m.present) continue;
    const fs::path link = snapshot / m.path;
    if (fs::exists(link, ec)) continue;
    const fs::path blob = repo / "blobs" / m.etag;
    if (!fs::exists(blob, ec)) {
      // Another process fetching the same file waits here rather than appending to the
      // same part; it then finds the blob in place.
      // The lock lives where huggingface_hub keeps its own: <cache>/.locks/<repo>/<etag>.lock.
      const fs::path locks = fs::path(hub_cache_root()) / ".locks" / repo.filename();
      fs::create_directories(locks, ec);
      const std::string lock_path = (locks / (m.etag + ".lock")).string();
      const int lock = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
      if (lock < 0) throw IoError(fmt::format("cannot write {}: {}", lock_path, std::strerror(errno)));
      ::flock(lock, LOCK_EX);
      try {
        if (!fs::exists(blob, ec)) download_blob(m, blob, id, revision);
      } catch (...) {
        ::close(lock);
        throw;
      }
      ::close(lock);
    }
    fs::create_directories(link.parent_path(), ec);
    if (ec) throw IoError(fmt::format("cannot create {}: {}", link.parent_path().string(), ec.message()));
    fs::create_symlink(fs::relative(blob, link.parent_path()), link, ec);
    if (ec && !fs::exists(link)) {  // not placed by another process: a file system without links, a copy
      ec.clear();
      fs::copy_file(blob, link, ec);
      if (ec && !fs::exists(link)) throw IoError(fmt::format("cannot write {}: {}", link.string(), ec.message()));
    }
  }
  if (revision != commit) {
    fs::create_directories(repo / "refs", ec);
    const fs::path ref = repo / "refs" / revision;
    fs::create_directories(ref.parent_path(), ec);
    const fs::path tmp = fmt::format("{}.{}.tmp", ref.string(), ::getpid());
    {
      std::ofstream out(tmp, std::ios::binary);
      out << commit;
      if (!out) throw IoError(fmt::format("cannot write {}", ref.string()));
    }
    fs::rename(tmp, ref, ec);
    if (ec) throw IoError(fmt::format("cannot write {}: {}", ref.string(), ec.message()));
  }
  return snapshot;
}

#endif  // SEGMENTA_HAVE_CURL

}  // namespace

bool hub_download_supported() noexcept {
#ifdef SEGMENTA_HAVE_CURL
  return true;
#else
  return false;
#endif
}

ModelLocation locate_hub_model(const std::string& spec, const std::string& revision_in, const std::string& not_found) {
  const std::string id = hub_repo_id(spec);
  const std::string revision = revision_in.empty() ? "main" : revision_in;
  // A revision becomes part of a URL and a file under refs/: a branch, tag or commit name only.
  if (revision.find("..") != std::string::npos || revision.front() == '/' || revision.back() == '/' ||
      !std::all_of(revision.begin(), revision.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
      }))
    throw ParameterError("revision", fmt::format("expected a branch, tag or commit, got '{}'", revision));
  const fs::path repo = repo_folder(id);
  ModelLocation loc;
  loc.id = id;
  std::string commit = cached_commit(repo, revision);
  const auto complete = [&](const std::string& c) {
    std::error_code ec;
    return !c.empty() && fs::exists(repo / "snapshots" / c / "config.json", ec) &&
           fs::exists(repo / "snapshots" / c / "model.safetensors", ec);
  };
  if (!complete(commit)) {
    const std::string url = fmt::format("{}/{}/resolve/{}/config.json", hub_endpoint(), id, revision);
    if (hub_offline()) {
      if (commit.empty())
        throw IoError(fmt::format("{}, and {} (revision {}) is not in the Hugging Face cache {}; HF_HUB_OFFLINE is set, "
                                  "so it is not downloaded from {}",
                                  not_found, id, revision, hub_cache_root(), url));
    } else {
#ifdef SEGMENTA_HAVE_CURL
      commit = download(id, revision, repo).filename().string();
#else
      throw IoError(fmt::format("{}, and {} (revision {}) is not in the Hugging Face cache {}; this segmenta was built "
                                "without download support (libcurl), so it cannot fetch {}",
                                not_found, id, revision, hub_cache_root(), url));
#endif
    }
  }
  loc.revision = commit;
  loc.dir = (repo / "snapshots" / commit).string();
  loc.weights_sha256 = blob_sha(repo / "snapshots" / commit / "model.safetensors");
  return loc;
}

}  // namespace segmenta
