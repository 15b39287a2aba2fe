// Tests of the tokenizer.json reader (embed/subword_tokenizer.hpp) against hand-worked
// examples. Each expected token sequence is derived by hand in the comment beside it, from the
// rules of the Hugging Face tokenizers reference (normalizer -> pre-tokenizer -> model), not by
// running the code under test.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "embed/subword_tokenizer.hpp"

using semcache::ErrorCode;
using semcache::detail::SubwordTokenizer;

namespace {

using Tokens = std::vector<std::string>;

// A BERT-style tokenizer: BertNormalizer (lowercase, accents stripped because strip_accents is
// null and lowercase is true), BertPreTokenizer, WordPiece with "##" and a 10-character limit.
constexpr const char* kWordPieceJson = R"({
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "special": true},
    {"id": 1, "content": "[UNK]", "special": true},
    {"id": 2, "content": "[CLS]", "special": true},
    {"id": 3, "content": "[SEP]", "special": true}
  ],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                 "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "TemplateProcessing"},
  "decoder": {"type": "WordPiece", "prefix": "##"},
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 10,
            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "the": 4, "cat": 5, "un": 6,
                      "##aff": 7, "##able": 8, "play": 9, "##ing": 10, ",": 11, "!": 12, "cafe": 13,
                      "中": 14, "a": 15, "##a": 16, "$": 17}}
})";

SubwordTokenizer load(const std::string& json) {
  auto tokenizer = SubwordTokenizer::parse(json, "test tokenizer.json");
  INFO(tokenizer.status().message());
  REQUIRE(tokenizer.has_value());
  return *tokenizer;
}

std::vector<std::uint32_t> ids_of(const SubwordTokenizer& tokenizer, std::string_view text) {
  std::vector<std::uint32_t> ids;
  tokenizer.encode(text, ids);
  return ids;
}

// A Unigram tokenizer with a Metaspace pre-tokenizer. Scores are log-probabilities; the lowest
// is -5, so an unknown character scores -5 - 10 = -15.
std::string unigram_json(bool split, bool byte_fallback) {
  return std::string(R"({
  "added_tokens": [{"id": 0, "content": "<unk>", "special": true}],
  "normalizer": {"type": "Sequence", "normalizers": [
      {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
      {"type": "Strip", "strip_left": true, "strip_right": true}]},
  "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": )") +
         (split ? "true" : "false") + R"(},
  "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": )" +
         (byte_fallback ? "true" : "false") + R"(,
    "vocab": [["<unk>", 0.0], ["▁", -2.0], ["▁the", -1.0], ["▁cat", -1.5], ["▁ca", -2.0], ["t", -2.0],
              ["▁hello", -5.0], ["▁hell", -2.0], ["o", -2.0], ["▁the▁cat", -2.0],
              ["<0xE2>", -4.0], ["<0x82>", -4.0], ["<0xAC>", -4.0], ["s", -3.0]]}
})";
}

}  // namespace

TEST_CASE("subword tokenizer: BertNormalizer lower-cases, strips accents, cleans and pads CJK", "[embedder][model2vec]") {
  const SubwordTokenizer tokenizer = load(kWordPieceJson);
  // "É" -> NFD "E" + U+0301 -> the mark (Mn) is dropped -> "e"; upper case lowered.
  CHECK(tokenizer.normalize("CAFÉ Été") == "cafe ete");
  // clean_text: BEL (Cc) is removed, tab and newline become spaces, U+FFFD and NUL are removed.
  CHECK(tokenizer.normalize(std::string("a\x07" "b\tc\nd\xEF\xBF\xBD") + '\0' + "e") == "ab c de");
  // handle_chinese_chars: an ideograph gets a space on each side.
  CHECK(tokenizer.normalize("x中y") == "x 中 y");
  // Invalid UTF-8 reads as U+FFFD, which clean_text then removes.
  CHECK(tokenizer.normalize("cat\xFF") == "cat");
}

TEST_CASE("subword tokenizer: BertPreTokenizer splits on whitespace and isolates punctuation", "[embedder][model2vec]") {
  const SubwordTokenizer tokenizer = load(kWordPieceJson);
  // Whitespace separates (and disappears); every punctuation character is its own piece,
  // including ASCII symbols such as '$' (Rust's is_ascii_punctuation) and Unicode P* ('¿').
  CHECK(tokenizer.pre_tokenize("Hello,  world!! $5 ¿qué?") ==
        Tokens{"hello", ",", "world", "!", "!", "$", "5", "¿", "que", "?"});
}

