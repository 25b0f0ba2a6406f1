// Helpers of tests/mpi/embed_test.sh (the embed method on several ranks):
//   embed_tool model DIR TOKENIZER_DIR
//       writes a sentence-transformers folder with random weights at the shapes of
//       paraphrase-MiniLM-L6-v2 (6 layers, hidden 384) and that folder's tokenizer
//       (the real weights are not part of the repository);
//   embed_tool same-metrics ONE.json RANKS.json
//       fails unless the two metrics.json are equal once timings (keys ending in
//       "seconds", "sentences_per_second", "timings") and what only a run on several
//       ranks records (the "mpi" diagnostics, the embed "ranks" diagnostic and the
//       embedding's "ranks" field) are left out;
//   embed_tool shares RANKS.json RANKS BATCH [CACHED]
//       fails unless the embedding's "ranks" of a run on RANKS ranks gives one count per
//       rank, the counts add up to the sentences encoded, each is within one batch of
//       an equal share, and (CACHED: "cached") the run encoded nothing and read every
//       distinct sentence from the cache.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "minilm_shape.hpp"
#include "segmenta/embed.hpp"

namespace {

using nlohmann::json;

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// `j` without timings and without what only a run on several ranks records.
json comparable(const json& j) {
  if (j.is_object()) {
    json out = json::object();
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      if (ends_with(k, "seconds") || k == "sentences_per_second" || k == "timings" || k == "ranks") continue;
      out[k] = comparable(it.value());
    }
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (const json& v : j) {
      if (v.is_object() && v.contains("stage") &&
          (v["stage"] == "mpi" || (v["stage"] == "embed" && v.value("code", std::string()) == "ranks")))
        continue;
      out.push_back(comparable(v));
    }
    return out;
  }
  return j;
}

// The embedding details of a metrics.json (the first method's that has them).
const json* find_embedding(const json& j) {
  if (j.is_object()) {
    if (j.contains("embedding") && j["embedding"].is_object() && j["embedding"].contains("encoded"))
      return &j["embedding"];
    for (const auto& v : j)
      if (const json* e = find_embedding(v)) return e;
  } else if (j.is_array()) {
    for (const auto& v : j)
      if (const json* e = find_embedding(v)) return e;
  }
  return nullptr;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "FAIL: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "";
  try {
    if (what == "model" && argc == 4) {
      segmenta::write_random_model(argv[2], segmenta::test::minilm_shape(), 20261207, argv[3], 128, {}, true);
      return 0;
    }
    if (what == "same-metrics" && argc == 4) {
      const json a = comparable(read_json(argv[2])), b = comparable(read_json(argv[3]));
      if (a != b) {
        const json patch = json::diff(a, b);
        return fail(std::string("metrics.json differs beyond timings and ranks: ") + patch.dump().substr(0, 2000));
      }
      return 0;
    }
    if (what == "shares" && (argc == 5 || argc == 6)) {
      const json m = read_json(argv[2]);
      const long ranks = std::atol(argv[3]);
      const long batch = std::atol(argv[4]);
      const bool cached = argc == 6 && std::string(argv[5]) == "cached";
      const json* e = find_embedding(m);
      if (!e) return fail("no embedding details in " + std::string(argv[2]));
      if (!e->contains("ranks")) return fail("the embedding details do not list the ranks");
      const json& r = (*e)["ranks"];
      const long encoded = (*e)["encoded"].get<long>(), unique = (*e)["unique"].get<long>();
      if (!r.is_array() || static_cast<long>(r.size()) != ranks)
        return fail("expected " + std::to_string(ranks) + " ranks, got " + r.dump());
      long sum = 0;
      std::string counts;
      for (const json& x : r) {
        const long c = x.at("encoded").get<long>();
        sum += c;
        counts += std::to_string(c) + " ";
        if (std::labs(c * ranks - encoded) > batch * ranks)
          return fail("rank share " + std::to_string(c) + " is not within a batch of " + std::to_string(encoded) +
                      " / " + std::to_string(ranks));
      }
      if (sum != encoded) return fail("the ranks encoded " + std::to_string(sum) + " sentences, not " + std::to_string(encoded));
      if (cached && (encoded != 0 || (*e)["cached"].get<long>() != unique))
        return fail("the run should have read all " + std::to_string(unique) + " sentences from the cache: " + e->dump());
      if (!cached && encoded != unique) return fail("the run should have encoded every distinct sentence: " + e->dump());
      std::printf("sentences encoded per rank: %s(of %ld)\n", counts.c_str(), encoded);
      return 0;
    }
  } catch (const std::exception& ex) {
    return fail(ex.what());
  }
  std::fprintf(stderr, "usage: embed_tool model DIR TOKENIZER_DIR | same-metrics A B | shares METRICS RANKS BATCH [cached]\n");
  return 2;
}
