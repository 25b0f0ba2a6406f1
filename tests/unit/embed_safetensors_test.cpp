// safetensors reading/writing, bounds checks and a small fuzz of damaged files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "segmenta/embed.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

std::string file_with_header(const std::string& header, std::size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

std::vector<NamedTensor> sample() {
  return {{"b.weight", {2, 3}, {1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, -65504.0f}},
          {"a.bias", {3}, {0.5f, 0.25f, -0.125f}},
          {"scalar", {}, {7.0f}},
          {"empty", {0, 4}, {}}};
}

}  // namespace

TEST(EmbedSafeTensors, RoundTripF32) {
  const std::string bytes = safetensors_bytes(sample());
  const SafeTensors st = SafeTensors::parse(bytes, "mem");
  ASSERT_EQ(st.tensors().size(), 4u);
  EXPECT_EQ(st.tensors()[0].name, "a.bias");  // sorted by name
  EXPECT_EQ(st.metadata().at("format"), "pt");
  EXPECT_EQ(st.load("b.weight", {2, 3}), sample()[0].values);
  EXPECT_EQ(st.load("a.bias", {3}), sample()[1].values);
  EXPECT_EQ(st.load("scalar", {}), std::vector<float>{7.0f});
  EXPECT_TRUE(st.load("empty", {0, 4}).empty());
  // Header length is a multiple of 8 (data aligned for readers that map the file).
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_THROW(st.load("missing", {1}), ModelFormatError);
  EXPECT_THROW(st.load("a.bias", {1, 3}), ModelFormatError);
}

TEST(EmbedSafeTensors, HalfAndBfloat16RoundToNearest) {
  // Values exactly representable in both formats survive unchanged.
  const std::vector<NamedTensor> exact = {{"x", {6}, {1.0f, -2.0f, 0.5f, 0.0f, -0.0f, 3.0f}}};
  for (auto dt : {SafeTensorsDType::f16, SafeTensorsDType::bf16}) {
    const SafeTensors st = SafeTensors::parse(safetensors_bytes(exact, dt), "mem");
    EXPECT_EQ(st.tensors()[0].dtype, dt == SafeTensorsDType::f16 ? "F16" : "BF16");
    EXPECT_EQ(st.load("x", {6}), exact[0].values);
  }
  // Rounding: against the nearest neighbours computed from the format definitions.
  const float x = 1.0f + 1.0f / 1024.0f + 1.0f / 4096.0f;  // between f16 grid points 1+1/1024 and 1+2/1024
  const SafeTensors h = SafeTensors::parse(safetensors_bytes({{"x", {1}, {x}}}, SafeTensorsDType::f16), "mem");
  EXPECT_EQ(h.load("x", {1})[0], 1.0f + 1.0f / 1024.0f);
  const float y = 1.0f + 3.0f / 256.0f;  // tie between bf16 1+2/128 (even) and 1+1/128: 1 + 1.5/128
  const SafeTensors b = SafeTensors::parse(safetensors_bytes({{"x", {1}, {y}}}, SafeTensorsDType::bf16), "mem");
  EXPECT_EQ(b.load("x", {1})[0], 1.0f + 2.0f / 128.0f);
  // Half subnormals, overflow to infinity (which load() would refuse as a weight).
  const SafeTensors s =
      SafeTensors::parse(safetensors_bytes({{"x", {3}, {std::ldexp(1.0f, -24), 65504.0f, 70000.0f}}}, SafeTensorsDType::f16), "mem");
  const auto v = s.to_float(s.tensors()[0]);
  EXPECT_EQ(v[0], std::ldexp(1.0f, -24));
  EXPECT_EQ(v[1], 65504.0f);
  EXPECT_TRUE(std::isinf(v[2]));
}

TEST(EmbedSafeTensors, WriterRejectsBadInput) {
  EXPECT_THROW(safetensors_bytes({{"x", {2, 2}, {1.0f}}}), InvalidArgument);
  EXPECT_THROW(safetensors_bytes({{"x", {1}, {1.0f}}, {"x", {1}, {2.0f}}}), InvalidArgument);
  EXPECT_THROW(safetensors_bytes({{"__metadata__", {1}, {1.0f}}}), InvalidArgument);
}

