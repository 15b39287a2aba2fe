// Tests for the prompt-log reader (semcache/prompt_log.hpp). Each log is written by the test,
// so every expected field, line number and message is known exactly; timestamps are checked
// against epoch values computed by hand; malformed lines must give bad_input naming the file,
// the line and what was expected, or be counted when skipping. The real-prompt test reads the
// Arena-Hard questions from the shared data directory when it is there.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/prompt_log_detail.hpp"
#include "semcache/prompt_log.hpp"
#include "shared_data.hpp"
#include "temp_dir.hpp"

using semcache::ChatMessage;
using semcache::ErrorCode;
using semcache::PromptLogOptions;
using semcache::PromptLogReader;
using semcache::PromptRecord;

namespace {

using semcache::testing::TempDir;

std::unique_ptr<PromptLogReader> open_log(const std::string& path, const PromptLogOptions& options = {}) {
  auto reader = PromptLogReader::open(path, options);
  INFO(reader.status().message());
  REQUIRE(reader.has_value());
  return std::move(*reader);
}

std::vector<PromptRecord> read_all(const std::string& path, const PromptLogOptions& options = {}) {
  auto reader = open_log(path, options);
  std::vector<PromptRecord> records;
  PromptRecord record;
  while (true) {
    auto more = reader->next(record);
    INFO(more.status().message());
    REQUIRE(more.has_value());
    if (!*more) break;
    records.push_back(record);
  }
  return records;
}

// The first record of a one-line log.
PromptRecord read_one(const TempDir& dir, const std::string& line, const PromptLogOptions& options = {}) {
  auto records = read_all(dir.write("one.jsonl", line + "\n"), options);
  REQUIRE(records.size() == 1);
  return records[0];
}

std::string canonical_of(const TempDir& dir, const std::string& line) {
  return semcache::canonical_request(read_one(dir, line));
}

bool same_messages(const std::vector<ChatMessage>& got, const std::vector<ChatMessage>& want) {
  if (got.size() != want.size()) return false;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i].role != want[i].role || got[i].content != want[i].content) return false;
  }
  return true;
}

// Writes two good lines, a blank line and `bad` (so the bad line is line 4), and returns the
// message of the error the reader gives for it.
std::string error_on_line_4(const TempDir& dir, const std::string& bad, std::string& path) {
  path = dir.write("bad.jsonl", "{\"prompt\": \"one\"}\n{\"prompt\": \"two\"}\n\n" + bad + "\n{\"prompt\": \"five\"}\n");
  auto reader = open_log(path);
  PromptRecord record;
  for (int i = 0; i < 2; ++i) {
    auto more = reader->next(record);
    REQUIRE(more.has_value());
    REQUIRE(*more);
  }
  auto failed = reader->next(record);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.status().code() == ErrorCode::kBadInput);
  CHECK(reader->lines_read() == 4);
  // The reader goes on after the bad line.
  auto after = reader->next(record);
  REQUIRE(after.has_value());
  CHECK(*after);
  CHECK(record.prompt == "five");
  CHECK(record.line == 5);
  return failed.status().message();
}

}  // namespace

TEST_CASE("prompt log: the DESIGN.md schema, field by field", "[prompt_log]") {
  TempDir dir;
  const PromptRecord r = read_one(
      dir,
      R"({"ts": 1735732800.123, "model": "gpt-4o-mini", "prompt": "What is Redis?", "response": "An in-memory store.", )"
      R"("tenant": "acme", "prompt_tokens": 12, "completion_tokens": 80, "latency_ms": 950.5, "group": "q42", )"
      R"("embedding": [0.25, -1, 3e-2], "temperature": 0.70, "max_tokens": 256, "uid": "x", "extra": {"a": [1, null]}})");
  CHECK(r.line == 1);
  REQUIRE(r.ts.has_value());
  CHECK(*r.ts == Approx(1735732800.123).margin(1e-6));
  CHECK(r.model == "gpt-4o-mini");
  CHECK(r.prompt == "What is Redis?");
  CHECK(r.messages.empty());
  CHECK_FALSE(r.has_messages());
  CHECK(r.response == "An in-memory store.");
  CHECK(r.tenant == "acme");
  CHECK(r.prompt_tokens == 12);
  CHECK(r.completion_tokens == 80);
  CHECK(r.latency_ms == 950.5);
  CHECK(r.group == "q42");
  CHECK(r.embedding == std::vector<float>{0.25f, -1.0f, 0.03f});
  CHECK(r.params_json == R"({"max_tokens":256,"temperature":0.7})");
}

