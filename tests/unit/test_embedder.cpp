// Tests for semcache/embedder.hpp: the hashing embedder and make_embedder().
//
// The golden vector pins the exact recipe (normalisation, features, weights, our own hash): if
// it changes, vectors cached by an older build under the same identity "hash-v1/256" would be
// compared with new ones, so a change here must come with a new identity version. Normalisation
// is checked through its observable effect: two spellings that must normalise to the same words
// give bit-identical vectors. Quality is checked on real labelled pairs (Quora Question Pairs)
// with a ROC AUC floor.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "semcache/embedder.hpp"
#include "semcache/pair_eval.hpp"
#include "embedder_checks.hpp"
#include "shared_data.hpp"

namespace {

using semcache::ErrorCode;
using semcache::testing::dot;
using semcache::testing::embed_one;

semcache::EmbedderOptions with_dim(std::size_t dim) {
  semcache::EmbedderOptions options;
  options.dim = dim;
  return options;
}

bool is_zero(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; });
}

}  // namespace

TEST_CASE("embedder: hash vectors are pinned across machines (golden)", "[embedder]") {
  auto embedder = semcache::make_hash_embedder(256);
  CHECK(embedder->identity() == "hash-v1/256");
  CHECK(embedder->dim() == 256);
  const auto v = embed_one(*embedder, "How do I learn C++ quickly?");
  // The first 8 non-zero components and the number of non-zero components, computed once with
  // this recipe. Words: how, do, i, learn, c, quickly.
  const std::vector<std::pair<std::size_t, float>> golden = {
      {11, -0.304997f}, {38, -0.152499f}, {42, -0.152499f}, {48, -0.152499f},
      {51, -0.152499f}, {57, 0.152499f},  {67, 0.152499f},  {77, 0.152499f}};
  std::vector<std::pair<std::size_t, float>> actual;
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == 0.0f) continue;
    if (actual.size() < golden.size()) actual.emplace_back(i, v[i]);
    ++nonzero;
  }
  CHECK(nonzero == 23);
  REQUIRE(actual.size() == golden.size());
  for (std::size_t i = 0; i < golden.size(); ++i) {
    INFO("component " << i);
    CHECK(actual[i].first == golden[i].first);
    CHECK(actual[i].second == Approx(golden[i].second).margin(1e-5));
  }
}

TEST_CASE("embedder: identical text gives an identical unit vector", "[embedder]") {
  auto embedder = semcache::make_hash_embedder(256);
  const auto a = embed_one(*embedder, "What is the capital of France?");
  const auto b = embed_one(*embedder, "What is the capital of France?");
  CHECK(a == b);
  CHECK(dot(a, a) == Approx(1.0).margin(1e-6));
  // A second embedder of the same identity gives the same vector.
  auto other = semcache::make_hash_embedder(256);
  CHECK(embed_one(*other, "What is the capital of France?") == a);
}

TEST_CASE("embedder: text without words gives the zero vector", "[embedder]") {
  auto embedder = semcache::make_hash_embedder(64);
  for (const std::string_view text : {"", "   ", "?!... --- ()", "'", "\t\n"}) {
    INFO("text: '" << text << "'");
    CHECK(is_zero(embed_one(*embedder, text)));
  }
  CHECK(embedder->counters().tokens == 0);
  CHECK(embedder->counters().texts == 5);
}

TEST_CASE("embedder: normalisation ignores case and punctuation and resolves clitics", "[embedder]") {
  auto embedder = semcache::make_hash_embedder(256);
  const std::pair<std::string_view, std::string_view> same[] = {
      {"HELLO, World!!", "hello world"},
      {"Don't panic", "do not panic"},
      {"don\xE2\x80\x99t panic", "do not panic"},  // U+2019 as the apostrophe
      {"don''t \xE2\x80\x99panic\xE2\x80\x99", "don t panic"},
      {"I can't go", "i can not go"},
      {"It won't work", "it will not work"},
      {"They're here and we've gone", "they are here and we have gone"},
      {"I'm sure you'll see what I'd do", "i am sure you will see what i would do"},
      {"What's John's plan?", "what john plan"},
      {"O'Neil", "oneil"},
      {"'quoted' words", "quoted words"},
      {"e-mail", "e mail"},
  };
  for (const auto& [a, b] : same) {
    INFO(a << " vs " << b);
    CHECK(embed_one(*embedder, a) == embed_one(*embedder, b));
  }
  // Non-ASCII bytes belong to words: "café" is not "caf".
  CHECK(embed_one(*embedder, "caf\xC3\xA9") != embed_one(*embedder, "caf"));
  // Digits belong to words.
  CHECK(embed_one(*embedder, "gpt4") != embed_one(*embedder, "gpt 4"));
}

