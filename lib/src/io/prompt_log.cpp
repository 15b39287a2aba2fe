// The prompt-log reader: JSONL, one request per line, in two shapes (see prompt_log.hpp).
//
// Reading follows the JSONL vector reader: the file is read a block at a time and split at
// '\n' (detail::JsonlLines), and each line is parsed in place, alone, by one simdjson On-Demand
// parser reused for the whole file, so memory stays constant (buffer and parser grow to the
// longest line; the record handed in is overwritten in place). Per-line parsing keeps error
// positions as line numbers and lets --on-error skip resume at the next line.
//
// Fields are taken in the order the line gives them, in one pass, since On-Demand cannot go
// back; what depends on several fields (prompt vs messages, the response's "created" and
// "usage" as fall-backs for ts and token counts, the model from the request or the response)
// is settled after the object ends. Every value that is not used is still walked to its last
// scalar, because On-Demand only checks the structure of what it skips, and a line that is
// not valid JSON must be refused whichever field holds the defect. A repeated field is
// refused rather than silently taking one of the two.
//
// params_json is what a cache key needs to tell two requests apart beyond model and text: the
// parameters that change the answer. Top-level, only a fixed list of OpenAI parameter names
// counts (other unknown top-level fields are the log's own bookkeeping: ids, categories);
// inside "params" every key counts; inside an OpenAI "request" every key counts except those
// known not to change the answer (stream, user, metadata, ...). Erring towards including a
// key costs a missed hit; erring the other way would serve a wrong answer. Values are
// re-serialised canonically (sorted keys, one spelling per number and string), so the order
// of keys and the spelling of numbers in the log do not matter.
//
// Chat messages keep role and text. Content arrays are joined from their "text" parts; any
// other part (images, audio) is refused, because dropping it would make two different
// requests one cache key. Tool calls and names on a message are not kept.

#include "semcache/prompt_log.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "io/jsonl_lines.hpp"
#include "io/prompt_log_detail.hpp"
#include "io/vector_file_detail.hpp"