TEST_CASE("prompt log: only the prompt is required, nulls are absent", "[prompt_log]") {
  TempDir dir;
  PromptRecord r = read_one(dir, R"({"prompt": "hi"})");
  CHECK(r.prompt == "hi");
  CHECK_FALSE(r.ts.has_value());
  CHECK(r.model.empty());
  CHECK(r.response.empty());
  CHECK_FALSE(r.prompt_tokens.has_value());
  CHECK_FALSE(r.completion_tokens.has_value());
  CHECK_FALSE(r.latency_ms.has_value());
  CHECK(r.group.empty());
  CHECK(r.embedding.empty());
  CHECK(r.params_json == "{}");

  r = read_one(dir, R"({"prompt": "hi", "ts": null, "model": null, "response": null, "tenant": null, "group": null,)"
                    R"( "embedding": null, "params": null, "prompt_tokens": null, "latency_ms": null, "messages": null})");
  CHECK(r.prompt == "hi");
  CHECK_FALSE(r.ts.has_value());
  CHECK(r.params_json == "{}");
}

TEST_CASE("prompt log: chat messages, content parts, params object, integer group", "[prompt_log]") {
  TempDir dir;
  const PromptRecord r = read_one(
      dir,
      R"({"model": "m", "messages": [{"role": "system", "content": "Be brief."}, )"
      R"({"role": "user", "content": [{"type": "text", "text": "Line one"}, {"text": "line two", "type": "text"}], "name": "bob"}, )"
      R"({"role": "assistant", "content": null, "tool_calls": []}], )"
      R"("params": {"top_p": 1.0, "stop": ["\n", "END"], "response_format": {"type": "json_object"}, "seed": 12345678901234}, )"
      R"("group": 7, "ts": "2025-01-01T12:00:00Z"})");
  CHECK(r.prompt.empty());
  CHECK(r.has_messages());
  CHECK(same_messages(r.messages, {{"system", "Be brief."}, {"user", "Line one\nline two"}, {"assistant", ""}}));
  CHECK(r.params_json == R"({"response_format":{"type":"json_object"},"seed":12345678901234,"stop":["\n","END"],"top_p":1})");
  CHECK(r.group == "7");
  CHECK(r.ts == 1735732800.0);
}

TEST_CASE("prompt log: OpenAI chat request/response pair", "[prompt_log]") {
  TempDir dir;
  const PromptRecord r = read_one(
      dir,
      R"({"request": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0, )"
      R"("stream": true, "user": "u-1", "max_tokens": 100}, )"
      R"("response": {"id": "chatcmpl-1", "object": "chat.completion", "created": 1735732800, "model": "gpt-4o-mini-2024-07-18", )"
      R"("choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}, )"
      R"({"index": 1, "message": {"role": "assistant", "content": "Hey"}}], )"
      R"("usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}, )"
      R"("tenant": "acme", "group": "g1", "latency_ms": 420})");
  CHECK(r.model == "gpt-4o-mini");
  CHECK(same_messages(r.messages, {{"user", "Hi"}}));
  CHECK(r.prompt.empty());
  CHECK(r.response == "Hello!");
  CHECK(r.params_json == R"({"max_tokens":100,"temperature":0})");
  CHECK(r.ts == 1735732800.0);
  CHECK(r.prompt_tokens == 9);
  CHECK(r.completion_tokens == 3);
  CHECK(r.tenant == "acme");
  CHECK(r.group == "g1");
  CHECK(r.latency_ms == 420.0);
}

TEST_CASE("prompt log: OpenAI completion pair, top-level fields win over the response's", "[prompt_log]") {
  TempDir dir;
  const PromptRecord r = read_one(
      dir,
      R"({"ts": "2025-01-01T14:00:00+02:00", "prompt_tokens": 5, )"
      R"("request": {"prompt": "Say hi", "max_tokens": 16, "top_p": 0.5}, )"
      R"("response": {"created": 1, "model": "gpt-3.5-turbo-instruct", "choices": [{"text": " hi", "index": 0}], )"
      R"("usage": {"prompt_tokens": 2, "completion_tokens": 1}}})");
  CHECK(r.prompt == "Say hi");
  CHECK(r.messages.empty());
  CHECK(r.model == "gpt-3.5-turbo-instruct");
  CHECK(r.response == " hi");
  CHECK(r.ts == 1735732800.0);
  CHECK(r.prompt_tokens == 5);
  CHECK(r.completion_tokens == 1);
  CHECK(r.params_json == R"({"max_tokens":16,"top_p":0.5})");
}

