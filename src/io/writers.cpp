#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "segmenta/io.hpp"

namespace segmenta {

std::string csv_escape(std::string_view field, char delimiter) {
  if (field.find_first_of(std::string{delimiter, '"', '\r', '\n'}) == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

namespace {
template <class T>
std::string matrix_to_csv_impl(MatrixView<T> m, const std::vector<std::string>& names) {
  std::string out;
  out.reserve(m.rows() * m.cols() * 20 + 64);
  for (std::size_t j = 0; j < m.cols(); ++j) {
    if (j) out.push_back(',');
    out += j < names.size() ? csv_escape(names[j]) : fmt::format("col{}", j);
  }
  out.push_back('\n');
  for (std::size_t i = 0; i < m.rows(); ++i) {
    for (std::size_t j = 0; j < m.cols(); ++j) {
      if (j) out.push_back(',');
      if constexpr (std::is_same_v<T, float>)
        out += fmt::format("{}", m(i, j));  // shortest float32 round trip
      else
        out += format_double(m(i, j));
    }
    out.push_back('\n');
  }
  return out;
}

template <class T>
std::string matrix_to_npy_impl(MatrixView<T> m, const char* descr) {
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}, {}), }}", descr, m.rows(), m.cols());
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a
  // multiple of 64 bytes and ended by a newline.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  out.push_back(static_cast<char>(len & 0xFF));
  out.push_back(static_cast<char>(len >> 8));
  out += header;
  const std::size_t start = out.size();
  out.resize(start + m.rows() * m.cols() * sizeof(T));
  for (std::size_t i = 0; i < m.rows(); ++i)
    std::memcpy(out.data() + start + i * m.cols() * sizeof(T), m.row(i), m.cols() * sizeof(T));
  return out;
}
}  // namespace

std::string matrix_to_csv(ViewD m, const std::vector<std::string>& names) { return matrix_to_csv_impl(m, names); }
std::string matrix_to_csv(ViewF m, const std::vector<std::string>& names) { return matrix_to_csv_impl(m, names); }
std::string matrix_to_npy(ViewF m) { return matrix_to_npy_impl(m, "<f4"); }
std::string matrix_to_npy(ViewD m) { return matrix_to_npy_impl(m, "<f8"); }

MatrixD read_npy(const std::string& path) {
  const std::string data = read_file(path);
  if (data.size() < 10 || data.compare(0, 6, "\x93NUMPY") != 0) throw DataError(path + ": not a .npy file");
  const unsigned major = static_cast<unsigned char>(data[6]);
  std::size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(data[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(data[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12) throw DataError(path + ": truncated .npy header");
    header_len = 0;
    for (int b = 3; b >= 0; --b) header_len = (header_len << 8) | static_cast<unsigned char>(data[8 + b]);
    header_start = 12;
  } else {
    throw DataError(fmt::format("{}: unsupported .npy version {}", path, major));
  }
  if (header_start + header_len > data.size()) throw DataError(path + ": truncated .npy header");
  const std::string header = data.substr(header_start, header_len);
  const bool f4 = header.find("'<f4'") != std::string::npos, f8 = header.find("'<f8'") != std::string::npos;
  if (!f4 && !f8) throw DataError(path + ": only little-endian float32/float64 .npy files are supported");
  if (header.find("'fortran_order': False") == std::string::npos)
    throw DataError(path + ": Fortran-ordered .npy files are not supported");
  const std::size_t sp = header.find("'shape': (");
  if (sp == std::string::npos) throw DataError(path + ": .npy header has no shape");
  std::size_t rows = 0, cols = 0;
  if (std::sscanf(header.c_str() + sp + 10, "%zu, %zu", &rows, &cols) != 2)
    throw DataError(path + ": only 2-D .npy arrays are supported");
  const std::size_t elem = f4 ? 4 : 8;
  const std::size_t offset = header_start + header_len;
  if (rows != 0 && cols > (data.size() - offset) / elem / rows)
    throw DataError(path + ": .npy data shorter than its shape says");
  MatrixD m(rows, cols);
  const char* src = data.data() + offset;
  for (std::size_t k = 0; k < rows * cols; ++k) {
    if (f4) {
      float v;
      std::memcpy(&v, src + 4 * k, 4);
      m.data()[k] = v;
    } else {
      std::memcpy(m.data() + k, src + 8 * k, 8);
    }
  }
  return m;
}

}  // namespace segmenta
