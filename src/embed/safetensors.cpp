#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "embed/internal.hpp"
#include "segmenta/embed.hpp"

namespace segmenta {
namespace {

// The reference implementation refuses headers above 100 MB; a bigger one is either
// hostile or not a safetensors file.
constexpr std::size_t kMaxHeader = 100'000'000;
constexpr int kMaxDepth = 8;

std::size_t dtype_size(std::string_view d) noexcept {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E5M2" || d == "F8_E4M3") return 1;
  return 0;
}

// nlohmann's parser recurses per nesting level; a header of a few million '[' would
// exhaust the stack. Measure the depth first (strings skipped, escapes honoured).
bool nesting_within(std::string_view s, int limit) noexcept {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

bool mul_overflows(std::size_t a, std::size_t b, std::size_t& out) noexcept {
  return __builtin_mul_overflow(a, b, &out);
}

std::uint64_t read_le64(const char* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

std::size_t TensorInfo::numel() const noexcept {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

SafeTensors SafeTensors::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot open {}", path));
  in.seekg(0, std::ios::end);
  const auto size = in.tellg();
  if (size < 0) throw IoError(fmt::format("cannot read {}", path));
  in.seekg(0, std::ios::beg);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  if (!in.read(bytes.data(), size)) throw IoError(fmt::format("cannot read {}", path));
  return parse(std::move(bytes), path);
}

SafeTensors SafeTensors::parse(std::string bytes, std::string name) {
  if (name.empty()) name = "safetensors data";  // bytes that came from no file: say what they are
  auto fail = [&](const std::string& what) -> ModelFormatError {
    return ModelFormatError(fmt::format("{}: not a valid safetensors file: {}", name, what));
  };
  if (bytes.size() < 8) throw fail(fmt::format("{} bytes, shorter than the 8-byte header length", bytes.size()));
  const std::uint64_t header_len = read_le64(bytes.data());
  if (header_len > kMaxHeader) throw fail(fmt::format("header length {} exceeds the 100 MB limit", header_len));
  if (header_len > bytes.size() - 8)
    throw fail(fmt::format("header length {} runs past the end of the file ({} bytes): truncated?", header_len,
                           bytes.size()));
  const std::string_view header(bytes.data() + 8, static_cast<std::size_t>(header_len));
  if (!nesting_within(header, kMaxDepth)) throw fail("header JSON nested too deeply");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::parse_error& e) {
    throw fail(fmt::format("header is not valid JSON: {}", embed_detail::json_error_text(header, e.byte, e.what())));
  } catch (const nlohmann::json::exception& e) {
    throw fail(fmt::format("header is not valid JSON: {}", embed_detail::json_error_text(header, 0, e.what())));
  }
  if (!j.is_object()) throw fail("header is not a JSON object");

  SafeTensors st;
  st.name_ = name;  // a copy: later messages still name the file
  st.data_offset_ = 8 + static_cast<std::size_t>(header_len);
  const std::size_t data_size = bytes.size() - st.data_offset_;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) throw fail("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw fail(fmt::format("__metadata__ value '{}' is not a string", m.key()));
        st.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object()) throw fail(fmt::format("entry '{}' is not an object", key));
    const auto dt = v.find("dtype");
    const auto sh = v.find("shape");
    const auto off = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) throw fail(fmt::format("tensor '{}' has no dtype string", key));
    if (sh == v.end() || !sh->is_array()) throw fail(fmt::format("tensor '{}' has no shape array", key));
    if (off == v.end() || !off->is_array() || off->size() != 2)
      throw fail(fmt::format("tensor '{}' has no [begin, end] data_offsets", key));
    TensorInfo t;
    t.name = key;
    t.dtype = dt->get<std::string>();
    const std::size_t esize = dtype_size(t.dtype);
    if (esize == 0) throw fail(fmt::format("tensor '{}' has unknown dtype '{}'", key, t.dtype));
    std::size_t count = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned()) throw fail(fmt::format("tensor '{}' has a shape entry that is not a non-negative integer", key));
      const std::size_t dim = d.get<std::size_t>();
      t.shape.push_back(dim);
      if (mul_overflows(count, dim, count)) throw fail(fmt::format("tensor '{}' shape overflows", key));
    }
    for (const auto& o : *off)
      if (!o.is_number_unsigned()) throw fail(fmt::format("tensor '{}' has a data offset that is not a non-negative integer", key));
    t.begin = (*off)[0].get<std::size_t>();
    t.end = (*off)[1].get<std::size_t>();
    std::size_t nbytes = 0;
    if (mul_overflows(count, esize, nbytes)) throw fail(fmt::format("tensor '{}' byte size overflows", key));
    if (t.begin > t.end || t.end > data_size)
      throw fail(fmt::format("tensor '{}' data_offsets [{}, {}] outside the {} data bytes (truncated file?)", key, t.begin,
                             t.end, data_size));
    if (t.end - t.begin != nbytes)
      throw fail(fmt::format("tensor '{}' holds {} bytes but its {} shape needs {}", key, t.end - t.begin, t.dtype, nbytes));
    st.tensors_.push_back(std::move(t));
  }
  std::vector<const TensorInfo*> order;
  for (const auto& t : st.tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (std::size_t i = 1; i < order.size(); ++i)
    if (order[i]->begin < order[i - 1]->end)
      throw fail(fmt::format("tensors '{}' and '{}' overlap", order[i - 1]->name, order[i]->name));
  std::sort(st.tensors_.begin(), st.tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  st.bytes_ = std::move(bytes);
  return st;
}

const TensorInfo* SafeTensors::find(std::string_view name) const noexcept {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, std::string_view n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

std::vector<float> SafeTensors::to_float(const TensorInfo& t) const {
  const std::size_t n = t.numel();
  std::vector<float> out(n);
  const char* p = bytes_.data() + data_offset_ + t.begin;
  if (t.dtype == "F32") {
    if (n > 0) std::memcpy(out.data(), p, n * 4);  // (an empty vector's data() may be null)
  } else if (t.dtype == "F16" || t.dtype == "BF16") {
    const bool bf = t.dtype == "BF16";
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = bf ? embed_detail::bf16_to_float(h) : embed_detail::half_to_float(h);
    }
  } else if (t.dtype == "F64") {
    for (std::size_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, p + 8 * i, 8);
      out[i] = static_cast<float>(d);
    }
  } else {
    throw ModelFormatError(
        fmt::format("{}: tensor '{}' has dtype {}; only F32, F16, BF16 and F64 can be used", name_, t.name, t.dtype));
  }
  return out;
}