TEST_CASE("prompt log: blank lines, BOM, CRLF, no final newline, line numbers, counters", "[prompt_log]") {
  TempDir dir;
  const std::string content = "\xEF\xBB\xBF{\"prompt\": \"a\"}\r\n\r\n   \n{\"messages\": [{\"role\": \"user\", \"content\": \"b\"}]}\n"
                              "\n{\"prompt\": \"c\"}";
  const std::string path = dir.write("log.jsonl", content);
  auto reader = open_log(path);
  PromptRecord r;
  REQUIRE(*reader->next(r));
  CHECK(r.prompt == "a");
  CHECK(r.line == 1);
  REQUIRE(*reader->next(r));
  CHECK(r.prompt.empty());
  CHECK(same_messages(r.messages, {{"user", "b"}}));
  CHECK(r.line == 4);
  REQUIRE(*reader->next(r));
  CHECK(r.prompt == "c");
  CHECK(r.messages.empty());
  CHECK(r.line == 6);
  auto end = reader->next(r);
  REQUIRE(end.has_value());
  CHECK_FALSE(*end);
  CHECK(reader->records() == 3);
  CHECK(reader->lines_read() == 6);
  CHECK(reader->skipped() == 0);
  CHECK(reader->bytes_read() == content.size());
  CHECK(reader->path() == path);
}

TEST_CASE("prompt log: lines across read blocks and lines longer than a block", "[prompt_log]") {
  // The reader reads 256 kB blocks: lines of every length from 1 to 3,000 bytes cross block
  // boundaries at every offset, and prompts of 600 kB and 1.5 MB need the buffer to grow (twice
  // for the second). The last line has no '\n'. Every prompt must come back whole, at its line.
  TempDir dir;
  std::vector<std::string> prompts;
  std::string content;
  std::uint64_t state = 7;
  for (int i = 0; i < 2500; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    std::size_t length = 1 + (state >> 33) % 3000;
    if (i == 100) length = 600000;
    if (i == 1800) length = 1500000;
    std::string prompt(length, 'a');
    for (std::size_t k = 0; k < length; k += 97) prompt[k] = static_cast<char>('a' + (i + k) % 26);
    content += "{\"prompt\": \"" + prompt + "\"}";
    if (i + 1 < 2500) content += i % 10 == 3 ? "\n\n" : "\n";  // a blank line now and then
    prompts.push_back(std::move(prompt));
  }
  const std::string path = dir.write("long.jsonl", content);
  auto reader = open_log(path);
  PromptRecord record;
  std::size_t line = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    auto more = reader->next(record);
    INFO("record " << i);
    REQUIRE(more.has_value());
    REQUIRE(*more);
    line += 1 + (i > 0 && (i - 1) % 10 == 3 ? 1 : 0);
    CHECK(record.line == line);
    REQUIRE(record.prompt.size() == prompts[i].size());
    CHECK(record.prompt == prompts[i]);
  }
  auto end = reader->next(record);
  REQUIRE(end.has_value());
  CHECK_FALSE(*end);
  CHECK(reader->bytes_read() == content.size());
}

TEST_CASE("prompt log: empty and missing files", "[prompt_log]") {
  TempDir dir;
  CHECK(read_all(dir.write("empty.jsonl", "")).empty());
  auto missing = PromptLogReader::open(dir.write("x", "") + ".does-not-exist");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.status().code() == ErrorCode::kNotFound);
  const std::string directory = dir.path("log.d");
  std::filesystem::create_directory(directory);
  auto not_a_file = PromptLogReader::open(directory);
  REQUIRE_FALSE(not_a_file.has_value());
  CHECK(not_a_file.status().code() == ErrorCode::kBadInput);
  CHECK(not_a_file.status().message() == directory + ": not a regular file");
}

TEST_CASE("prompt log: field remapping", "[prompt_log]") {
  TempDir dir;
  auto mapping = semcache::parse_field_mapping(" prompt = input,response=output , ts=timestamp,group=cluster");
  INFO(mapping.status().message());
  REQUIRE(mapping.has_value());
  CHECK(*mapping == std::map<std::string, std::string>{
                        {"prompt", "input"}, {"response", "output"}, {"ts", "timestamp"}, {"group", "cluster"}});
  PromptLogOptions options;
  options.field_names = *mapping;
  const PromptRecord r = read_one(
      dir, R"({"input": "Q", "output": "A", "timestamp": "1970-01-01T00:01:00Z", "cluster": 3, "prompt": 5, "response": []})",
      options);
  CHECK(r.prompt == "Q");
  CHECK(r.response == "A");
  CHECK(r.ts == 60.0);
  CHECK(r.group == "3");

  // Errors name the field as the file spells it.
  const std::string path = dir.write("remapped.jsonl", "{\"input\": 1}\n");
  auto reader = open_log(path, options);
  PromptRecord record;
  auto failed = reader->next(record);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.status().message() == path + ":1: field \"input\" must be a string, got number");

  // Swapping two names is fine.
  options.field_names = {{"prompt", "response"}, {"response", "prompt"}};
  const PromptRecord swapped = read_one(dir, R"({"response": "Q", "prompt": "A"})", options);
  CHECK(swapped.prompt == "Q");
  CHECK(swapped.response == "A");
}

