// Tests of the model2vec embedder (model2vec_embedder.hpp) and its safetensors reader. Each test
// writes a tiny model itself (tokenizer.json, model.safetensors, config.json) into a temporary
// directory; the oracle is the mean of the tokens' rows worked out by hand in the test.

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "embed/safetensors.hpp"
#include "semcache/model2vec_embedder.hpp"
#include "embedder_checks.hpp"
#include "temp_dir.hpp"

using namespace semcache;

namespace {

using semcache::testing::embed_one;
using semcache::testing::TempDir;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// ---- writing safetensors ---------------------------------------------------------------------

struct Tensor {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::string bytes;
};

std::string le64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

// The header lists the tensors in order with consecutive offsets, padded with spaces to 8 bytes.
std::string safetensors_image(const std::vector<Tensor>& tensors) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  std::uint64_t offset = 0;
  std::string data;
  for (const Tensor& t : tensors) {
    header += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) header += (i > 0 ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + t.bytes.size()) + "]}";
    offset += t.bytes.size();
    data += t.bytes;
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';
  return le64(header.size()) + header + data;
}

std::string f32_bytes(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// IEEE half of a float that a half represents exactly (the test matrices use such values).
std::uint16_t exact_half(float value) {
  if (value == 0.0f) return std::signbit(value) ? 0x8000 : 0;
  const auto bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const int exponent = static_cast<int>((bits >> 23) & 0xFF) - 127 + 15;
  const std::uint32_t mantissa = bits & 0x7FFFFFu;
  REQUIRE(exponent > 0);
  REQUIRE(exponent < 31);
  REQUIRE((mantissa & 0x1FFFu) == 0);
  return static_cast<std::uint16_t>(sign | (static_cast<std::uint32_t>(exponent) << 10) | (mantissa >> 13));
}

std::string f16_bytes(const std::vector<float>& values) {
  std::string out;
  for (const float v : values) {
    const std::uint16_t h = exact_half(v);
    out.push_back(static_cast<char>(h & 0xFF));
    out.push_back(static_cast<char>(h >> 8));
  }
  return out;
}

std::string bf16_bytes(const std::vector<float>& values) {
  std::string out;
  for (const float v : values) {
    const auto bits = std::bit_cast<std::uint32_t>(v);
    REQUIRE((bits & 0xFFFFu) == 0);
    out.push_back(static_cast<char>((bits >> 16) & 0xFF));
    out.push_back(static_cast<char>(bits >> 24));
  }
  return out;
}

std::string i64_bytes(const std::vector<std::int64_t>& values) {
  std::string out(values.size() * 8, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// ---- the test models -------------------------------------------------------------------------

// WordPiece vocabulary: ids 0..10.
constexpr const char* kWordPieceTokenizer = R"({
  "version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [{"id": 0, "content": "[PAD]", "special": true}, {"id": 1, "content": "[UNK]", "special": true},
                   {"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true}],
  "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                 "strip_accents": null, "lowercase": true},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": {"type": "TemplateProcessing"},
  "decoder": {"type": "WordPiece", "prefix": "##"},
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "the": 4, "cat": 5, "sat": 6, "on": 7,
                      "mat": 8, "##s": 9, "dog": 10}}
})";

constexpr std::size_t kDim = 4;

// One row per id of kWordPieceTokenizer. The special tokens get large rows so that a test fails
// loudly if [UNK], [CLS], [SEP] or [PAD] ever enters a mean.
std::vector<float> wordpiece_matrix() {
  return {
      9,    9,     9,   9,     // [PAD]
      100,  -100,  100, -100,  // [UNK]
      50,   50,    50,  50,    // [CLS]
      -50,  50,    -50, 50,    // [SEP]
      1,    0,     0,   0,     // the
      0,    1,     0,   0,     // cat
      0,    0,     1,   0,     // sat
      0,    0,     0,   1,     // on
      0.5f, 0.5f,  0.5f, -0.5f,  // mat
      0,    0,     0,   2,     // ##s
      -1,   0.25f, 0,   0,     // dog
  };
}

