// The shapes of paraphrase-MiniLM-L6-v2, for encoder tests with random weights at
// the real sizes (the real weights are not part of the repository).
#pragma once

#include "segmenta/embed.hpp"

namespace segmenta::test {

inline BertConfig minilm_shape() {
  BertConfig c;
  c.vocab_size = 30522;
  c.hidden_size = 384;
  c.num_hidden_layers = 6;
  c.num_attention_heads = 12;
  c.intermediate_size = 1536;
  c.max_position_embeddings = 512;
  return c;
}

}  // namespace segmenta::test