std::vector<float> SafeTensors::load(std::string_view name, const std::vector<std::size_t>& shape) const {
  const TensorInfo* t = find(name);
  if (!t) throw ModelFormatError(fmt::format("{}: tensor '{}' is missing", name_, name));
  if (t->shape != shape)
    throw ModelFormatError(fmt::format("{}: tensor '{}' has shape [{}], expected [{}]", name_, name,
                                       fmt::join(t->shape, ", "), fmt::join(shape, ", ")));
  std::vector<float> v = to_float(*t);
  // A NaN or infinite weight would make every sentence vector NaN without a word.
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw ModelFormatError(fmt::format("{}: tensor '{}' holds a non-finite value ({}) at element {}", name_, name,
                                         std::isnan(v[i]) ? "NaN" : v[i] > 0 ? "inf" : "-inf", i));
  return v;
}

std::string safetensors_bytes(const std::vector<NamedTensor>& tensors, SafeTensorsDType dtype) {
  std::vector<const NamedTensor*> order;
  for (const auto& t : tensors) {
    std::size_t n = 1;
    for (auto d : t.shape) n *= d;
    if (n != t.values.size())
      throw InvalidArgument(fmt::format("safetensors: tensor '{}' has {} values for shape [{}]", t.name, t.values.size(),
                                        fmt::join(t.shape, ", ")));
    if (t.name.empty() || t.name == "__metadata__")
      throw InvalidArgument(fmt::format("safetensors: invalid tensor name '{}'", t.name));
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const NamedTensor* a, const NamedTensor* b) { return a->name < b->name; });
  for (std::size_t i = 1; i < order.size(); ++i)
    if (order[i]->name == order[i - 1]->name)
      throw InvalidArgument(fmt::format("safetensors: tensor name '{}' appears twice", order[i]->name));

  const std::size_t esize = dtype == SafeTensorsDType::f32 ? 4 : 2;
  const char* dname = dtype == SafeTensorsDType::f32 ? "F32" : dtype == SafeTensorsDType::f16 ? "F16" : "BF16";
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  std::size_t offset = 0;
  for (const auto* t : order) {
    const std::size_t nbytes = t->values.size() * esize;
    header[t->name] = {{"dtype", dname}, {"shape", t->shape}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string h = header.dump();
  while (h.size() % 8) h.push_back(' ');
  std::string out(8 + h.size() + offset, '\0');
  std::uint64_t len = h.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((len >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, h.data(), h.size());
  char* p = out.data() + 8 + h.size();
  for (const auto* t : order) {
    if (dtype == SafeTensorsDType::f32) {
      // (An empty tensor's data() may be null, which memcpy must not get even for 0 bytes.)
      if (!t->values.empty()) std::memcpy(p, t->values.data(), t->values.size() * 4);
      p += t->values.size() * 4;
    } else {
      for (float v : t->values) {
        const std::uint16_t b =
            dtype == SafeTensorsDType::f16 ? embed_detail::float_to_half(v) : embed_detail::float_to_bf16(v);
        std::memcpy(p, &b, 2);
        p += 2;
      }
    }
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors, SafeTensorsDType dtype) {
  write_file_atomic(path, safetensors_bytes(tensors, dtype));
}

}  // namespace segmenta