constexpr const char* kConfig = R"({"model_type": "model2vec", "architectures": ["StaticModel"],
  "tokenizer_name": "test", "apply_pca": 4, "apply_zipf": true, "hidden_dim": 4, "seq_length": 1000000,
  "normalize": true})";

// Writes a complete model; `tensors` replaces the default F32 matrix when given.
std::string write_model(const TempDir& tmp, const std::string& name, const std::vector<Tensor>& tensors,
                        const std::string& tokenizer = kWordPieceTokenizer, const std::string& config = kConfig) {
  const std::string dir = tmp.dir(name);
  write_bytes(dir + "/model.safetensors", safetensors_image(tensors));
  write_bytes(dir + "/tokenizer.json", tokenizer);
  write_bytes(dir + "/config.json", config);
  return dir;
}

Tensor f32_matrix(const std::vector<float>& values, std::uint64_t rows = 11) {
  return {"embeddings", "F32", {rows, kDim}, f32_bytes(values)};
}

std::vector<float> unit(std::vector<double> v) {
  double norm = 0;
  for (const double x : v) norm += x * x;
  norm = std::sqrt(norm);
  std::vector<float> out;
  for (const double x : v) out.push_back(norm > 0 ? static_cast<float>(x / norm) : 0.0f);
  return out;
}

void check_close(const std::vector<float>& actual, const std::vector<float>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("dimension " << i);
    CHECK(actual[i] == Approx(expected[i]).margin(1e-6));
  }
}

std::shared_ptr<Embedder> open_ok(const std::string& dir) {
  auto embedder = open_model2vec_embedder(dir);
  INFO(embedder.status().message());
  REQUIRE(embedder.has_value());
  return *embedder;
}

Status open_error(const std::string& dir) {
  auto embedder = open_model2vec_embedder(dir);
  REQUIRE_FALSE(embedder.has_value());
  return embedder.status();
}

// The hand-worked examples for the WordPiece model, shared by the F32, F16 and BF16 variants.
void check_wordpiece_embeddings(Embedder& embedder) {
  // "The cat" -> the, cat -> mean (0.5, 0.5, 0, 0) -> unit (1, 1, 0, 0) / sqrt 2.
  check_close(embed_one(embedder, "The cat"), unit({1, 1, 0, 0}));
  // "cats sat on the mat" -> cat ##s sat on the mat: sum (1.5, 1.5, 1.5, 2.5) / sqrt 13.
  check_close(embed_one(embedder, "cats sat on the mat"), unit({1.5, 1.5, 1.5, 2.5}));
  // "zebra" is one [UNK], which is removed: only dog remains, (-1, 0.25, 0, 0) / sqrt 1.0625.
  check_close(embed_one(embedder, "zebra dog"), unit({-1, 0.25, 0, 0}));
  // No known token, or no text: the zero vector.
  check_close(embed_one(embedder, "zebra"), {0, 0, 0, 0});
  check_close(embed_one(embedder, ""), {0, 0, 0, 0});
  // "[CLS]" in a prompt is ordinary text: "[", "cls", "]" -> three [UNK]s, all removed.
  check_close(embed_one(embedder, "[CLS] the"), unit({1, 0, 0, 0}));
}

}  // namespace