TEST_CASE("subword tokenizer: WordPiece greedy longest-match-first with ## continuations", "[embedder][model2vec]") {
  const SubwordTokenizer tokenizer = load(kWordPieceJson);
  CHECK(tokenizer.model_type() == "WordPiece");
  CHECK(tokenizer.vocab_size() == 18);
  CHECK(tokenizer.unk_id() == 1u);

  // "unaffable": the longest prefix in the vocabulary is "un"; the rest "affable" is matched
  // as continuations: "##affable" no ... "##aff" yes; then "##able" yes.
  CHECK(tokenizer.tokenize("The unaffable cat!") == Tokens{"the", "un", "##aff", "##able", "cat", "!"});
  CHECK(ids_of(tokenizer, "The unaffable cat!") == std::vector<std::uint32_t>{4, 6, 7, 8, 5, 12});

  // "Café" -> "cafe" (normaliser), "," isolated, "PLAYING" -> "playing" -> "play" + "##ing".
  CHECK(tokenizer.tokenize("Café, PLAYING") == Tokens{"cafe", ",", "play", "##ing"});

  // "xyz": not even "x" is in the vocabulary, so the whole word is one [UNK]. "theme": "the"
  // matches but "##me" / "##m" do not, so the whole word (not just its tail) is [UNK].
  CHECK(tokenizer.tokenize("xyz cat theme") == Tokens{"[UNK]", "cat", "[UNK]"});

  // BEL is removed by clean_text, gluing "the" and "cat" into one word "thecat": "the" matches,
  // then no "##c..." piece exists, so the word is [UNK].
  CHECK(tokenizer.tokenize("the\x07" "cat") == Tokens{"[UNK]"});

  // The ideograph is padded into its own word.
  CHECK(tokenizer.tokenize("中cat") == Tokens{"中", "cat"});

  // max_input_chars_per_word = 10: ten a's become "a" + nine "##a"; eleven a's are one [UNK].
  Tokens ten = {"a"};
  ten.insert(ten.end(), 9, "##a");
  CHECK(tokenizer.tokenize("aaaaaaaaaa") == ten);
  CHECK(tokenizer.tokenize("aaaaaaaaaaa") == Tokens{"[UNK]"});

  // No special tokens are added (add_special_tokens=False), and empty text has no tokens.
  CHECK(tokenizer.tokenize("").empty());
  CHECK(tokenizer.tokenize(" \t\n").empty());
}

TEST_CASE("subword tokenizer: a huge max_input_chars_per_word does not make long words slow", "[embedder][model2vec]") {
  // The reference tries every end position of every start (quadratic in the word); bounding
  // candidates by the longest vocabulary entry gives the same tokens in linear time.
  const SubwordTokenizer tokenizer = load(R"({
    "pre_tokenizer": {"type": "WhitespaceSplit"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "max_input_chars_per_word": 1000000000,
              "vocab": {"[UNK]": 0, "a": 1, "##a": 2}}
  })");
  std::vector<std::uint32_t> expected(100000, 2);
  expected[0] = 1;
  CHECK(ids_of(tokenizer, std::string(100000, 'a')) == expected);
}

TEST_CASE("subword tokenizer: Unigram picks the Viterbi path, not the longest match", "[embedder][model2vec]") {
  const SubwordTokenizer tokenizer = load(unigram_json(/*split=*/true, /*byte_fallback=*/false));
  CHECK(tokenizer.model_type() == "Unigram");
  CHECK(tokenizer.unk_id() == 0u);

  // Metaspace (split): "hello  the cat" -> normaliser "hello the cat" -> "▁hello▁the▁cat" ->
  // pieces "▁hello", "▁the", "▁cat".
  CHECK(tokenizer.pre_tokenize("hello  the cat ") == Tokens{"▁hello", "▁the", "▁cat"});

  // "▁hello": the whole piece scores -5.0; "▁hell" + "o" scores -2.0 + -2.0 = -4.0 > -5.0.
  // "▁cat": -1.5 beats "▁ca" + "t" = -4.0. "▁the": the only path, -1.0.
  CHECK(tokenizer.tokenize("hello  the cat ") == Tokens{"▁hell", "o", "▁the", "▁cat"});

  // "cats": "▁cat" + "s" = -4.5 is the only full path ("▁ca" + "t" + "s" = -7.0).
  CHECK(tokenizer.tokenize("cats") == Tokens{"▁cat", "s"});

  // "€" (E2 82 AC) has no piece: "▁€" = "▁" (-2.0) + unknown (-15.0) -> "▁", "<unk>".
  // Two unknown characters in a row fuse into one <unk>.
  CHECK(tokenizer.tokenize("the €") == Tokens{"▁the", "▁", "<unk>"});
  CHECK(ids_of(tokenizer, "the €€") == std::vector<std::uint32_t>{2, 1, 0});
}