namespace semcache {

namespace {

namespace od = simdjson::ondemand;

enum Field : std::size_t {
  kTs,
  kModel,
  kPrompt,
  kMessages,
  kResponse,
  kTenant,
  kPromptTokens,
  kCompletionTokens,
  kLatencyMs,
  kGroup,
  kEmbedding,
  kParams,
  kRequest,
  kFieldCount,
};

constexpr std::array<std::string_view, kFieldCount> kCanonicalNames = {
    "ts",         "model", "prompt",    "messages", "response", "tenant",  "prompt_tokens",
    "completion_tokens", "latency_ms", "group", "embedding", "params", "request",
};

constexpr std::array<std::string_view, 17> kTopLevelParams = {
    "frequency_penalty", "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "n",
    "presence_penalty", "reasoning_effort", "response_format", "seed", "stop", "temperature",
    "tool_choice", "tools", "top_k", "top_logprobs", "top_p",
};

constexpr std::array<std::string_view, 6> kRequestNonParams = {
    "metadata", "service_tier", "store", "stream", "stream_options", "user",
};

constexpr int kMaxDepth = 256;

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

using FileNames = std::array<std::string, kFieldCount>;

Expected<FileNames> resolve_field_names(const std::map<std::string, std::string>& mapping) {
  FileNames names;
  for (std::size_t i = 0; i < kFieldCount; ++i) names[i] = std::string(kCanonicalNames[i]);
  for (const auto& [canonical, in_file] : mapping) {
    const auto it = std::find(kCanonicalNames.begin(), kCanonicalNames.end(), canonical);
    if (it == kCanonicalNames.end()) {
      std::string known;
      for (std::string_view name : kCanonicalNames) known += (known.empty() ? "" : ", ") + std::string(name);
      return Status::invalid_argument("unknown prompt-log field \"" + canonical + "\" (known: " + known + ")");
    }
    if (in_file.empty()) return Status::invalid_argument("prompt-log field \"" + canonical + "\" mapped to an empty name");
    names[static_cast<std::size_t>(it - kCanonicalNames.begin())] = in_file;
  }
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    for (std::size_t j = i + 1; j < kFieldCount; ++j) {
      if (names[i] == names[j]) {
        return Status::invalid_argument("prompt-log fields \"" + std::string(kCanonicalNames[i]) + "\" and \"" +
                                        std::string(kCanonicalNames[j]) + "\" would both be read from \"" +
                                        names[i] + "\"");
      }
    }
  }
  return names;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}


// Walks `value` to its end, checking every scalar, and appends its canonical JSON to `out`
// unless `out` is null (then it only validates).
simdjson::error_code write_canonical(od::value& value, std::string* out, int depth = 0) {
  if (depth > kMaxDepth) return simdjson::DEPTH_ERROR;
  od::json_type type;
  if (auto err = value.type().get(type)) return err;
  switch (type) {
    case od::json_type::array: {
      od::array array;
      if (auto err = value.get_array().get(array)) return err;
      if (out != nullptr) out->push_back('[');
      bool first = true;
      for (auto element_result : array) {
        od::value element;
        if (auto err = std::move(element_result).get(element)) return err;
        if (out != nullptr && !std::exchange(first, false)) out->push_back(',');
        if (auto err = write_canonical(element, out, depth + 1)) return err;
      }
      if (out != nullptr) out->push_back(']');
      return simdjson::SUCCESS;
    }
    case od::json_type::object: {
      od::object object;
      if (auto err = value.get_object().get(object)) return err;
      std::vector<std::pair<std::string, std::string>> members;
      for (auto field_result : object) {
        od::field field;
        if (auto err = std::move(field_result).get(field)) return err;
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return err;
        od::value member = field.value();
        if (out == nullptr) {
          if (auto err = write_canonical(member, nullptr, depth + 1)) return err;
          continue;
        }
        std::string text;
        if (auto err = write_canonical(member, &text, depth + 1)) return err;
        members.emplace_back(std::string(key), std::move(text));
      }
      if (out == nullptr) return simdjson::SUCCESS;
      std::stable_sort(members.begin(), members.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      out->push_back('{');
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i > 0) out->push_back(',');
        detail::append_json_string(*out, members[i].first);
        out->push_back(':');
        *out += members[i].second;
      }
      out->push_back('}');
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      std::int64_t signed_value;
      if (value.get_int64().get(signed_value) == simdjson::SUCCESS) {
        if (out != nullptr) detail::append_json_integer(*out, signed_value);
        return simdjson::SUCCESS;
      }
      std::uint64_t unsigned_value;
      if (value.get_uint64().get(unsigned_value) == simdjson::SUCCESS) {
        if (out != nullptr) detail::append_json_unsigned(*out, unsigned_value);
        return simdjson::SUCCESS;
      }
      double number;
      if (auto err = value.get_double().get(number)) return err;
      if (!std::isfinite(number)) return simdjson::NUMBER_ERROR;
      if (out != nullptr) detail::append_json_number(*out, number);
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view text;
      if (auto err = value.get_string().get(text)) return err;
      if (out != nullptr) detail::append_json_string(*out, text);
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      const bool starts_true = value.raw_json_token().starts_with('t');
      bool flag;
      if (value.get_bool().get(flag) != simdjson::SUCCESS) {
        return starts_true ? simdjson::T_ATOM_ERROR : simdjson::F_ATOM_ERROR;
      }
      if (out != nullptr) *out += flag ? "true" : "false";
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) return simdjson::N_ATOM_ERROR;
      if (out != nullptr) *out += "null";
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// What a line gives beyond the record's own fields, settled once the object has ended.
struct LineState {
  std::array<bool, kFieldCount> seen{};
  int text_sources = 0;  // prompt/messages given, top-level or in the request
  std::string request_model, response_model;
  std::optional<double> created;
  std::optional<std::int64_t> usage_prompt_tokens, usage_completion_tokens;
  std::vector<std::pair<std::string, std::string>> params;  // key, canonical value
  std::vector<std::string> param_sources;                   // where each came from, for errors
};

}  // namespace

std::vector<std::string_view> prompt_log_field_names() {
  return std::vector<std::string_view>(kCanonicalNames.begin(), kCanonicalNames.end());
}

Expected<std::map<std::string, std::string>> parse_field_mapping(std::string_view text) {
  std::map<std::string, std::string> mapping;
  if (trim(text).empty()) return mapping;
  while (true) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const auto equals = item.find('=');
    if (equals == std::string_view::npos) {
      return Status::invalid_argument("field mapping \"" + std::string(trim(item)) +
                                      "\" must be CANONICAL=NAME, e.g. prompt=input");
    }
    const std::string canonical(trim(item.substr(0, equals)));
    const std::string in_file(trim(item.substr(equals + 1)));
    if (canonical.empty() || in_file.empty()) {
      return Status::invalid_argument("field mapping \"" + std::string(trim(item)) +
                                      "\" must be CANONICAL=NAME, e.g. prompt=input");
    }
    if (!mapping.emplace(canonical, in_file).second) {
      return Status::invalid_argument("field \"" + canonical + "\" mapped twice");
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  auto resolved = resolve_field_names(mapping);
  if (!resolved) return resolved.status();
  return mapping;
}

struct PromptLogReader::Impl {
  FileNames names;
  bool skip_bad_lines = false;
  od::parser parser;
  detail::JsonlLines lines;
  std::size_t records = 0;
  std::size_t skipped = 0;
  std::vector<std::string> skipped_messages;
  LineState state;

  Expected<bool> next(PromptRecord& out) {
    std::string_view text;
    while (lines.next(text)) {
      if (Status s = parse_line(text, out); !s) {
        if (!skip_bad_lines) return s;
        ++skipped;
        if (skipped_messages.size() < kMaxSkippedMessages) skipped_messages.push_back(s.message());
        continue;
      }
      ++records;
      return true;
    }
    if (!lines.status()) return lines.status();
    return false;
  }

  Status error(const std::string& reason) const {
    return Status::bad_input(lines.path() + ":" + std::to_string(lines.line_number()) + ": " + reason);
  }

  Status json_error(simdjson::error_code code) const {
    return error(std::string("invalid JSON: ") + simdjson::error_message(code));
  }

  Status type_error(std::string_view name, std::string_view expected, od::json_type got) const {
    return error("field \"" + std::string(name) + "\" must be " + std::string(expected) + ", got " +
                 std::string(detail::json_type_name(got)));
  }

  // The value's type, or the JSON error; null is reported as absent through `present`.
  Status type_of(od::value& value, od::json_type& type, bool& present) const {
    if (auto err = value.type().get(type)) return json_error(err);
    present = type != od::json_type::null;
    if (!present) {
      bool is_null = false;
      if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) return json_error(simdjson::N_ATOM_ERROR);
    }
    return Status::ok();
  }

  // An optional object field: `present` is false for null; another type is a type error naming
  // the field.
  Status open_object(od::value& value, std::string_view name, od::object& object, bool& present) const {
    od::json_type type;
    if (Status s = type_of(value, type, present); !s || !present) return s;
    if (type != od::json_type::object) return type_error(name, "an object", type);
    if (auto err = value.get_object().get(object)) return json_error(err);
    return Status::ok();
  }

  // Consumes a value nobody reads (it must still be valid JSON).
  Status skip(od::value& value) const {
    if (auto err = write_canonical(value, nullptr)) return json_error(err);
    return Status::ok();
  }

  Status read_string(od::value& value, std::string_view name, std::string& dst, bool* present_out = nullptr) const {
    od::json_type type;
    bool present;
    if (Status s = type_of(value, type, present); !s) return s;
    if (present_out != nullptr) *present_out = present;
    if (!present) return Status::ok();
    if (type != od::json_type::string) return type_error(name, "a string", type);
    std::string_view text;
    if (auto err = value.get_string().get(text)) return json_error(err);
    dst.assign(text);
    return Status::ok();
  }

  Status read_count(od::value& value, std::string_view name, std::optional<std::int64_t>& dst) const {
    od::json_type type;
    bool present;
    if (Status s = type_of(value, type, present); !s) return s;
    if (!present) return Status::ok();
    if (type != od::json_type::number) return type_error(name, "a non-negative integer", type);
    std::int64_t count;
    if (value.get_int64().get(count) != simdjson::SUCCESS || count < 0) {
      return error("field \"" + std::string(name) + "\" must be a non-negative integer, got " +
                   std::string(trim(value.raw_json_token())));
    }
    dst = count;
    return Status::ok();
  }

  Status read_number(od::value& value, std::string_view name, std::optional<double>& dst, bool non_negative) const {
    od::json_type type;
    bool present;
    if (Status s = type_of(value, type, present); !s) return s;
    if (!present) return Status::ok();
    if (type != od::json_type::number) {
      return type_error(name, non_negative ? "a non-negative number" : "a number", type);
    }
    double number;
    if (auto err = value.get_double().get(number)) return json_error(err);
    if (!std::isfinite(number) || (non_negative && number < 0)) {
      return error("field \"" + std::string(name) + "\" must be a " + (non_negative ? "non-negative " : "") +
                   "finite number, got " + std::string(trim(value.raw_json_token())));
    }
    dst = number;
    return Status::ok();
  }

  Status read_ts(od::value& value, std::string_view name, std::optional<double>& dst) const {
    od::json_type type;
    bool present;
    if (Status s = type_of(value, type, present); !s) return s;
    if (!present) return Status::ok();
    if (type == od::json_type::number) return read_number(value, name, dst, false);
    if (type != od::json_type::string) {
      return type_error(name, "epoch seconds (a number) or an RFC 3339 string", type);
    }
    std::string_view text;
    if (auto err = value.get_string().get(text)) return json_error(err);
    dst = detail::parse_rfc3339(text);
    if (!dst) {
      constexpr std::size_t kShown = 48;
      std::string shown(text.substr(0, kShown));
      if (text.size() > kShown) shown += "...";
      return error("field \"" + std::string(name) + "\" must be an RFC 3339 time like 2025-01-01T12:00:00Z or "
                   "2025-01-01T14:00:00.5+02:00, got \"" + shown + "\"");
    }
    return Status::ok();
  }

  Status read_group(od::value& value, std::string_view name, std::string& dst) const {
    od::json_type type;
    bool present;
    if (Status s = type_of(value, type, present); !s) return s;
    if (!present) return Status::ok();
    if (type == od::json_type::string) return read_string(value, name, dst);
    if (type == od::json_type::number) {
      std::int64_t signed_group;
      if (value.get_int64().get(signed_group) == simdjson::SUCCESS) {
        dst.clear();
        detail::append_json_integer(dst, signed_group);
        return Status::ok();
      }
      std::uint64_t unsigned_group;
      if (value.get_uint64().get(unsigned_group) == simdjson::SUCCESS) {
        dst = detail::to_decimal(unsigned_group);
        return Status::ok();
      }
      return error("field \"" + std::string(name) + "\" must be a string or an integer, got number " +
                   std::string(trim(value.raw_json_token())));
    }
    return type_error(name, "a string or an integer", type);
  }

  Status read_embedding(od::value& value, std::string_view name, std::vector<float>& dst) const {
    od::json_type type;
    bool present;
    if (Status s = type_of(value, type, present); !s) return s;
    if (!present) return Status::ok();
    if (type != od::json_type::array) return type_error(name, "an array of numbers", type);
    od::array array;
    if (auto err = value.get_array().get(array)) return json_error(err);
    dst.clear();
    for (auto element_result : array) {
      const std::size_t index = dst.size();
      od::value element;
      if (auto err = std::move(element_result).get(element)) return json_error(err);
      double number;
      if (auto err = element.get_double().get(number)) {
        od::json_type element_type;
        if (element.type().get(element_type) == simdjson::SUCCESS && element_type != od::json_type::number) {
          return error("field \"" + std::string(name) + "\" element " + std::to_string(index) +
                       " must be a number, got " + std::string(detail::json_type_name(element_type)));
        }
        return json_error(err);
      }
      const auto component = static_cast<float>(number);
      if (!std::isfinite(component)) {
        return error("field \"" + std::string(name) + "\" element " + std::to_string(index) +
                     " is not a finite float (" + std::string(trim(element.raw_json_token())) + ")");
      }
      dst.push_back(component);
    }
    return Status::ok();
  }

  // Content: a string, null (""), or an array of {"type": "text", "text": ...} parts.
  Status read_content(od::value& value, const std::string& name, std::string& dst) const {
    od::json_type type;
    bool present;
    if (Status s = type_of(value, type, present); !s) return s;
    dst.clear();
    if (!present) return Status::ok();
    if (type == od::json_type::string) return read_string(value, name, dst);
    if (type != od::json_type::array) return type_error(name, "a string or an array of text parts", type);
    od::array array;
    if (auto err = value.get_array().get(array)) return json_error(err);
    std::size_t index = 0;
    for (auto element_result : array) {
      const std::string part_name = name + "[" + std::to_string(index) + "]";
      od::value element;
      if (auto err = std::move(element_result).get(element)) return json_error(err);
      od::json_type element_type;
      if (auto err = element.type().get(element_type)) return json_error(err);
      if (element_type != od::json_type::object) return type_error(part_name, "an object", element_type);
      od::object part;
      if (auto err = element.get_object().get(part)) return json_error(err);
      std::string part_type, text;
      bool have_type = false, have_text = false;
      for (auto field_result : part) {
        od::field field;
        if (auto err = std::move(field_result).get(field)) return json_error(err);
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return json_error(err);
        od::value member = field.value();
        if (key == "type") {
          if (Status s = read_string(member, part_name + ".type", part_type, &have_type); !s) return s;
        } else if (key == "text") {
          if (Status s = read_string(member, part_name + ".text", text, &have_text); !s) return s;
        } else if (Status s = skip(member); !s) {
          return s;
        }
      }
      if (!have_type) return error("missing field \"" + part_name + ".type\"");
      if (part_type != "text") {
        return error("field \"" + part_name + "\" has type \"" + part_type + "\"; only \"text\" parts are supported");
      }
      if (!have_text) return error("missing field \"" + part_name + ".text\"");
      if (index > 0) dst.push_back('\n');
      dst += text;
      ++index;
    }
    return Status::ok();
  }

  Status read_messages(od::value& value, const std::string& name, std::vector<ChatMessage>& dst) const {
    od::json_type type;
    if (auto err = value.type().get(type)) return json_error(err);
    if (type != od::json_type::array) return type_error(name, "an array of messages", type);
    od::array array;
    if (auto err = value.get_array().get(array)) return json_error(err);
    dst.clear();
    for (auto element_result : array) {
      const std::string message_name = name + "[" + std::to_string(dst.size()) + "]";
      od::value element;
      if (auto err = std::move(element_result).get(element)) return json_error(err);
      od::json_type element_type;
      if (auto err = element.type().get(element_type)) return json_error(err);
      if (element_type != od::json_type::object) return type_error(message_name, "an object", element_type);
      od::object object;
      if (auto err = element.get_object().get(object)) return json_error(err);
      ChatMessage& message = dst.emplace_back();
      bool have_role = false, have_content = false;
      for (auto field_result : object) {
        od::field field;
        if (auto err = std::move(field_result).get(field)) return json_error(err);
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return json_error(err);
        od::value member = field.value();
        if (key == "role") {
          if (have_role) return error("duplicate field \"" + message_name + ".role\"");
          if (Status s = read_string(member, message_name + ".role", message.role, &have_role); !s) return s;
          if (!have_role) return type_error(message_name + ".role", "a string", od::json_type::null);
        } else if (key == "content") {
          if (have_content) return error("duplicate field \"" + message_name + ".content\"");
          have_content = true;
          if (Status s = read_content(member, message_name + ".content", message.content); !s) return s;
        } else if (Status s = skip(member); !s) {
          return s;
        }
      }
      if (!have_role) return error("missing field \"" + message_name + ".role\"");
    }
    if (dst.empty()) return error("field \"" + name + "\" must not be empty");
    return Status::ok();
  }

  Status add_param(std::string_view key, od::value& value, const std::string& source) {
    std::string text;
    if (auto err = write_canonical(value, &text)) return json_error(err);
    state.params.emplace_back(std::string(key), std::move(text));
    state.param_sources.push_back(source);
    return Status::ok();
  }

  Status read_params(od::value& value, std::string_view name) {
    od::object object;
    bool present;
    if (Status s = open_object(value, name, object, present); !s || !present) return s;
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return json_error(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return json_error(err);
      od::value member = field.value();
      if (Status s = add_param(key, member, std::string(name) + "." + std::string(key)); !s) return s;
    }
    return Status::ok();
  }

  Status read_request(od::value& value, std::string_view name, PromptRecord& out) {
    od::object object;
    bool present;
    if (Status s = open_object(value, name, object, present); !s || !present) return s;
    bool seen_model = false, seen_prompt = false, seen_messages = false;
    const std::string prefix = std::string(name) + ".";
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return json_error(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return json_error(err);
      od::value member = field.value();
      const std::string member_name = prefix + std::string(key);
      if (key == "model" || key == "prompt" || key == "messages") {
        bool& seen = key == "model" ? seen_model : key == "prompt" ? seen_prompt : seen_messages;
        if (seen) return error("duplicate field \"" + member_name + "\"");
        seen = true;
      }
      if (key == "model") {
        if (Status s = read_string(member, member_name, state.request_model); !s) return s;
      } else if (key == "prompt") {
        bool given;
        if (Status s = read_string(member, member_name, out.prompt, &given); !s) return s;
        state.text_sources += given ? 1 : 0;
      } else if (key == "messages") {
        od::json_type member_type;
        bool given;
        if (Status s = type_of(member, member_type, given); !s) return s;
        if (!given) continue;
        if (Status s = read_messages(member, member_name, out.messages); !s) return s;
        ++state.text_sources;
      } else if (contains(kRequestNonParams, key)) {
        if (Status s = skip(member); !s) return s;
      } else if (Status s = add_param(key, member, member_name); !s) {
        return s;
      }
    }
    return Status::ok();
  }

  // The first choice's text: choices[0].message.content or choices[0].text.
  Status read_choices(od::value& value, const std::string& name, std::string& dst) const {
    od::json_type type;
    bool present;
    if (Status s = type_of(value, type, present); !s) return s;
    if (!present) return Status::ok();
    if (type != od::json_type::array) return type_error(name, "an array", type);
    od::array array;
    if (auto err = value.get_array().get(array)) return json_error(err);
    std::size_t index = 0;
    for (auto element_result : array) {
      const std::string choice_name = name + "[" + std::to_string(index) + "]";
      od::value element;
      if (auto err = std::move(element_result).get(element)) return json_error(err);
      if (index++ > 0) {
        if (Status s = skip(element); !s) return s;
        continue;
      }
      od::json_type element_type;
      if (auto err = element.type().get(element_type)) return json_error(err);
      if (element_type != od::json_type::object) return type_error(choice_name, "an object", element_type);
      od::object choice;
      if (auto err = element.get_object().get(choice)) return json_error(err);
      for (auto field_result : choice) {
        od::field field;
        if (auto err = std::move(field_result).get(field)) return json_error(err);
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return json_error(err);
        od::value member = field.value();
        if (key == "text") {
          if (Status s = read_string(member, choice_name + ".text", dst); !s) return s;
        } else if (key == "message") {
          if (Status s = read_choice_message(member, choice_name + ".message", dst); !s) return s;
        } else if (Status s = skip(member); !s) {
          return s;
        }
      }
    }
    return Status::ok();
  }

  Status read_choice_message(od::value& value, const std::string& name, std::string& dst) const {
    od::object object;
    bool present;
    if (Status s = open_object(value, name, object, present); !s || !present) return s;
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return json_error(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return json_error(err);
      od::value member = field.value();
      if (key == "content") {
        if (Status s = read_content(member, name + ".content", dst); !s) return s;
      } else if (Status s = skip(member); !s) {
        return s;
      }
    }
    return Status::ok();
  }

  Status read_usage(od::value& value, const std::string& name) {
    od::object object;
    bool present;
    if (Status s = open_object(value, name, object, present); !s || !present) return s;
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return json_error(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return json_error(err);
      od::value member = field.value();
      if (key == "prompt_tokens") {
        if (Status s = read_count(member, name + ".prompt_tokens", state.usage_prompt_tokens); !s) return s;
      } else if (key == "completion_tokens") {
        if (Status s = read_count(member, name + ".completion_tokens", state.usage_completion_tokens); !s) return s;
      } else if (Status s = skip(member); !s) {
        return s;
      }
    }
    return Status::ok();
  }

  // "response": the answer's text, or an OpenAI response object.
  Status read_response(od::value& value, std::string_view name, PromptRecord& out) {
    od::json_type type;
    bool present;
    if (Status s = type_of(value, type, present); !s) return s;
    if (!present) return Status::ok();
    if (type == od::json_type::string) return read_string(value, name, out.response);
    if (type != od::json_type::object) return type_error(name, "a string or an OpenAI response object", type);
    od::object object;
    if (auto err = value.get_object().get(object)) return json_error(err);
    const std::string prefix = std::string(name) + ".";
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return json_error(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return json_error(err);
      od::value member = field.value();
      if (key == "choices") {
        if (Status s = read_choices(member, prefix + "choices", out.response); !s) return s;
      } else if (key == "usage") {
        if (Status s = read_usage(member, prefix + "usage"); !s) return s;
      } else if (key == "created") {
        if (Status s = read_number(member, prefix + "created", state.created, false); !s) return s;
      } else if (key == "model") {
        if (Status s = read_string(member, prefix + "model", state.response_model); !s) return s;
      } else if (Status s = skip(member); !s) {
        return s;
      }
    }
    return Status::ok();
  }

  std::size_t field_of(std::string_view key) const {
    for (std::size_t i = 0; i < kFieldCount; ++i) {
      if (names[i] == key) return i;
    }
    return kFieldCount;
  }

  Status read_field(std::size_t field, od::value& value, PromptRecord& out) {
    const std::string& name = names[field];
    switch (static_cast<Field>(field)) {
      case kTs: return read_ts(value, name, out.ts);
      case kModel: return read_string(value, name, out.model);
      case kPrompt: {
        bool given;
        if (Status s = read_string(value, name, out.prompt, &given); !s) return s;
        state.text_sources += given ? 1 : 0;
        return Status::ok();
      }
      case kMessages: {
        od::json_type type;
        bool given;
        if (Status s = type_of(value, type, given); !s) return s;
        if (!given) return Status::ok();
        ++state.text_sources;
        return read_messages(value, name, out.messages);
      }
      case kResponse: return read_response(value, name, out);
      case kTenant: return read_string(value, name, out.tenant);
      case kPromptTokens: return read_count(value, name, out.prompt_tokens);
      case kCompletionTokens: return read_count(value, name, out.completion_tokens);
      case kLatencyMs: return read_number(value, name, out.latency_ms, true);
      case kGroup: return read_group(value, name, out.group);
      case kEmbedding: return read_embedding(value, name, out.embedding);
      case kParams: return read_params(value, name);
      case kRequest: return read_request(value, name, out);
      case kFieldCount: break;
    }
    return Status::internal("prompt log: unknown field index");
  }

  void reset(PromptRecord& out) {
    out.line = lines.line_number();
    out.ts.reset();
    out.model.clear();
    out.prompt.clear();
    out.messages.clear();
    out.params_json.clear();
    out.response.clear();
    out.tenant.clear();
    out.prompt_tokens.reset();
    out.completion_tokens.reset();
    out.latency_ms.reset();
    out.group.clear();
    out.embedding.clear();
    state.seen.fill(false);
    state.text_sources = 0;
    state.request_model.clear();
    state.response_model.clear();
    state.created.reset();
    state.usage_prompt_tokens.reset();
    state.usage_completion_tokens.reset();
    state.params.clear();
    state.param_sources.clear();
  }

  Status parse_line(std::string_view text, PromptRecord& out) {
    reset(out);
    od::document doc;
    if (auto err = detail::iterate_line(parser, text).get(doc)) return json_error(err);
    od::json_type type;
    if (auto err = doc.type().get(type)) return json_error(err);
    if (type != od::json_type::object) {
      if (auto err = check_root_scalar(doc, type)) return json_error(err);
      return error("not a JSON object (got " + std::string(detail::json_type_name(type)) + ")");
    }
    od::object object;
    if (auto err = doc.get_object().get(object)) return json_error(err);
    for (auto field_result : object) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return json_error(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return json_error(err);
      od::value value = field.value();
      const std::size_t index = field_of(key);
      if (index < kFieldCount) {
        if (state.seen[index]) return error("duplicate field \"" + std::string(key) + "\"");
        state.seen[index] = true;
        if (Status s = read_field(index, value, out); !s) return s;
      } else if (contains(kTopLevelParams, key)) {
        if (Status s = add_param(key, value, std::string(key)); !s) return s;
      } else if (Status s = skip(value); !s) {
        return s;
      }
    }
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return error("unexpected content after the object");
    return finish(out);
  }

  // A line that is not an object may not be JSON at all ("not json" looks like a null to
  // type(), which reads one character): parse the scalar so that the message says which.
  static simdjson::error_code check_root_scalar(od::document& doc, od::json_type type) {
    switch (type) {
      case od::json_type::null: {
        bool is_null = false;
        if (doc.is_null().get(is_null) != simdjson::SUCCESS || !is_null) return simdjson::N_ATOM_ERROR;
        return simdjson::SUCCESS;
      }
      case od::json_type::boolean: {
        bool flag;
        return doc.get_bool().get(flag);
      }
      case od::json_type::number: {
        double number;
        return doc.get_double().get(number);
      }
      case od::json_type::string: {
        std::string_view text;
        return doc.get_string().get(text);
      }
      case od::json_type::array:
      case od::json_type::object: break;
    }
    return simdjson::SUCCESS;
  }

  Status finish(PromptRecord& out) {
    if (state.text_sources == 0) {
      return error("missing field \"" + names[kPrompt] + "\" or \"" + names[kMessages] + "\"" +
                   (state.seen[kRequest] ? " (also looked in \"" + names[kRequest] + "\")" : std::string()));
    }
    if (state.text_sources > 1) {
      return error("more than one of \"" + names[kPrompt] + "\" and \"" + names[kMessages] + "\" given" +
                   (state.seen[kRequest] ? " (counting \"" + names[kRequest] + "\")" : std::string()) +
                   "; expected exactly one");
    }
    if (out.model.empty()) out.model = !state.request_model.empty() ? state.request_model : state.response_model;
    if (!out.ts) out.ts = state.created;
    if (!out.prompt_tokens) out.prompt_tokens = state.usage_prompt_tokens;
    if (!out.completion_tokens) out.completion_tokens = state.usage_completion_tokens;

    std::vector<std::size_t> order(state.params.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return state.params[a].first < state.params[b].first; });
    out.params_json.push_back('{');
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto& [key, value] = state.params[order[i]];
      if (i > 0) {
        if (state.params[order[i - 1]].first == key) {
          return error("parameter \"" + key + "\" given twice (as \"" + state.param_sources[order[i - 1]] +
                       "\" and \"" + state.param_sources[order[i]] + "\")");
        }
        out.params_json.push_back(',');
      }
      detail::append_json_string(out.params_json, key);
      out.params_json.push_back(':');
      out.params_json += value;
    }
    out.params_json.push_back('}');
    return Status::ok();
  }
};