TEST_CASE("model2vec: the embedding is the normalised mean of the token rows (F32)", "[embedder][model2vec]") {
  TempDir tmp;
  auto embedder = open_ok(write_model(tmp, "tiny-wordpiece", {f32_matrix(wordpiece_matrix())}));
  CHECK(embedder->dim() == kDim);
  check_wordpiece_embeddings(*embedder);
  // Six texts, tokens 2 + 6 + 1 + 0 + 0 + 1 (the [UNK]s are not counted).
  CHECK(embedder->counters().texts == 6);
  CHECK(embedder->counters().tokens == 10);

  // A batch gives the same vectors as single calls, row after row.
  const std::vector<std::string_view> texts = {"The cat", "zebra", "cats sat on the mat"};
  std::vector<float> batch(texts.size() * kDim);
  REQUIRE(embedder->embed(texts, batch));
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::vector<float> row(batch.begin() + static_cast<std::ptrdiff_t>(i * kDim),
                                 batch.begin() + static_cast<std::ptrdiff_t>((i + 1) * kDim));
    CHECK(row == embed_one(*embedder, texts[i]));
  }
  std::vector<float> wrong(kDim);
  CHECK(embedder->embed(texts, wrong).code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("model2vec: F16 and BF16 matrices give the same vectors as F32", "[embedder][model2vec]") {
  TempDir tmp;
  const auto f16 = open_ok(write_model(tmp, "half", {{"embeddings", "F16", {11, kDim}, f16_bytes(wordpiece_matrix())}}));
  check_wordpiece_embeddings(*f16);
  const auto bf16 = open_ok(write_model(tmp, "brain", {{"embeddings", "BF16", {11, kDim}, bf16_bytes(wordpiece_matrix())}}));
  check_wordpiece_embeddings(*bf16);
}

TEST_CASE("model2vec: a Unigram model with Metaspace", "[embedder][model2vec]") {
  TempDir tmp;
  const std::string tokenizer = R"({
    "added_tokens": [{"id": 0, "content": "<unk>", "special": true}],
    "normalizer": {"type": "Lowercase"},
    "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
    "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false,
              "vocab": [["<unk>", 0.0], ["▁the", -1.0], ["▁cat", -1.5], ["s", -3.0], ["▁", -2.0]]}
  })";
  const std::vector<float> matrix = {
      7, 7, 7, 7,  // <unk>: must never count
      1, 0, 0, 0,  // ▁the
      0, 1, 0, 0,  // ▁cat
      0, 0, 0, 1,  // s
      0, 0, 1, 0,  // ▁
  };
  const auto embedder =
      open_ok(write_model(tmp, "tiny-unigram", {f32_matrix(matrix, 5)}, tokenizer, R"({"normalize": false})"));
  // "The cats €" -> "▁the", "▁cats", "▁€" -> ▁the | ▁cat s | ▁ <unk>; <unk> removed:
  // sum (1, 1, 1, 1) -> (0.5, 0.5, 0.5, 0.5). normalize=false changes no direction: unit anyway.
  check_close(embed_one(*embedder, "The cats €"), unit({1, 1, 1, 1}));
  CHECK(embedder->counters().tokens == 4);
  // "the the cat" -> (2, 1, 0, 0) / sqrt 5.
  check_close(embed_one(*embedder, "the the cat"), unit({2, 1, 0, 0}));

  // The same matrix stored as I8 (model2vec's int8 quantisation, whose global scale no unit
  // vector sees) and as F64 gives the same vectors.
  std::string i8;
  std::string f64;
  for (const float v : matrix) {
    i8.push_back(static_cast<char>(static_cast<std::int8_t>(v)));
    const double d = v;
    f64.append(reinterpret_cast<const char*>(&d), sizeof d);
  }
  for (const auto& [dtype, bytes] : {std::pair<std::string, std::string>{"I8", i8}, {"F64", f64}}) {
    INFO(dtype);
    const auto other = open_ok(write_model(tmp, "tiny-unigram-" + dtype, {{"embeddings", dtype, {5, kDim}, bytes}},
                                           tokenizer, R"({"normalize": true})"));
    check_close(embed_one(*other, "The cats €"), unit({1, 1, 1, 1}));
    check_close(embed_one(*other, "the the cat"), unit({2, 1, 0, 0}));
  }
}

TEST_CASE("model2vec: vocabulary-quantised models use mapping and weights", "[embedder][model2vec]") {
  TempDir tmp;
  // Three rows; token id -> row: the -> 0, cat -> 1, everything else -> 2; weight 2 for "the".
  const std::vector<float> rows = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
  std::vector<std::int64_t> mapping(11, 2);
  mapping[4] = 0;
  mapping[5] = 1;
  std::vector<float> weights(11, 1.0f);
  weights[4] = 2.0f;
  const auto embedder = open_ok(write_model(tmp, "quantised", {{"embeddings", "F32", {3, kDim}, f32_bytes(rows)},
                                                               {"mapping", "I64", {11}, i64_bytes(mapping)},
                                                               {"weights", "F32", {11}, f32_bytes(weights)}}));
  // "the cat sat" -> 2 * row 0 + row 1 + row 2 = (2, 1, 1, 0).
  check_close(embed_one(*embedder, "the cat sat"), unit({2, 1, 1, 0}));
}