TEST_CASE("prompt log: parse_field_mapping errors", "[prompt_log]") {
  CHECK(semcache::parse_field_mapping("")->empty());
  CHECK(semcache::parse_field_mapping("  ")->empty());
  for (const char* bad : {"question=input", "prompt", "prompt=", "=input", "prompt=a,prompt=b", "prompt=response",
                          "prompt=x,response=x", "prompt=a,"}) {
    INFO(bad);
    auto mapping = semcache::parse_field_mapping(bad);
    REQUIRE_FALSE(mapping.has_value());
    CHECK(mapping.status().code() == ErrorCode::kInvalidArgument);
  }
  CHECK_THAT(semcache::parse_field_mapping("question=input").status().message(),
             Catch::Contains("unknown prompt-log field \"question\""));
  CHECK_THAT(semcache::parse_field_mapping("prompt=response").status().message(),
             Catch::Contains("\"prompt\" and \"response\" would both be read from \"response\""));

  TempDir dir;
  PromptLogOptions options;
  options.field_names = {{"bogus", "x"}};
  auto reader = PromptLogReader::open(dir.write("a.jsonl", "{}\n"), options);
  REQUIRE_FALSE(reader.has_value());
  CHECK(reader.status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("prompt log: RFC 3339 timestamps against hand-computed epoch seconds", "[prompt_log]") {
  using semcache::detail::parse_rfc3339;
  // 2025-01-01 is day 20089 since 1970-01-01 (55 years, 14 leap days): 20089 * 86400 = 1735689600.
  CHECK(parse_rfc3339("2025-01-01T00:00:00Z") == 1735689600.0);
  CHECK(parse_rfc3339("2025-01-01T12:00:00Z") == 1735732800.0);
  CHECK(parse_rfc3339("2025-01-01t12:00:00z") == 1735732800.0);
  CHECK(parse_rfc3339("2025-01-01 12:00:00Z") == 1735732800.0);
  CHECK(parse_rfc3339("2025-01-01T14:00:00+02:00") == 1735732800.0);
  CHECK(parse_rfc3339("2025-01-01T07:30:00-04:30") == 1735732800.0);
  CHECK(parse_rfc3339("2025-01-01T12:00:00+00:00") == 1735732800.0);
  CHECK(parse_rfc3339("2025-01-01T00:00:00+01:00") == 1735689600.0 - 3600);
  CHECK(*parse_rfc3339("2025-01-01T12:00:00.123Z") == Approx(1735732800.123).margin(1e-6));
  CHECK(*parse_rfc3339("2025-01-01T12:00:00.5+02:00") == 1735725600.5);
  CHECK(*parse_rfc3339("2025-01-01T12:00:00.123456789Z") == Approx(1735732800.123456789).margin(1e-6));
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0.0);
  CHECK(parse_rfc3339("1969-12-31T23:59:59.5Z") == -0.5);
  // 2000-03-01: 30 years to 2000 with 7 leap days = 10957 days, + 31 + 29 = 11017 days.
  CHECK(parse_rfc3339("2000-03-01T00:00:00Z") == 11017.0 * 86400);
  // 2024-02-29: 2024-01-01 is day 19723; + 31 + 28 = 19782.
  CHECK(parse_rfc3339("2024-02-29T00:00:00Z") == 19782.0 * 86400);
  // A leap second is the first second of the next minute.
  CHECK(parse_rfc3339("2016-12-31T23:59:60Z") == parse_rfc3339("2017-01-01T00:00:00Z"));

  for (const char* bad : {"", "2025-01-01T12:00:00", "2025-01-01T12:00:00.123", "2025-13-01T00:00:00Z",
                          "2025-00-01T00:00:00Z", "2025-02-29T00:00:00Z", "2025-04-31T00:00:00Z",
                          "2025-01-01T24:00:00Z", "2025-01-01T12:60:00Z", "2025-01-01T12:00:61Z",
                          "2025-01-01T12:00:00.Z", "2025-01-01T12:00Z", "2025-1-01T12:00:00Z", "2025-01-01X12:00:00Z",
                          "2025-01-01T12:00:00+0200", "2025-01-01T12:00:00+24:00", "2025-01-01T12:00:00Z ",
                          " 2025-01-01T12:00:00Z", "1735732800", "2025-01-01"}) {
    INFO('"' << bad << '"');
    CHECK_FALSE(parse_rfc3339(bad).has_value());
  }
}

TEST_CASE("prompt log: canonical_request", "[prompt_log]") {
  TempDir dir;
  const std::string base = canonical_of(
      dir, R"({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.7, "max_tokens": 10, "stop": ["a", "b"]})");
  CHECK(base == R"({"messages":[{"content":"Hi","role":"user"}],"model":"m","params":{"max_tokens":10,"stop":["a","b"],"temperature":0.7}})");

  SECTION("equal requests give equal text, whatever the order and spelling") {
    CHECK(canonical_of(dir, R"({"stop": ["a", "b"], "max_tokens": 10.0, "temperature": 7e-1, "tenant": "other", "ts": 5, )"
                            R"("messages": [{"content": "Hi", "role": "user"}], "model": "m", "response": "x"})") == base);
    CHECK(canonical_of(dir, R"({"model": "m", "params": {"temperature": 0.70, "stop": ["a", "b"], "max_tokens": 10}, )"
                            R"("messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]})") == base);
    CHECK(canonical_of(dir, R"({"request": {"max_tokens": 10, "stream": true, "model": "m", "stop": ["a", "b"], )"
                            R"("messages": [{"role": "user", "content": "Hi"}], "temperature": 0.7}})") == base);
    CHECK(canonical_of(dir, R"({"model": "m", "params": {"response_format": {"type": "json", "strict": true}}, "prompt": "p"})") ==
          canonical_of(dir, R"({"prompt": "p", "model": "m", "params": {"response_format": {"strict": true, "type": "json"}}})"));
  }
  SECTION("any difference in model, params or messages gives a different text") {
    for (const char* other : {
             R"({"model": "m2", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.7, "max_tokens": 10, "stop": ["a", "b"]})",
             R"({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.8, "max_tokens": 10, "stop": ["a", "b"]})",
             R"({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.7, "max_tokens": 10, "stop": ["b", "a"]})",
             R"({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.7, "max_tokens": 10, "stop": ["a", "b"], "seed": 1})",
             R"({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "temperature": 0.7, "max_tokens": 10})",
             R"({"model": "m", "messages": [{"role": "user", "content": "Hi!"}], "temperature": 0.7, "max_tokens": 10, "stop": ["a", "b"]})",
             R"({"model": "m", "messages": [{"role": "system", "content": "Hi"}], "temperature": 0.7, "max_tokens": 10, "stop": ["a", "b"]})",
             R"({"model": "m", "messages": [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}], "temperature": 0.7, "max_tokens": 10, "stop": ["a", "b"]})",
             R"({"model": "m", "prompt": "Hi", "temperature": 0.7, "max_tokens": 10, "stop": ["a", "b"]})",
         }) {
      INFO(other);
      CHECK(canonical_of(dir, other) != base);
    }
  }
  SECTION("text is escaped, so no content can imitate the structure") {
    const std::string a = canonical_of(dir, R"({"messages": [{"role": "user", "content": "x\",\"role\":\"user\"},{\"content\":\"y"}]})");
    const std::string b = canonical_of(dir, R"({"messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "y"}]})");
    CHECK(a != b);
    CHECK(canonical_of(dir, R"({"prompt": "tab\there\u0001"})") == R"({"model":"","params":{},"prompt":"tab\there\u0001"})");
  }
}