TEST_CASE("embedder: a paraphrase is closer than an unrelated question", "[embedder]") {
  auto embedder = semcache::make_hash_embedder(256);
  const auto query = embed_one(*embedder, "How can I lose weight quickly?");
  const auto paraphrase = embed_one(*embedder, "What is the quickest way to lose weight?");
  const auto unrelated = embed_one(*embedder, "Which programming language should I learn first?");
  const auto plural = embed_one(*embedder, "How can I lose weights quickly");
  CHECK(dot(query, paraphrase) > dot(query, unrelated) + 0.2);
  CHECK(dot(query, plural) > 0.8);
}

TEST_CASE("embedder: a batch equals one text at a time, and counters count texts and words", "[embedder]") {
  auto embedder = semcache::make_hash_embedder(128);
  const std::vector<std::string_view> texts = {"first text here", "", "Second: text, don't"};
  std::vector<float> batch(texts.size() * 128);
  REQUIRE(embedder->embed(texts, batch).is_ok());
  for (std::size_t t = 0; t < texts.size(); ++t) {
    auto single = semcache::make_hash_embedder(128);
    const auto v = embed_one(*single, texts[t]);
    CHECK(std::equal(v.begin(), v.end(), batch.begin() + static_cast<std::ptrdiff_t>(t * 128)));
  }
  const auto counters = embedder->counters();
  CHECK(counters.texts == 3);
  CHECK(counters.tokens == 3 + 0 + 4);  // second, text, do, not
}

TEST_CASE("embedder: an output of the wrong size is invalid_argument", "[embedder]") {
  auto embedder = semcache::make_hash_embedder(64);
  const std::vector<std::string_view> texts = {"a", "b"};
  std::vector<float> out(64);
  const semcache::Status status = embedder->embed(texts, out);
  CHECK(status.code() == ErrorCode::kInvalidArgument);
  CHECK(status.message() == "embedder hash-v1/64: output holds 64 floats, expected 2 texts x 64 dimensions");
  CHECK(embedder->counters().texts == 0);
}

