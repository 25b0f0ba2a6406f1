// A small sentence-transformers folder with random weights and the real MiniLM
// tokenizer, for end-to-end runs of the embed method (the real weights are not
// part of the repository).
#pragma once

#include <string>

#include "segmenta/embed.hpp"
#include "support.hpp"

namespace segmenta::test {

/// Writes (once per process) a 2-layer, hidden-32 BERT with mean pooling and a
/// Normalize module into a temporary folder and returns the folder.
inline const std::string& small_model_dir() {
  static const std::string dir = [] {
    const std::string d = temp_dir("cli_small_model");
    segmenta::BertConfig c;
    c.hidden_size = 32;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.intermediate_size = 64;
    c.max_position_embeddings = 128;
    segmenta::write_random_model(d, c, 5, shared_path("models/paraphrase-MiniLM-L6-v2"), 128, {}, true);
    return d;
  }();
  return dir;
}

}  // namespace segmenta::test
