// Fuzz target: the safetensors reader and the model-folder loader. The input is a
// safetensors file, parsed in memory; with the first byte odd it is also written
// as the model.safetensors of a small valid folder (made once), or, with the second
// bit set, as its config.json, and the folder is loaded as a sentence encoder.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "segmenta/embed.hpp"
#include "segmenta/files.hpp"

namespace {

namespace fs = std::filesystem;

#ifndef SEGMENTA_FUZZ_PARSER_ONLY

/// A 1-layer, hidden-8 BERT folder with a 12-token vocabulary, in a fresh temporary folder.
const std::string& base_folder() {
  static const std::string dir = [] {
    const fs::path d = fs::temp_directory_path() / fmt::format("segmenta-fuzz-model-{}", ::getpid());
    fs::create_directories(d / "tok");
    std::FILE* f = std::fopen((d / "tok" / "vocab.txt").c_str(), "w");
    std::fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\n##a\nthe\nage\njob\n", f);
    std::fclose(f);
    segmenta::BertConfig c;
    c.vocab_size = 12;
    c.hidden_size = 8;
    c.num_hidden_layers = 1;
    c.num_attention_heads = 2;
    c.intermediate_size = 16;
    c.max_position_embeddings = 16;
    segmenta::write_random_model((d / "model").string(), c, 1, (d / "tok").string(), 16);
    return (d / "model").string();
  }();
  return dir;
}

void write(const fs::path& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

#endif

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const segmenta::SafeTensors st = segmenta::SafeTensors::parse(bytes, "fuzz.safetensors");
    for (const auto& t : st.tensors()) (void)t;
  } catch (const segmenta::Error&) {
  }
#ifndef SEGMENTA_FUZZ_PARSER_ONLY
  if (mode & 1) {
    // The fuzzed file replaces one file of the folder for this input, then the
    // original is put back.
    static const fs::path dir = base_folder();
    const fs::path file = dir / ((mode & 2) ? "config.json" : "model.safetensors");
    static const std::string config = segmenta::read_file((dir / "config.json").string());
    static const std::string weights = segmenta::read_file((dir / "model.safetensors").string());
    write(file, bytes);
    try {
      const segmenta::SentenceEncoder e = segmenta::SentenceEncoder::load(dir.string());
      segmenta::EncodeOptions o;
      (void)e.encode({"the age", "a b c"}, o);
    } catch (const segmenta::Error&) {
    }
    write(file, (mode & 2) ? config : weights);
  }
#else
  (void)mode;
#endif
  return 0;
}
