#pragma once
// What the embedder tests share: one text's vector, the dot product of two vectors, and the
// Quora question pairs of the shared data scored by an embedder (the ROC AUC cases).

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

#include "semcache/embedder.hpp"
#include "semcache/pair_eval.hpp"

namespace semcache::testing {

// The vector of one text; the test fails when the embedder refuses it.
inline std::vector<float> embed_one(Embedder& embedder, std::string_view text) {
  std::vector<float> out(embedder.dim());
  const std::string_view texts[] = {text};
  const Status status = embedder.embed(texts, out);
  INFO(status.message());
  REQUIRE(status.is_ok());
  return out;
}

// Of two unit vectors: their cosine similarity.
inline double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

// The first `count` lines of a pairs file ({"text_a", "text_b", "label"} per line, as
// qqp-dev/pairs.jsonl), each scored with the cosine distance of its texts' vectors.
inline std::vector<ScoredPair> scored_pairs(Embedder& embedder, const std::filesystem::path& pairs_jsonl,
                                            std::size_t count) {
  simdjson::padded_string json;
  REQUIRE(simdjson::padded_string::load(pairs_jsonl.string()).get(json) == simdjson::SUCCESS);
  simdjson::dom::parser parser;
  simdjson::dom::document_stream lines;
  REQUIRE(parser.parse_many(json).get(lines) == simdjson::SUCCESS);
  std::vector<ScoredPair> scored;
  for (auto line : lines) {
    if (scored.size() == count) break;
    simdjson::dom::element pair;
    REQUIRE(line.get(pair) == simdjson::SUCCESS);
    const std::string_view a = pair["text_a"].get_string().value();
    const std::string_view b = pair["text_b"].get_string().value();
    // Unit vectors: the cosine distance is 1 - the dot product.
    scored.push_back({1.0 - dot(embed_one(embedder, a), embed_one(embedder, b)), pair["label"].get_int64().value() == 1});
  }
  REQUIRE(scored.size() == count);
  return scored;
}

}  // namespace semcache::testing