TEST_CASE("prompt log: JSON strings are escaped like a byte-by-byte escape, whatever the special byte's place",
          "[prompt_log]") {
  // append_json_string checks eight bytes at a time: put each kind of byte at every offset of
  // strings around that width, and compare with the plain escape.
  const auto reference = [](std::string_view text) {
    std::string out = "\"";
    for (const char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"') {
        out += "\\\"";
      } else if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20) {
        out += fmt::format("\\u{:04x}", c);
      } else {
        out.push_back(ch);
      }
    }
    return out + "\"";
  };
  const std::vector<std::string> specials = {"\"", "\\", "\n", "\t", "\x01", std::string(1, '\0'), "\x1f", "\xc3\xa9", " ", "~", "\x7f"};
  for (const std::string& special : specials) {
    for (std::size_t length = 0; length <= 20; ++length) {
      for (std::size_t at = 0; at <= length; ++at) {
        std::string text(length, 'a');
        text.insert(at, special);
        std::string got = "[";
        semcache::detail::append_json_string(got, text);
        INFO("special byte " << static_cast<int>(static_cast<unsigned char>(special[0])) << " at " << at << " of "
                             << text.size());
        CHECK(got == "[" + reference(text));
      }
    }
  }
}

TEST_CASE("prompt log: a string reads as its text whether or not it is spelled with escapes", "[prompt_log]") {
  // Each text is read from its plain spelling (escapes only where JSON needs them), with and
  // without whitespace after it, and from a spelling that escapes every ASCII byte as \u00XX:
  // all must give the text, in the prompt, the response and the params that go into the
  // canonical request (two spellings of one request are one cache key).
  TempDir dir;
  const auto escape_every_ascii_byte = [](std::string_view text) {
    std::string out = "\"";
    for (const char ch : text) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x80) {
        out += fmt::format("\\u{:04x}", c);
      } else {
        out.push_back(ch);
      }
    }
    return out + "\"";
  };
  const auto line_with = [](const std::string& spelling, const char* gap) {
    return "{\"prompt\": " + spelling + gap + ", \"response\": " + spelling + gap +
           ", \"model\": \"m\", \"params\": {\"stop\": [" + spelling + gap + "]}}";
  };
  const std::vector<std::string> texts = {
      "", "a", "plain words", "caf\xc3\xa9 \xf0\x9f\x98\x80", std::string(5000, 'x'), "ends with a backslash \\",
      "\"quoted\"", "line\nbreak\ttab", "\x01\x1f", std::string(3000, 'y') + "\\", "\\" + std::string(3000, 'z')};
  for (const std::string& text : texts) {
    std::string plain;
    semcache::detail::append_json_string(plain, text);
    INFO("text of " << text.size() << " bytes, spelled " << plain.substr(0, 40));
    const PromptRecord as_is = read_one(dir, line_with(plain, ""));
    const PromptRecord spaced = read_one(dir, line_with(plain, " \t "));
    const PromptRecord escaped = read_one(dir, line_with(escape_every_ascii_byte(text), ""));
    for (const PromptRecord* record : {&as_is, &spaced, &escaped}) {
      CHECK(record->prompt == text);
      CHECK(record->response == text);
    }
    CHECK(semcache::canonical_request(as_is) == semcache::canonical_request(escaped));
    CHECK(semcache::canonical_request(spaced) == semcache::canonical_request(escaped));
  }
}

