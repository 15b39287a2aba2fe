// JSONL vector files: one object per line, {"id": ..., "vector": [...], "attributes": {...}}.
//
// The file is read a block at a time and split at '\n' (JsonlLines); each line is parsed in
// place on its own with the simdjson On-Demand parser, which is reused for the whole file, so
// memory stays constant (the line buffer and the parser's buffers grow to the longest line and
// no further). Parsing per line, rather than handing the whole file to iterate_many(), keeps
// the error position a line number and lets blank lines through.
//
// Field order is free; unknown fields are skipped; a repeated field is refused rather than
// silently taking the first or the last. The id is a string or an integer (rendered in
// decimal); without one a record gets its row number, as in the binary formats. The first
// record is parsed by open() so that dim() is known; every later vector must match it.
// "attributes" is handed out as the raw JSON text of the object, not re-serialised, because
// the consumer (the vector set) stores it as text. It and any unknown field are walked to
// the last scalar first: On-Demand only checks the structure of what it skips, and a line
// that is not valid JSON is refused whichever field holds the defect.

#include <simdjson.h>

#include <cerrno>
#include <vector>

#include "io/jsonl_lines.hpp"
#include "io/vector_file_detail.hpp"

namespace semcache::detail {

namespace {

namespace od = simdjson::ondemand;

// Walks a value to its end, parsing every scalar in it. On-Demand skips what it is not
// asked for with a structural check only, which would let {"a": tru} through.
simdjson::error_code validate(od::value& value, int depth = 0) {
  constexpr int kMaxDepth = 256;
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto err = value.type().get(type)) return err;
  switch (type) {
    case od::json_type::array: {
      od::array array;
      if (auto err = value.get_array().get(array)) return err;
      for (auto element_result : array) {
        od::value element;
        if (auto err = std::move(element_result).get(element)) return err;
        if (auto err = validate(element, depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::object: {
      od::object object;
      if (auto err = value.get_object().get(object)) return err;
      for (auto field_result : object) {
        od::field field;
        if (auto err = std::move(field_result).get(field)) return err;
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return err;
        od::value member = field.value();
        if (auto err = validate(member, depth + 1)) return err;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      double number;
      return value.get_double().get(number);
    }
    case od::json_type::string: {
      std::string_view text;
      return value.get_string().get(text);
    }
    case od::json_type::boolean: {
      const bool starts_true = value.raw_json_token().starts_with('t');
      bool flag;
      if (value.get_bool().get(flag) != simdjson::SUCCESS) {
        return starts_true ? simdjson::T_ATOM_ERROR : simdjson::F_ATOM_ERROR;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) return simdjson::N_ATOM_ERROR;
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

std::string_view trim_right(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}


class JsonlVectorReader final : public VectorReader {
 public:
  explicit JsonlVectorReader(JsonlLines lines) : lines_(std::move(lines)) {}

  // Reads the first record so that dim() is known.
  Status start() {
    auto found = read_record();
    if (!found) return found.status();
    if (!*found && lines_.bytes_consumed() == 0) return Status::bad_input(lines_.path() + ": file is empty");
    if (!*found) return Status::bad_input(lines_.path() + ": no records (only blank lines)");
    pending_ = true;
    return Status::ok();
  }

  VectorFormat format() const override { return VectorFormat::kJsonl; }
  std::size_t dim() const override { return dim_; }
  std::optional<std::size_t> count() const override { return std::nullopt; }
  std::uint64_t bytes_read() const override { return lines_.bytes_consumed(); }

  Expected<bool> next(VectorRecord& out) override {
    if (pending_) {
      pending_ = false;
    } else {
      auto found = read_record();
      if (!found) return found.status();
      if (!*found) return false;
      ++row_;
    }
    out.id = has_id_ ? std::string_view(id_) : row_id(row_, row_id_buf_);
    out.vector = std::span<const float>(vector_.data(), vector_.size());
    out.attributes_json = attributes_;
    out.row = row_;
    return true;
  }

 private:
  // Finds the next non-blank line and parses it: true when a record was read, false at EOF.
  Expected<bool> read_record() {
    std::string_view line;
    if (!lines_.next(line)) {
      if (!lines_.status()) return lines_.status();
      return false;
    }
    if (Status s = parse_line(line); !s) return s;
    return true;
  }

  Status error(const std::string& reason) const {
    return Status::bad_input(lines_.path() + ":" + std::to_string(lines_.line_number()) + ": " + reason);
  }

  Status json_error(simdjson::error_code code) const {
    return error(std::string("invalid JSON: ") + simdjson::error_message(code));
  }

  Status parse_line(std::string_view line) {
    od::document doc;
    if (auto err = iterate_line(parser_, line).get(doc)) return json_error(err);
    od::json_type type;
    if (auto err = doc.type().get(type)) return json_error(err);
    if (type != od::json_type::object) {
      return error("not a JSON object (got " + std::string(json_type_name(type)) + ")");
    }
    od::object object;
    if (auto err = doc.get_object().get(object)) return json_error(err);

    bool have_vector = false, have_attributes = false;
    has_id_ = false;
    attributes_ = {};
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return json_error(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return json_error(err);
      od::value value = field.value();
      if (key == "vector") {
        if (have_vector) return error("duplicate field \"vector\"");
        have_vector = true;
        if (Status s = parse_vector(value); !s) return s;
      } else if (key == "id") {
        if (has_id_) return error("duplicate field \"id\"");
        has_id_ = true;
        if (Status s = parse_id(value); !s) return s;
      } else if (key == "attributes") {
        if (have_attributes) return error("duplicate field \"attributes\"");
        have_attributes = true;
        od::json_type attributes_type;
        if (auto err = value.type().get(attributes_type)) return json_error(err);
        if (attributes_type != od::json_type::object) {
          return error("field \"attributes\" must be an object, got " + std::string(json_type_name(attributes_type)));
        }
        const char* begin = value.raw_json_token().data();
        if (auto err = validate(value)) return json_error(err);
        const char* end;
        if (auto err = doc.current_location().get(end)) return json_error(err);
        attributes_ = trim_right(std::string_view(begin, static_cast<std::size_t>(end - begin)));
      } else if (auto err = validate(value)) {
        return json_error(err);
      }
    }
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
      return error("unexpected content after the object");
    }
    if (!have_vector) return error("missing field \"vector\"");
    if (dim_ == 0) {
      dim_ = vector_.size();
      first_line_ = lines_.line_number();
    } else if (vector_.size() != dim_) {
      return error("vector has " + std::to_string(vector_.size()) + " components, expected " +
                   std::to_string(dim_) + " (from line " + std::to_string(first_line_) + ")");
    }
    return Status::ok();
  }

  Status parse_vector(od::value& value) {
    od::json_type type;
    if (auto err = value.type().get(type)) return json_error(err);
    if (type != od::json_type::array) {
      return error("field \"vector\" must be an array, got " + std::string(json_type_name(type)));
    }
    od::array array;
    if (auto err = value.get_array().get(array)) return json_error(err);
    vector_.clear();
    for (auto element_result : array) {
      const std::size_t index = vector_.size();
      od::value element;
      if (auto err = std::move(element_result).get(element)) return json_error(err);
      double number;
      if (auto err = element.get_double().get(number)) {
        od::json_type element_type;
        if (element.type().get(element_type) == simdjson::SUCCESS && element_type != od::json_type::number) {
          return error("field \"vector\" element " + std::to_string(index) + " must be a number, got " +
                       std::string(json_type_name(element_type)));
        }
        return error("field \"vector\" element " + std::to_string(index) + " is not a valid number (" +
                     simdjson::error_message(err) + ")");
      }
      if (index == kMaxVectorDim) {
        return error("field \"vector\" has more than " + std::to_string(kMaxVectorDim) + " components");
      }
      const float component = static_cast<float>(number);
      if (!std::isfinite(component)) {
        char text[32];
        auto [end, ec] = std::to_chars(text, text + sizeof text, number);
        return error("component " + std::to_string(index) + " is infinite (" + std::string(text, end) +
                     " does not fit a float)");
      }
      vector_.push_back(component);
    }
    if (vector_.empty()) return error("field \"vector\" is empty");
    return Status::ok();
  }

  Status parse_id(od::value& value) {
    od::json_type type;
    if (auto err = value.type().get(type)) return json_error(err);
    if (type == od::json_type::string) {
      std::string_view text;
      if (auto err = value.get_string().get(text)) return json_error(err);
      id_.assign(text);
      return Status::ok();
    }
    if (type == od::json_type::number) {
      std::int64_t signed_id;
      if (value.get_int64().get(signed_id) == simdjson::SUCCESS) {
        char buf[24];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, signed_id);
        id_.assign(buf, end);
        return Status::ok();
      }
      std::uint64_t unsigned_id;
      if (value.get_uint64().get(unsigned_id) == simdjson::SUCCESS) {
        id_ = to_decimal(unsigned_id);
        return Status::ok();
      }
      std::string_view token = value.raw_json_token();
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == ',' ||
                                token.back() == '}' || token.back() == '\r')) {
        token.remove_suffix(1);
      }
      return error("field \"id\" must be a string or an integer, got number " + std::string(token));
    }
    return error("field \"id\" must be a string or an integer, got " + std::string(json_type_name(type)));
  }

  JsonlLines lines_;
  od::parser parser_;
  std::size_t first_line_ = 0;
  std::size_t row_ = 0;
  std::size_t dim_ = 0;
  bool pending_ = false;
  bool has_id_ = false;
  std::vector<float> vector_;
  std::string id_;
  std::string_view attributes_;
  char row_id_buf_[24] = {};
};

}  // namespace

Expected<std::unique_ptr<VectorReader>> open_jsonl_reader(const std::string& path) {
  auto lines = JsonlLines::open(path);
  if (!lines) return lines.status();
  auto reader = std::make_unique<JsonlVectorReader>(std::move(*lines));
  if (Status s = reader->start(); !s) return s;
  return std::unique_ptr<VectorReader>(std::move(reader));
}

}  // namespace semcache::detail