PromptLogReader::PromptLogReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PromptLogReader::~PromptLogReader() = default;

Expected<std::unique_ptr<PromptLogReader>> PromptLogReader::open(const std::string& path,
                                                                 const PromptLogOptions& options) {
  auto names = resolve_field_names(options.field_names);
  if (!names) return names.status();
  auto lines = detail::JsonlLines::open(path);
  if (!lines) return lines.status();
  auto impl = std::make_unique<Impl>();
  impl->lines = std::move(*lines);
  impl->names = std::move(*names);
  impl->skip_bad_lines = options.skip_bad_lines;
  return std::unique_ptr<PromptLogReader>(new PromptLogReader(std::move(impl)));
}

Expected<bool> PromptLogReader::next(PromptRecord& out) { return impl_->next(out); }
std::size_t PromptLogReader::lines_read() const { return impl_->lines.line_number(); }
std::size_t PromptLogReader::records() const { return impl_->records; }
std::size_t PromptLogReader::skipped() const { return impl_->skipped; }
const std::vector<std::string>& PromptLogReader::skipped_messages() const { return impl_->skipped_messages; }
std::uint64_t PromptLogReader::bytes_read() const { return impl_->lines.bytes_consumed(); }
const std::string& PromptLogReader::path() const { return impl_->lines.path(); }