TEST_CASE("model2vec: long texts are cut as StaticModel.encode cuts them", "[embedder][model2vec]") {
  TempDir tmp;
  auto embedder = open_ok(write_model(tmp, "long", {f32_matrix(wordpiece_matrix())}));
  // Token lengths in characters: 2 ("on"), 3 x 6, 5 x 4 ([PAD] ...) -> median 3, so the text is
  // cut to 512 * 3 = 1536 characters: "cat " x 384 fill them exactly, the "the" after is unread.
  std::string text;
  for (int i = 0; i < 600; ++i) text += "cat ";
  text = text.substr(0, 1536) + "the the the";
  check_close(embed_one(*embedder, text), unit({0, 1, 0, 0}));
  CHECK(embedder->counters().tokens == 384);
  // "cats " = 2 tokens per 5 characters: 1536 characters hold 307 words (614 tokens, plus "c"
  // -> [UNK]); ids are cut to 512 = 256 x (cat, ##s): (0, 256, 0, 512) -> (0, 1, 0, 2) / sqrt 5.
  std::string cats;
  for (int i = 0; i < 400; ++i) cats += "cats ";
  check_close(embed_one(*embedder, cats), unit({0, 1, 0, 2}));
  CHECK(embedder->counters().tokens == 384 + 512);
}

TEST_CASE("model2vec: the identity names the model and changes with its content", "[embedder][model2vec]") {
  TempDir tmp;
  const std::string dir = write_model(tmp, "potion-test", {f32_matrix(wordpiece_matrix())});
  const std::string identity = open_ok(dir)->identity();
  CHECK(identity.rfind("model2vec-v1:potion-test@", 0) == 0);
  CHECK(identity.size() == std::string("model2vec-v1:potion-test@").size() + 12 + 2);
  CHECK(identity.ends_with("/4"));
  CHECK(open_ok(dir)->identity() == identity);  // deterministic
  CHECK(open_ok(dir + "/")->identity() == identity);

  // One changed value in the matrix: another identity.
  std::vector<float> changed = wordpiece_matrix();
  changed[4 * kDim + 1] = 0.25f;
  write_model(tmp, "potion-test", {f32_matrix(changed)});
  const std::string changed_identity = open_ok(dir)->identity();
  CHECK(changed_identity != identity);
  CHECK(changed_identity.rfind("model2vec-v1:potion-test@", 0) == 0);

  // A changed tokenizer.json (same matrix): another identity too.
  std::string tokenizer = kWordPieceTokenizer;
  tokenizer.replace(tokenizer.find("\"lowercase\": true"), 17, "\"lowercase\": false");
  write_model(tmp, "potion-test", {f32_matrix(changed)}, tokenizer);
  CHECK(open_ok(dir)->identity() != changed_identity);

  // Characters that could upset Redis keys are replaced.
  CHECK(open_ok(write_model(tmp, "we{ird} name", {f32_matrix(wordpiece_matrix())}))->identity().rfind(
            "model2vec-v1:we_ird__name@", 0) == 0);
}

TEST_CASE("model2vec: embed() is safe and identical from many threads", "[embedder][model2vec]") {
  TempDir tmp;
  auto embedder = open_ok(write_model(tmp, "threads", {{"embeddings", "F16", {11, kDim}, f16_bytes(wordpiece_matrix())}}));
  const std::vector<std::string> texts = {"the cat", "cats sat on the mat", "dog", "zebra", "the dog sat", ""};
  std::vector<std::vector<float>> expected;
  for (const std::string& text : texts) expected.push_back(embed_one(*embedder, text));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        const std::size_t i = static_cast<std::size_t>(round + t) % texts.size();
        std::vector<float> out(kDim);
        const std::string_view view[] = {texts[i]};
        if (!embedder->embed(view, out) || out != expected[i]) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(4, 0));
  CHECK(embedder->counters().texts == texts.size() + 800);
}