TEST(EmbedSafeTensors, MalformedHeadersAreModelFormatErrors) {
  const std::vector<std::string> bad = {
      std::string("abc"),                                                       // shorter than 8 bytes
      le64(1000) + "{}",                                                        // header past the end
      le64(~0ULL) + "{}",                                                       // absurd header length
      file_with_header("[1,2,3]", 0),                                           // not an object
      file_with_header("{\"x\": 5}", 0),                                        // entry not an object
      file_with_header("{\"x\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4),     // no offsets
      file_with_header("{\"x\": {\"dtype\": \"Q4\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4),  // dtype
      file_with_header("{\"x\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4),
      file_with_header("{\"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 8),  // size mismatch
      file_with_header("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", 8),  // begin > end
      file_with_header("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", 8),  // past data
      file_with_header("{\"x\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 0]}}", 8),
      file_with_header("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, "
                       "\"y\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [2, 6]}}",
                       8),  // overlap
      file_with_header("{\"__metadata__\": {\"a\": 1}}", 0),
      file_with_header(std::string(100000, '[') + std::string(100000, ']'), 0),  // deep nesting
      file_with_header("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}", 4),  // truncated JSON
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    try {
      SafeTensors::parse(bad[i], "weights/bad.safetensors");
      ADD_FAILURE() << "case " << i << ": no ModelFormatError";
    } catch (const ModelFormatError& e) {
      // Every message names the file, also those raised after the header was read
      // (they began with ": not a valid..." before).
      EXPECT_TRUE(std::string(e.what()).starts_with("weights/bad.safetensors: not a valid safetensors file: "))
          << "case " << i << ": " << e.what();
    }
  }
  // A known dtype that cannot be converted reads fine but cannot be loaded as float.
  const SafeTensors st =
      SafeTensors::parse(file_with_header("{\"ids\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [0, 16]}}", 16), "ok");
  EXPECT_THROW(st.to_float(st.tensors()[0]), ModelFormatError);
}

TEST(EmbedSafeTensors, FuzzedFilesNeverCrash) {
  // Every prefix of a valid file, and files with random bytes overwritten in the length
  // field or the header: parsing either succeeds with in-bounds tensors or throws
  // ModelFormatError, never anything else.
  const std::string good = safetensors_bytes(sample());
  std::size_t rejected = 0, accepted = 0;
  auto check = [&](const std::string& bytes) {
    try {
      const SafeTensors st = SafeTensors::parse(bytes, "fuzz");
      for (const auto& t : st.tensors()) {
        EXPECT_LE(t.end, bytes.size());
        if (t.dtype == "F32" || t.dtype == "F16" || t.dtype == "BF16" || t.dtype == "F64") {
          EXPECT_EQ(st.to_float(t).size(), t.numel());
        }
      }
      ++accepted;
    } catch (const ModelFormatError&) {
      ++rejected;
    }
  };
  for (std::size_t n = 0; n < good.size(); ++n) check(good.substr(0, n));
  Rng rng(7);
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, good.data(), 8);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string b = good;
    const int edits = 1 + static_cast<int>(rng.below(4));
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng.below(8 + header_len);
      b[pos] = static_cast<char>(rng.below(256));
    }
    check(b);
  }
  EXPECT_GT(rejected, 1000u);
  EXPECT_GT(accepted, 0u);  // edits inside names/metadata strings keep the file valid
}

TEST(EmbedSafeTensors, ReadFromDisk) {
  const std::string dir = test::temp_dir("embed_safetensors");
  write_safetensors(dir + "/m.safetensors", sample());
  const SafeTensors st = SafeTensors::read(dir + "/m.safetensors");
  EXPECT_EQ(st.load("b.weight", {2, 3}), sample()[0].values);
  EXPECT_THROW(SafeTensors::read(dir + "/nope.safetensors"), IoError);
  const std::string bytes = safetensors_bytes(sample());
  std::ofstream(dir + "/cut.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  EXPECT_THROW(SafeTensors::read(dir + "/cut.safetensors"), ModelFormatError);
}

TEST(EmbedSafeTensors, NonFiniteWeightsAreRefusedNamingTheTensor) {
  const std::string dir = test::temp_dir("embed_safetensors_nan");
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  write_safetensors(dir + "/m.safetensors", {{"ok.weight", {2}, {1.0f, 2.0f}},
                                             {"bad.weight", {3}, {1.0f, nan, 2.0f}},
                                             {"big.bias", {1}, {-inf}}});
  const SafeTensors st = SafeTensors::read(dir + "/m.safetensors");
  EXPECT_EQ(st.load("ok.weight", {2}), (std::vector<float>{1.0f, 2.0f}));
  auto message = [&](const char* name, std::vector<std::size_t> shape) -> std::string {
    try {
      st.load(name, shape);
    } catch (const ModelFormatError& e) {
      return e.what();
    }
    return "(no ModelFormatError)";
  };
  EXPECT_EQ(message("bad.weight", {3}), dir + "/m.safetensors: tensor 'bad.weight' holds a non-finite value (NaN) at element 1");
  EXPECT_EQ(message("big.bias", {1}), dir + "/m.safetensors: tensor 'big.bias' holds a non-finite value (-inf) at element 0");
}

TEST(EmbedSafeTensors, BytesWithoutAFileNameSayWhatTheyAre) {
  try {
    SafeTensors::parse("abc", "");
    FAIL() << "no ModelFormatError";
  } catch (const ModelFormatError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("safetensors data: not a valid safetensors file", 0), 0u) << e.what();
  }
}
