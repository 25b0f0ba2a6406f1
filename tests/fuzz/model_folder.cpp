// Fuzz target: the model-folder loader. A small valid sentence-transformers folder
// (a 1-layer, hidden-8 BERT with a 12-token WordPiece vocabulary) is made once in a
// fresh temporary folder; for each input, the first byte picks one file of the
// folder and the rest of the input replaces it (or is added, for the files the base
// folder lacks): config.json, model.safetensors (header and weights), the tokenizer
// files (vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json),
// modules.json, sentence_bert_config.json, the pooling config or
// config_sentence_transformers.json. The folder is then loaded as `segmenta embed`
// loads it and two sentences are encoded, which must give one vector per sentence
// of the loaded model's dimension, or a segmenta error. The file is put back after.
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "segmenta/core.hpp"
#include "segmenta/embed.hpp"
#include "segmenta/files.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::array<const char*, 10> kFiles = {
    "config.json",           "model.safetensors",       "vocab.txt",
    "tokenizer.json",        "tokenizer_config.json",   "special_tokens_map.json",
    "modules.json",          "sentence_bert_config.json", "1_Pooling/config.json",
    "config_sentence_transformers.json"};

void write(const fs::path& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

const fs::path& base_folder() {
  static const fs::path dir = [] {
    // One thread: the inputs are tiny, and starting a team per input would dominate.
    segmenta::set_num_threads(1);
    // In memory where there is a tmpfs (each input rewrites a file of the folder).
    std::error_code ec;
    const fs::path tmp = fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm")
                                                                                              : fs::temp_directory_path();
    const fs::path d = tmp / fmt::format("segmenta-fuzz-folder-{}", ::getpid());
    fs::remove_all(d);
    fs::create_directories(d / "tok");
    write(d / "tok" / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\n##a\nthe\nage\njob\n");
    write(d / "tok" / "tokenizer_config.json",
          "{\"do_lower_case\": true, \"unk_token\": \"[UNK]\", \"cls_token\": \"[CLS]\", \"sep_token\": \"[SEP]\", "
          "\"pad_token\": \"[PAD]\", \"mask_token\": \"[MASK]\", \"model_max_length\": 16}\n");
    write(d / "tok" / "special_tokens_map.json",
          "{\"unk_token\": \"[UNK]\", \"cls_token\": \"[CLS]\", \"sep_token\": \"[SEP]\", \"pad_token\": \"[PAD]\", "
          "\"mask_token\": \"[MASK]\"}\n");
    segmenta::BertConfig c;
    c.vocab_size = 12;
    c.hidden_size = 8;
    c.num_hidden_layers = 1;
    c.num_attention_heads = 2;
    c.intermediate_size = 16;
    c.max_position_embeddings = 16;
    segmenta::write_random_model((d / "model").string(), c, 1, (d / "tok").string(), 16);
    static const fs::path remove_at_exit = d;
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(remove_at_exit, ec);
    });
    return d / "model";
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const fs::path& dir = base_folder();
  const fs::path file = dir / kFiles[data[0] % kFiles.size()];
  std::optional<std::string> original;
  if (fs::exists(file)) original = segmenta::read_file(file.string());
  write(file, std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  try {
    const segmenta::SentenceEncoder e = segmenta::SentenceEncoder::load(dir.string());
    segmenta::EncodeOptions o;
    o.progress = false;
    o.batch_size = 1 + data[0] / kFiles.size() % 2;
    const segmenta::MatrixF v = e.encode({"the age", "a b c job [MASK]"}, o);
    if (v.rows() != 2 || v.cols() != e.dimension()) __builtin_trap();
  } catch (const segmenta::Error&) {
  }
  if (original)
    write(file, *original);
  else
    fs::remove(file);
  return 0;
}
