// A small sentence-transformers folder with random weights and the real MiniLM
// tokenizer, for end-to-end runs of the embed method (the real weights are not
// part of the repository).
#pragma once

#include <filesystem>
#include <string>

#include <unistd.h>

#include "segmenta/embed.hpp"
#include "support.hpp"

namespace segmenta::test {

/// Writes (once per process) a 2-layer, hidden-32 BERT with mean pooling and a
/// Normalize module into a temporary folder and returns the folder. ctest runs tests
/// as parallel processes, so each process writes its own folder.
inline const std::string& small_model_dir() {
  struct Folder {
    std::string dir;
    Folder() : dir(temp_dir("cli_small_model_" + std::to_string(::getpid()))) {
      segmenta::BertConfig c;
      c.hidden_size = 32;
      c.num_hidden_layers = 2;
      c.num_attention_heads = 2;
      c.intermediate_size = 64;
      c.max_position_embeddings = 128;
      segmenta::write_random_model(dir, c, 5, shared_path("models/paraphrase-MiniLM-L6-v2"), 128, {}, true);
    }
    ~Folder() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  };
  static const Folder folder;
  return folder.dir;
}

}  // namespace segmenta::test