TEST_CASE("embedder: threads embedding at once get the single-threaded vectors", "[embedder][concurrency]") {
  auto embedder = semcache::make_hash_embedder(256);
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) texts.push_back("question number " + std::to_string(i) + " about topic " + std::to_string(i % 7));
  std::vector<std::vector<float>> expected;
  for (const auto& text : texts) expected.push_back(embed_one(*semcache::make_hash_embedder(256), text));

  constexpr int kThreads = 4;
  constexpr int kRounds = 20;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> out(256);
      for (int round = 0; round < kRounds; ++round) {
        for (std::size_t i = 0; i < texts.size(); ++i) {
          const std::string_view one[] = {texts[(i + static_cast<std::size_t>(t)) % texts.size()]};
          if (!embedder->embed(one, out).is_ok() || out != expected[(i + static_cast<std::size_t>(t)) % texts.size()]) {
            ++mismatches[static_cast<std::size_t>(t)];
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) CHECK(mismatches[static_cast<std::size_t>(t)] == 0);
  CHECK(embedder->counters().texts == static_cast<std::uint64_t>(kThreads) * kRounds * texts.size());
}

TEST_CASE("embedder: make_embedder builds hash embedders and names what is available", "[embedder]") {
  SECTION("hash with its default, its own and a requested dimension") {
    auto a = semcache::make_embedder("hash");
    REQUIRE(a.has_value());
    CHECK((*a)->identity() == "hash-v1/256");
    auto b = semcache::make_embedder("hash:384");
    REQUIRE(b.has_value());
    CHECK((*b)->dim() == 384);
    CHECK((*b)->identity() == "hash-v1/384");
    auto c = semcache::make_embedder("hash", with_dim(512));
    REQUIRE(c.has_value());
    CHECK((*c)->identity() == "hash-v1/512");
    auto d = semcache::make_embedder("hash:8", with_dim(8));
    REQUIRE(d.has_value());
    CHECK((*d)->dim() == 8);
    CHECK(semcache::make_embedder("hash:65536").has_value());
    // auto: glove when its file is there, else hash.
    semcache::EmbedderOptions without_glove;
    without_glove.glove_path = "/nonexistent/glove.sgv";
    auto fallback = semcache::make_embedder("auto", without_glove);
    REQUIRE(fallback.has_value());
    CHECK((*fallback)->identity() == "hash-v1/256");
  }
  SECTION("errors") {
    const std::pair<std::string_view, std::string> cases[] = {
        {"model2vec", "embedder 'model2vec': expected model2vec:DIR"},
        {"model2vec:", "embedder 'model2vec:': expected model2vec:DIR"},
        {"http:", "embedder 'http:': expected http:URL"},
        {"glove:", "embedder 'glove:': expected glove:PATH"},
        {"", "embedder '' is unknown (known: auto, hash, hash:DIM, glove, glove:PATH, model2vec:DIR, http:URL)"},
        {"HASH", "embedder 'HASH' is unknown (known: auto, hash, hash:DIM, glove, glove:PATH, model2vec:DIR, http:URL)"},
        {"auto:1", "embedder 'auto:1' is unknown (known: auto, hash, hash:DIM, glove, glove:PATH, model2vec:DIR, http:URL)"},
        {"hash:", "embedder 'hash:': the dimension after 'hash:' must be an integer from 8 to 65536"},
        {"hash:12x", "embedder 'hash:12x': the dimension after 'hash:' must be an integer from 8 to 65536"},
        {"hash:-5", "embedder 'hash:-5': the dimension after 'hash:' must be an integer from 8 to 65536"},
        {"hash:99999999999999999999999", "embedder 'hash:99999999999999999999999': the dimension after 'hash:' must be an integer from 8 to 65536"},
        {"hash:4", "embedder 'hash:4': dimension 4 is out of range (8 to 65536)"},
        {"hash:65537", "embedder 'hash:65537': dimension 65537 is out of range (8 to 65536)"},
    };
    for (const auto& [spec, message] : cases) {
      INFO("spec: " << spec);
      auto embedder = semcache::make_embedder(spec);
      REQUIRE_FALSE(embedder.has_value());
      CHECK(embedder.status().code() == ErrorCode::kInvalidArgument);
      CHECK(embedder.status().message() == message);
    }
    auto conflict = semcache::make_embedder("hash:384", with_dim(256));
    REQUIRE_FALSE(conflict.has_value());
    CHECK(conflict.status().message() == "embedder 'hash:384': dimension 384 conflicts with the requested dimension 256");
    // Data that is not there: not_found naming it, from the embedder's own loader.
    auto no_model = semcache::make_embedder("model2vec:/nonexistent/model");
    REQUIRE_FALSE(no_model.has_value());
    CHECK(no_model.status().code() == ErrorCode::kNotFound);
    CHECK(no_model.status().message().find("/nonexistent/model") != std::string::npos);
    auto no_glove = semcache::make_embedder("glove:/nonexistent/glove.sgv");
    REQUIRE_FALSE(no_glove.has_value());
    CHECK(no_glove.status().code() == ErrorCode::kNotFound);
    CHECK(no_glove.status().message().find("/nonexistent/glove.sgv") != std::string::npos);
    auto small = semcache::make_embedder("hash", with_dim(2));
    REQUIRE_FALSE(small.has_value());
    CHECK(small.status().message() == "embedder 'hash': dimension 2 is out of range (8 to 65536)");
  }
}

TEST_CASE("embedder: hash separates Quora duplicate questions from non-duplicates (ROC AUC)", "[embedder]") {
  const std::filesystem::path path = semcache::testing::shared_data() / "qqp-dev" / "pairs.jsonl";
  if (!std::filesystem::exists(path)) {
    WARN("skipped: " << path << " is not there");
    return;
  }
  auto embedder = semcache::make_hash_embedder(256);
  const auto scored = semcache::testing::scored_pairs(*embedder, path, 5000);  // the first 5,000 of 20,000: fast
  const double auc = semcache::roc_auc(scored);
  INFO("ROC AUC over " << scored.size() << " pairs: " << auc);
  CHECK(auc > 0.70);
}