TEST_CASE("subword tokenizer: Unigram byte fallback spells unknown characters in bytes", "[embedder][model2vec]") {
  const SubwordTokenizer tokenizer = load(unigram_json(/*split=*/true, /*byte_fallback=*/true));
  // The fused unknown "€€" becomes the byte pieces of its six UTF-8 bytes.
  CHECK(tokenizer.tokenize("€€") == Tokens{"▁", "<0xE2>", "<0x82>", "<0xAC>", "<0xE2>", "<0x82>", "<0xAC>"});
  // "é" (C3 A9) has no byte pieces in this vocabulary, so it stays <unk>.
  CHECK(tokenizer.tokenize("é") == Tokens{"▁", "<unk>"});
}

TEST_CASE("subword tokenizer: Metaspace without split lets multi-word pieces match", "[embedder][model2vec]") {
  const SubwordTokenizer tokenizer = load(unigram_json(/*split=*/false, /*byte_fallback=*/false));
  // One piece "▁the▁cat": the multi-word piece (-2.0) beats "▁the" + "▁cat" (-2.5). This is the
  // layout of recent model2vec models, whose vocabularies hold such multi-word tokens.
  CHECK(tokenizer.pre_tokenize("the cat") == Tokens{"▁the▁cat"});
  CHECK(tokenizer.tokenize("the cat") == Tokens{"▁the▁cat"});
  // "the cats": "▁the▁cat" + "s" = -5.0 beats "▁the" + "▁cat" + "s" = -5.5.
  CHECK(tokenizer.tokenize("the cats") == Tokens{"▁the▁cat", "s"});
}

TEST_CASE("subword tokenizer: Whitespace, Punctuation and Digits pre-tokenizers, WordLevel model", "[embedder][model2vec]") {
  const SubwordTokenizer tokenizer = load(R"({
    "normalizer": {"type": "Lowercase"},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Whitespace"}, {"type": "Digits", "individual_digits": true}]},
    "model": {"type": "WordLevel", "unk_token": "<unk>",
              "vocab": {"<unk>": 0, "hello": 1, ",": 2, "world": 3, "!!": 4, "4": 5, "2": 6}}
  })");
  // Whitespace is \w+|[^\w\s]+: "Hello" "," "world" "!!" "42"; then Digits isolates "4" "2".
  CHECK(tokenizer.pre_tokenize("Hello, world!! 42") == Tokens{"hello", ",", "world", "!!", "4", "2"});
  // WordLevel: whole pieces; "there" is unknown.
  CHECK(tokenizer.tokenize("Hello there!!") == Tokens{"hello", "<unk>", "!!"});

  const SubwordTokenizer punctuation = load(R"({
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "MergedWithPrevious"}]},
    "model": {"type": "WordLevel", "unk_token": "?", "vocab": {"?": 0}}
  })");
  // WhitespaceSplit: "a,,b" "c!"; MergedWithPrevious glues each ',' / '!' to what precedes it.
  CHECK(punctuation.pre_tokenize("a,,b c!") == Tokens{"a,", ",", "b", "c!"});
}

TEST_CASE("subword tokenizer: truncation in tokenizer.json is honoured", "[embedder][model2vec]") {
  std::string json = kWordPieceJson;
  json.replace(json.find("\"truncation\": null"), 18, R"("truncation": {"max_length": 2, "direction": "Right"})");
  const SubwordTokenizer tokenizer = load(json);
  CHECK(tokenizer.tokenize("the cat the cat") == Tokens{"the", "cat"});
  // max_chars reads only the first characters of the text: "the c" -> "the", "[UNK]" ("c").
  std::vector<std::uint32_t> ids;
  tokenizer.encode("the cat", ids, 5);
  CHECK(ids == std::vector<std::uint32_t>{4, 1});
}