TEST_CASE("model2vec: missing and malformed model files give clear errors", "[embedder][model2vec]") {
  TempDir tmp;
  const std::string good = safetensors_image({f32_matrix(wordpiece_matrix())});

  SECTION("no such directory") {
    const Status status = open_error(tmp.path("nowhere"));
    CHECK(status.code() == ErrorCode::kNotFound);
    CHECK_THAT(status.message(), Catch::Contains("not a directory"));
  }
  SECTION("a missing file") {
    const std::string dir = write_model(tmp, "m", {f32_matrix(wordpiece_matrix())});
    std::filesystem::remove(dir + "/config.json");
    const Status status = open_error(dir);
    CHECK(status.code() == ErrorCode::kNotFound);
    CHECK_THAT(status.message(), Catch::Contains("config.json: missing"));
  }
  SECTION("a truncated safetensors file") {
    const std::string dir = write_model(tmp, "m", {f32_matrix(wordpiece_matrix())});
    write_bytes(dir + "/model.safetensors", good.substr(0, good.size() - 10));
    const Status status = open_error(dir);
    CHECK(status.code() == ErrorCode::kBadInput);
    CHECK_THAT(status.message(), Catch::Contains("model.safetensors: safetensors header: tensor \"embeddings\"") &&
                                     Catch::Contains("is the file truncated?"));
  }
  SECTION("a file shorter than the length field") {
    const std::string dir = write_model(tmp, "m", {f32_matrix(wordpiece_matrix())});
    write_bytes(dir + "/model.safetensors", "abc");
    CHECK_THAT(open_error(dir).message(), Catch::Contains("3 bytes, expected at least the 8-byte header length"));
  }
  SECTION("a header length beyond the file") {
    const std::string dir = write_model(tmp, "m", {f32_matrix(wordpiece_matrix())});
    write_bytes(dir + "/model.safetensors", le64(1u << 20) + good.substr(8));
    const Status status = open_error(dir);
    CHECK(status.code() == ErrorCode::kBadInput);
    CHECK_THAT(status.message(), Catch::Contains("model.safetensors: safetensors header length 1048576 exceeds the"));
  }
  SECTION("dtype and shape that do not match the data") {
    // F32 [11, 4] needs 176 bytes; the data is the F16 matrix, 88 bytes.
    Tensor lying = {"embeddings", "F32", {11, kDim}, f16_bytes(wordpiece_matrix())};
    const Status status = open_error(write_model(tmp, "m", {lying}));
    CHECK(status.code() == ErrorCode::kBadInput);
    CHECK_THAT(status.message(), Catch::Contains("dtype F32 and shape [11, 4] need 176 bytes, but data_offsets [0, 88] hold 88"));
  }
  SECTION("a NaN in the matrix") {
    std::vector<float> matrix = wordpiece_matrix();
    matrix[5 * kDim + 2] = std::nanf("");
    CHECK_THAT(open_error(write_model(tmp, "m", {f32_matrix(matrix)})).message(),
               Catch::Contains("tensor \"embeddings\" holds a NaN or an infinity in row 5"));
  }
  SECTION("an embedding dtype we cannot pool") {
    const Tensor ints = {"embeddings", "I32", {11, kDim}, std::string(11 * kDim * 4, '\0')};
    CHECK_THAT(open_error(write_model(tmp, "m", {ints})).message(),
               Catch::Contains("dtype I32, expected F32, F16, BF16, F64 or I8"));
  }
  SECTION("no embeddings tensor") {
    const Tensor other = {"weights", "F32", {11}, f32_bytes(std::vector<float>(11, 1.0f))};
    CHECK_THAT(open_error(write_model(tmp, "m", {other})).message(),
               Catch::Contains("no tensor \"embeddings\" (found: \"weights\")"));
  }
  SECTION("a matrix and a tokenizer of different models") {
    std::vector<float> ten_rows = wordpiece_matrix();
    ten_rows.resize(10 * kDim);
    CHECK_THAT(open_error(write_model(tmp, "m", {f32_matrix(ten_rows, 10)})).message(),
               Catch::Contains("has 10 rows, but") && Catch::Contains("11 tokens"));
  }
  SECTION("a tokenizer.json with an unsupported model type") {
    const std::string bpe = R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})";
    const Status status = open_error(write_model(tmp, "m", {f32_matrix(wordpiece_matrix())}, bpe));
    CHECK(status.code() == ErrorCode::kBadInput);
    CHECK_THAT(status.message(), Catch::Contains("tokenizer.json") && Catch::Contains("\"BPE\" is not supported") &&
                                     Catch::Contains("WordPiece, Unigram, WordLevel"));
  }
  SECTION("a config.json that contradicts the matrix") {
    CHECK_THAT(open_error(write_model(tmp, "m", {f32_matrix(wordpiece_matrix())}, kWordPieceTokenizer,
                                      R"({"hidden_dim": 8, "normalize": true})"))
                   .message(),
               Catch::Contains("config.json: \"hidden_dim\" is 8, but the embedding matrix has 4 columns"));
    CHECK_THAT(open_error(write_model(tmp, "m2", {f32_matrix(wordpiece_matrix())}, kWordPieceTokenizer,
                                      R"({"normalize": "yes"})"))
                   .message(),
               Catch::Contains("\"normalize\" must be true or false"));
  }
}