std::string canonical_request(const PromptRecord& record) {
  std::string text;
  canonical_request(record, text);
  return text;
}

void canonical_request(const PromptRecord& record, std::string& text) {
  std::size_t size = 48 + record.model.size() + record.params_json.size() + record.prompt.size();
  for (const ChatMessage& message : record.messages) size += 32 + message.role.size() + message.content.size();
  text.reserve(size + size / 8);  // room for a few escapes: at most one allocation per request
  text = "{";
  if (record.has_messages()) {
    text += "\"messages\":[";
    for (std::size_t i = 0; i < record.messages.size(); ++i) {
      if (i > 0) text.push_back(',');
      text += "{\"content\":";
      detail::append_json_string(text, record.messages[i].content);
      text += ",\"role\":";
      detail::append_json_string(text, record.messages[i].role);
      text.push_back('}');
    }
    text += "],";
  }
  text += "\"model\":";
  detail::append_json_string(text, record.model);
  text += ",\"params\":";
  text += record.params_json.empty() ? std::string_view("{}") : std::string_view(record.params_json);
  if (!record.has_messages()) {
    text += ",\"prompt\":";
    detail::append_json_string(text, record.prompt);
  }
  text.push_back('}');
}

std::string request_text(const PromptRecord& record) {
  std::string text;
  request_text(record, text);
  return text;
}

void request_text(const PromptRecord& record, std::string& text) {
  if (!record.has_messages()) {
    text.assign(record.prompt);
    return;
  }
  text.clear();
  for (const ChatMessage& message : record.messages) {
    if (!text.empty()) text += '\n';
    text += message.content;
  }
}

}  // namespace semcache