TEST_CASE("subword tokenizer: malformed or unsupported tokenizer.json gives clear errors", "[embedder][model2vec]") {
  const auto error_of = [](const std::string& json) {
    auto tokenizer = SubwordTokenizer::parse(json, "dir/tokenizer.json");
    REQUIRE_FALSE(tokenizer.has_value());
    CHECK(tokenizer.status().code() == ErrorCode::kBadInput);
    return tokenizer.status().message();
  };
  const std::string bpe = error_of(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}})");
  CHECK_THAT(bpe, Catch::Contains("dir/tokenizer.json") && Catch::Contains("\"BPE\"") &&
                      Catch::Contains("supported: WordPiece, Unigram, WordLevel"));
  CHECK_THAT(error_of("{not json"), Catch::Contains("dir/tokenizer.json: not valid JSON"));
  CHECK_THAT(error_of("[1, 2]"), Catch::Contains("expected a JSON object"));
  CHECK_THAT(error_of(R"({"normalizer": null})"), Catch::Contains("missing the \"model\" object"));
  CHECK_THAT(error_of(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})"),
             Catch::Contains("unk_token \"[UNK]\" is not in the vocabulary"));
  CHECK_THAT(error_of(R"({"model": {"type": "WordPiece", "vocab": {"a": -1, "[UNK]": 1}}})"),
             Catch::Contains("the id of token \"a\" must be a non-negative integer"));
  // Found by fuzzing: a sparse id must not size the id table (90 bytes asked for 32 GB).
  CHECK_THAT(error_of(R"({"model": {"type": "WordLevel", "unk_token": "a", "vocab": {"a": 0, "b": 1000000000}}})"),
             Catch::Contains("token id 1000000000 is out of range"));
  CHECK_THAT(error_of(R"({"model": {"type": "Unigram", "vocab": [["a", -1.0], ["b"]]}})"),
             Catch::Contains("vocab entry 1 must be a [piece, score] pair"));
  CHECK_THAT(error_of(R"({"model": {"type": "Unigram", "unk_id": 5, "vocab": [["a", -1.0]]}})"),
             Catch::Contains("unk_id 5 is beyond the 1-piece vocabulary"));
  CHECK_THAT(error_of(R"({"model": {"type": "Unigram", "vocab": [["a", -1.0], ["a", -2.0]]}})"),
             Catch::Contains("token \"a\" is listed twice"));
  const std::string precompiled = error_of(
      R"({"normalizer": {"type": "Precompiled", "precompiled_charsmap": ""},
          "model": {"type": "WordLevel", "unk_token": "x", "vocab": {"x": 0}}})");
  CHECK_THAT(precompiled, Catch::Contains("normalizer type \"Precompiled\" is not supported (supported: BertNormalizer"));
  CHECK_THAT(error_of(R"({"pre_tokenizer": {"type": "ByteLevel"},
                          "model": {"type": "WordLevel", "unk_token": "x", "vocab": {"x": 0}}})"),
             Catch::Contains("pre-tokenizer type \"ByteLevel\" is not supported"));
  CHECK_THAT(error_of(R"({"normalizer": {"type": "Replace", "pattern": {"Regex": "[a-z]+"}, "content": ""},
                          "model": {"type": "WordLevel", "unk_token": "x", "vocab": {"x": 0}}})"),
             Catch::Contains("Regex pattern \"[a-z]+\" is not supported"));
  CHECK_THAT(error_of(R"({"normalizer": {"type": "BertNormalizer", "lowercase": "yes"},
                          "model": {"type": "WordLevel", "unk_token": "x", "vocab": {"x": 0}}})"),
             Catch::Contains("normalizer \"BertNormalizer\": field \"lowercase\" must be a boolean"));

  auto missing = SubwordTokenizer::load("/nonexistent/semcache/tokenizer.json");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
}