TEST_CASE("prompt log: each malformed line is refused with its file and line", "[prompt_log]") {
  TempDir dir;
  struct Case {
    const char* line;
    const char* message;
  };
  const Case cases[] = {
      {R"({"prompt": 42})", R"(field "prompt" must be a string, got number)"},
      {R"({"model": "m", "response": "r"})", R"(missing field "prompt" or "messages")"},
      {R"({"request": {"model": "m"}})", R"(missing field "prompt" or "messages" (also looked in "request"))"},
      {R"({"prompt": "a", "messages": [{"role": "user", "content": "b"}]})",
       R"(more than one of "prompt" and "messages" given; expected exactly one)"},
      {R"({"prompt": "a", "request": {"prompt": "b"}})",
       R"(more than one of "prompt" and "messages" given (counting "request"); expected exactly one)"},
      {R"({"messages": "hi"})", R"(field "messages" must be an array of messages, got string)"},
      {R"({"messages": []})", R"(field "messages" must not be empty)"},
      {R"({"messages": [{"content": "x"}]})", R"(missing field "messages[0].role")"},
      {R"({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": 3}]})",
       R"(field "messages[1].content" must be a string or an array of text parts, got number)"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}]})",
       R"(field "messages[0].content[0]" has type "image_url"; only "text" parts are supported)"},
      {R"({"request": {"messages": [{"role": 1}]}})", R"(field "request.messages[0].role" must be a string, got number)"},
      {R"({"prompt": "a", "ts": "2025-01-01T12:00:00"})",
       R"(field "ts" must be an RFC 3339 time like 2025-01-01T12:00:00Z or 2025-01-01T14:00:00.5+02:00, got "2025-01-01T12:00:00")"},
      {R"({"prompt": "a", "ts": "2025-02-30T00:00:00Z"})",
       R"(field "ts" must be an RFC 3339 time like 2025-01-01T12:00:00Z or 2025-01-01T14:00:00.5+02:00, got "2025-02-30T00:00:00Z")"},
      {R"({"prompt": "a", "ts": true})", R"(field "ts" must be epoch seconds (a number) or an RFC 3339 string, got boolean)"},
      {R"({"prompt": "a", "embedding": [1, "2"]})", R"(field "embedding" element 1 must be a number, got string)"},
      {R"({"prompt": "a", "embedding": [1, 1e39]})", R"(field "embedding" element 1 is not a finite float (1e39))"},
      {R"({"prompt": "a", "embedding": {"x": 1}})", R"(field "embedding" must be an array of numbers, got object)"},
      {R"({"prompt": "a", "prompt_tokens": -1})", R"(field "prompt_tokens" must be a non-negative integer, got -1)"},
      {R"({"prompt": "a", "completion_tokens": 1.5})", R"(field "completion_tokens" must be a non-negative integer, got 1.5)"},
      {R"({"prompt": "a", "latency_ms": "fast"})", R"(field "latency_ms" must be a non-negative number, got string)"},
      {R"({"prompt": "a", "latency_ms": -3})", R"(field "latency_ms" must be a non-negative finite number, got -3)"},
      {R"({"prompt": "a", "group": 1.5})", R"(field "group" must be a string or an integer, got number 1.5)"},
      {R"({"prompt": "a", "group": [1]})", R"(field "group" must be a string or an integer, got array)"},
      {R"({"prompt": "a", "tenant": 5})", R"(field "tenant" must be a string, got number)"},
      {R"({"prompt": "a", "params": [1]})", R"(field "params" must be an object, got array)"},
      {R"({"prompt": "a", "request": "x"})", R"(field "request" must be an object, got string)"},
      {R"({"prompt": "a", "response": 5})", R"(field "response" must be a string or an OpenAI response object, got number)"},
      {R"({"request": {"prompt": "a"}, "response": {"choices": [{"message": {"content": 1}}]}})",
       R"(field "response.choices[0].message.content" must be a string or an array of text parts, got number)"},
      {R"({"request": {"prompt": "a"}, "response": {"usage": {"prompt_tokens": "9"}}})",
       R"(field "response.usage.prompt_tokens" must be a non-negative integer, got string)"},
      {R"({"prompt": "a", "prompt": "b"})", R"(duplicate field "prompt")"},
      {R"({"prompt": "a", "temperature": 0.5, "params": {"temperature": 0.7}})",
       R"(parameter "temperature" given twice (as "temperature" and "params.temperature"))"},
      {R"([1, 2])", R"(not a JSON object (got array))"},
      {R"("text")", R"(not a JSON object (got string))"},
      {R"(null)", R"(not a JSON object (got null))"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    std::string path;
    const std::string message = error_on_line_4(dir, c.line, path);
    CHECK(message == path + ":4: " + c.message);
  }

  // Not JSON at all, wherever the defect is: the message says so, with the line.
  for (const char* invalid : {R"({"prompt": "a")", R"({"prompt": "a", "embedding": [1, NaN]})",
                              R"({"prompt": "a", "extra": {"b": tru}})", R"({"prompt": "a", "extra": [1, 2,]})",
                              R"({"prompt": "a\q"})", R"({"prompt": "a", "temperature": 1e999})", R"({"prompt": "a"} x)",
                              "{\"prompt\": \"\xff\"}", "{\"prompt\": \"a\x01" "b\"}",
                              "{\"prompt\": \"a\", \"extra\": \"tab\tinside\"}", R"({"prompt": "a", "extra": "\q"})",
                              R"({"prompt": "a", "stop": ["\u12"]})", "prompt: a"}) {
    INFO(invalid);
    std::string path;
    const std::string message = error_on_line_4(dir, invalid, path);
    CHECK_THAT(message, Catch::StartsWith(path + ":4: invalid JSON: "));
  }
}