TEST_CASE("model2vec: the safetensors reader refuses inconsistent headers", "[embedder][model2vec]") {
  const auto error_of = [](const std::string& image) {
    const std::span<const unsigned char> bytes(reinterpret_cast<const unsigned char*>(image.data()), image.size());
    auto tensors = detail::parse_safetensors(bytes, "x.safetensors");
    REQUIRE_FALSE(tensors.has_value());
    CHECK(tensors.status().code() == ErrorCode::kBadInput);
    return tensors.status().message();
  };
  const auto with_header = [](const std::string& header, const std::string& data) {
    return le64(header.size()) + header + data;
  };
  // A valid image first, to be sure the failures below come from what each one changes.
  const std::string valid = with_header(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}})",
      std::string(11, '\0'));
  const std::span<const unsigned char> valid_bytes(reinterpret_cast<const unsigned char*>(valid.data()), valid.size());
  auto parsed = detail::parse_safetensors(valid_bytes, "x.safetensors");
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->size() == 2);
  CHECK((*parsed)[1].name == "b");
  CHECK((*parsed)[1].bytes.size() == 3);

  CHECK_THAT(error_of(with_header("[]", "")), Catch::Contains("expected a JSON object starting with '{'"));
  CHECK_THAT(error_of(with_header("{\"a\":", "")), Catch::Contains("x.safetensors: safetensors header: not valid JSON"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", std::string(16, '\0'))),
             Catch::Contains("unknown dtype \"F128\" (known: BOOL, U8"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, '\0'))),
             Catch::Contains("\"shape\" must be an array of non-negative integers"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}})", std::string(4, '\0'))),
             Catch::Contains("\"data_offsets\" must be an array of two"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
                                  std::string(8, '\0'))),
             Catch::Contains("is too large"));
  // A gap: "b" starts at 12 while "a" ends at 8.
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                                      "b":{"dtype":"U8","shape":[3],"data_offsets":[12,15]}})",
                                  std::string(15, '\0'))),
             Catch::Contains("tensor \"b\" starts at data offset 12, expected 8"));
  // Trailing bytes that no tensor accounts for.
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(9, '\0'))),
             Catch::Contains("the tensors cover 8 bytes of the data section, but the file holds 9"));
  CHECK_THAT(error_of(with_header(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},
                                      "a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                  std::string(2, '\0'))),
             Catch::Contains("tensor \"a\" is listed twice"));
  CHECK_THAT(error_of(with_header(R"({"__metadata__":{"k":1}})", "")),
             Catch::Contains("\"__metadata__\" value \"k\" must be a string"));
}