namespace {

// A tokenizer in the layout model2vec's distillation writes (it turns every tokenizer into a
// Unigram one): BertNormalizer, then a space on each side of every ASCII punctuation character,
// whitespace runs squeezed to one space, trailing space stripped; Metaspace without split, so
// pieces may span words ("▁the▁cat"); a Unigram vocabulary whose scores fall with the id.
std::string model2vec_style_json() {
  const std::vector<std::string> pieces = {
      "[UNK]", "[PAD]", "▁",  "▁the", "▁cat", "▁sat", "▁on", "▁mat", "▁the▁cat", "▁on▁the", "s",     "▁a",
      "a",     "t",     "▁c", "c",    "▁,",   "▁.",   "▁!",  "▁?",   "▁'",       "e",       "▁e",    "▁cafe",
      "▁中",   "▁国",   "▁is", "▁it", "▁it▁is", "n",  "▁don", "▁don▁'", "▁t",     "▁1",      "▁2",    "▁12",
      "2",     "1",     "▁(", "▁)",  "▁i"};
  const auto json_string = [](const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    return out + "\"";
  };
  std::string normalizers = R"({"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                                "strip_accents": null, "lowercase": true})";
  for (const char c : std::string("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")) {
    const std::string p(1, c);
    normalizers += R"(, {"type": "Replace", "pattern": {"String": )" + json_string(p) + R"(}, "content": )" +
                   json_string(" " + p + " ") + "}";
  }
  normalizers += R"(, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
                    {"type": "Strip", "strip_left": false, "strip_right": true})";
  std::string vocab;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const double score = i < 2 ? 0.0 : -1.0 - 0.37 * static_cast<double>(i - 2);
    vocab += (i > 0 ? ", [" : "[") + json_string(pieces[i]) + ", " + std::to_string(score) + "]";
  }
  return R"({"added_tokens": [{"id": 0, "content": "[UNK]", "special": true}, {"id": 1, "content": "[PAD]", "special": true}],
             "normalizer": {"type": "Sequence", "normalizers": [)" +
         normalizers + R"(]},
             "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": false},
             "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false, "vocab": [)" +
         vocab + "]}}";
}

}  // namespace

// The expected ids below were produced by the reference implementation, Hugging Face tokenizers
// 0.23.2 (its Node binding), encode(text, add_special_tokens=False) on this same tokenizer; the
// comment beside each gives the pieces. (A random differential run of 3,500 texts over seven
// tokenizer layouts, kept out of the test suite because it needs the reference installed, agreed
// on every text.)
TEST_CASE("subword tokenizer: a model2vec-style Unigram tokenizer agrees with the reference", "[embedder][model2vec]") {
  const SubwordTokenizer tokenizer = load(model2vec_style_json());
  using Ids = std::vector<std::uint32_t>;
  // ▁the ▁cat ▁sat ▁on▁the ▁mat ▁.
  CHECK(ids_of(tokenizer, "The cat sat on the mat.") == Ids{3, 4, 5, 9, 7, 17});
  // ▁the ▁cat ▁, ▁sat ▁!
  CHECK(ids_of(tokenizer, "  THE   CAT,sat!  ") == Ids{3, 4, 16, 5, 18});
  // ▁don▁' ▁ t ▁( ▁12 ▁) ▁cat s ▁?
  CHECK(ids_of(tokenizer, "Don't (12) cats?") == Ids{31, 2, 13, 38, 35, 39, 4, 10, 19});
  // ▁cafe ▁e ▁中 ▁国 ▁is ▁it
  CHECK(ids_of(tokenizer, "Café É 中国 is it") == Ids{23, 22, 24, 25, 26, 27});
  // No-break and ideographic spaces are White_Space: ▁the ▁cat ▁sat ▁on
  CHECK(ids_of(tokenizer, "the cat\u00a0sat\u3000on") == Ids{3, 4, 5, 6});
  // ▁it▁is ▁it▁is ▁the ▁cat
  CHECK(ids_of(tokenizer, "it is\tit is\nthe cat") == Ids{28, 28, 3, 4});
  // ▁a ▁1 ▁2 ▁12 ▁2 1
  CHECK(ids_of(tokenizer, "a 1 2 12 21") == Ids{11, 33, 34, 35, 34, 37});
  // ▁ [UNK] ▁ [UNK] ▁ [UNK]
  CHECK(ids_of(tokenizer, "x y z") == Ids{2, 0, 2, 0, 2, 0});
  CHECK(ids_of(tokenizer, "").empty());
  // ▁it ▁' ▁ s ▁ [UNK] ▁ [UNK] ▁the ▁cat ("İ" loses its dot to strip_accents; "ǅ" and the emoji
  // are unknown)
  CHECK(ids_of(tokenizer, "İt's ǅ \U0001F600 the cat") == Ids{27, 20, 2, 10, 2, 0, 2, 0, 3, 4});
  // BEL and U+200B (Cf) are removed, gluing "thecat": ▁the c a t ▁sat
  CHECK(ids_of(tokenizer, "the\x07" "cat \u200bsat") == Ids{3, 15, 12, 13, 5});
  // ▁e ▁e ▁c ▁' ▁e s t
  CHECK(ids_of(tokenizer, "e\u0301 é c'est") == Ids{22, 22, 14, 20, 22, 10, 13});
}