TEST_CASE("prompt log: skip mode counts bad lines and keeps the first messages", "[prompt_log]") {
  TempDir dir;
  std::string content = "not json\n";
  for (int line = 2; line <= 61; ++line) {
    content += (line % 3 == 0) ? "{\"prompt\": " + std::to_string(line) + "}\n"
                               : "{\"prompt\": \"p" + std::to_string(line) + "\"}\n";
  }
  content += "\n";
  const std::string path = dir.write("mixed.jsonl", content);

  PromptLogOptions options;
  options.skip_bad_lines = true;
  auto reader = open_log(path, options);
  PromptRecord r;
  std::size_t count = 0;
  while (true) {
    auto more = reader->next(r);
    REQUIRE(more.has_value());
    if (!*more) break;
    CHECK(r.prompt == "p" + std::to_string(r.line));
    ++count;
  }
  CHECK(count == 40);
  CHECK(reader->records() == 40);
  CHECK(reader->skipped() == 21);
  CHECK(reader->lines_read() == 62);
  REQUIRE(reader->skipped_messages().size() == PromptLogReader::kMaxSkippedMessages);
  CHECK_THAT(reader->skipped_messages()[0], Catch::StartsWith(path + ":1: invalid JSON: "));
  CHECK(reader->skipped_messages()[1] == path + ":3: field \"prompt\" must be a string, got number");
  CHECK(reader->skipped_messages()[19] == path + ":57: field \"prompt\" must be a string, got number");

  // The same file in fail mode stops at line 1, then at line 3.
  auto strict = open_log(path);
  auto failed = strict->next(r);
  REQUIRE_FALSE(failed.has_value());
  CHECK_THAT(failed.status().message(), Catch::StartsWith(path + ":1: invalid JSON: "));
  REQUIRE(*strict->next(r));
  CHECK(r.line == 2);
  failed = strict->next(r);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.status().message() == path + ":3: field \"prompt\" must be a string, got number");
  CHECK(strict->skipped() == 0);
}

TEST_CASE("prompt log: a 100,000-line log streams through one record", "[prompt_log]") {
  TempDir dir;
  constexpr std::size_t kLines = 100000;
  std::string file_path;
  {
    std::string content;
    content.reserve(kLines * 200);
    for (std::size_t i = 0; i < kLines; ++i) {
      const std::string n = std::to_string(i);
      if (i % 2 == 0) {
        content += "{\"ts\": " + std::to_string(1735689600 + i) + ", \"model\": \"m\", \"prompt\": \"question " + n +
                   "\", \"response\": \"answer " + n + "\", \"group\": " + std::to_string(i % 1000) +
                   ", \"embedding\": [0.5, 0.25, " + n + "], \"temperature\": 0}\n";
      } else {
        content += "{\"request\": {\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"question " + n +
                   "\"}]}, \"response\": {\"choices\": [{\"message\": {\"content\": \"answer " + n +
                   "\"}}], \"usage\": {\"prompt_tokens\": 3, \"completion_tokens\": 4}}}\n";
      }
    }
    file_path = dir.write("big.jsonl", content);
  }
  auto reader = open_log(file_path);
  PromptRecord r;
  std::size_t count = 0, with_messages = 0, embedding_capacity = 0;
  while (true) {
    auto more = reader->next(r);
    REQUIRE(more.has_value());
    if (!*more) break;
    if (r.line != count + 1 || r.response != "answer " + std::to_string(count)) FAIL("record " << count << " is wrong");
    with_messages += r.has_messages() ? 1 : 0;
    embedding_capacity = std::max(embedding_capacity, r.embedding.capacity());
    ++count;
  }
  CHECK(count == kLines);
  CHECK(with_messages == kLines / 2);
  CHECK(reader->records() == kLines);
  CHECK(reader->lines_read() == kLines);
  CHECK(reader->bytes_read() == std::filesystem::file_size(file_path));
  CHECK(embedding_capacity <= 4);
}

TEST_CASE("prompt log: real Arena-Hard prompts read without error", "[prompt_log]") {
  const std::filesystem::path data_dir = semcache::testing::shared_data();
  // Lines are {"uid", "category", "cluster", "prompt"} (v0.1) or {"uid", "category",
  // "subcategory", "prompt"} (v2.0): the topic is mapped to the ground-truth group.
  struct Source {
    const char* file;
    const char* mapping;
    std::size_t lines;
  };
  for (const Source& source : {Source{"arena-hard-v0.1.question.jsonl", "prompt=prompt,group=cluster,tenant=category", 500},
                               Source{"arena-hard-v2.0.question.jsonl", "group=subcategory,tenant=category", 750}}) {
    const std::filesystem::path path = data_dir / "arena-hard" / source.file;
    if (!std::filesystem::exists(path)) {
      WARN("skipped: " << path << " is not there");
      continue;
    }
    INFO(path);
    PromptLogOptions options;
    auto mapping = semcache::parse_field_mapping(source.mapping);
    REQUIRE(mapping.has_value());
    options.field_names = *mapping;
    auto reader = open_log(path.string(), options);
    PromptRecord r;
    std::size_t count = 0, empty_groups = 0, empty_prompts = 0;
    while (true) {
      auto more = reader->next(r);
      INFO(more.status().message());
      REQUIRE(more.has_value());
      if (!*more) break;
      ++count;
      empty_prompts += r.prompt.empty() ? 1 : 0;
      empty_groups += r.group.empty() ? 1 : 0;
      CHECK(r.params_json == "{}");
    }
    CHECK(count == source.lines);
    CHECK(reader->lines_read() == source.lines);
    CHECK(empty_prompts == 0);
    CHECK(empty_groups == 0);
  }
}
