#pragma once
// Prompt logs: production LLM traffic as JSONL, one request per line (DESIGN.md, "Prompt log").
// The reader streams the file a line at a time in constant memory and hands out one
// PromptRecord per request; `semcache replay` feeds those records to the caches.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/status.hpp"

namespace semcache {

struct ChatMessage {
  std::string role;
  std::string content;  // text; the text parts of a content array joined with '\n'
};

struct PromptRecord {
  std::size_t line = 0;                  // 1-based line in the file
  std::optional<double> ts;              // epoch seconds (a number, or RFC 3339 text)
  std::string model;
  std::string prompt;                    // empty when `messages` is given
  std::vector<ChatMessage> messages;     // OpenAI chat messages; empty when `prompt` is given
  std::string params_json;               // answer-changing parameters: canonical JSON, sorted keys; "{}" if none
  std::string response;
  std::string tenant;
  std::optional<std::int64_t> prompt_tokens;
  std::optional<std::int64_t> completion_tokens;
  std::optional<double> latency_ms;
  std::string group;                     // ground-truth paraphrase group (a string or an integer in the file)
  std::vector<float> embedding;          // precomputed, may be empty

  bool has_messages() const { return !messages.empty(); }
};

// The canonical field names that PromptLogOptions::field_names may remap:
// ts model prompt messages response tenant prompt_tokens completion_tokens latency_ms group
// embedding params request.
std::vector<std::string_view> prompt_log_field_names();

struct PromptLogOptions {
  // Canonical name -> name in the file, e.g. {"prompt", "input"}. A remapped canonical name is
  // no longer recognised under its own name. Only top-level fields are remapped.
  std::map<std::string, std::string> field_names;
  // Count a bad line, remember its message (the first kMaxSkippedMessages) and go on, instead
  // of returning the error (`--on-error skip`).
  bool skip_bad_lines = false;
};

// Parses the CLI's --field option, "prompt=input,response=output" (spaces around names are
// ignored; "" gives an empty map). Unknown canonical names, a canonical name given twice and
// two canonical names mapped to one file name are invalid_argument.
Expected<std::map<std::string, std::string>> parse_field_mapping(std::string_view text);

// Reads a prompt log line by line. Two line shapes are accepted, and may be mixed:
//  - the DESIGN.md schema: {"ts", "model", "prompt" | "messages", "response", "tenant",
//    "prompt_tokens", "completion_tokens", "latency_ms", "group", "embedding"}, with the
//    generation parameters top-level (temperature, top_p, max_tokens, seed, stop, n, ...)
//    or in a "params" object;
//  - an OpenAI request/response pair: {"request": {"model", "messages" | "prompt", params...},
//    "response": {"choices": [{"message": {"content"}} | {"text"}], "usage": {...},
//    "created", "model"}}, with optional top-level ts, tenant, group, latency_ms.
// Only prompt or messages is required; null counts as absent; unknown fields are ignored
// (but must be valid JSON); blank lines are skipped. Not thread-safe; one reader per thread.
class PromptLogReader {
 public:
  static constexpr std::size_t kMaxSkippedMessages = 20;

  static Expected<std::unique_ptr<PromptLogReader>> open(const std::string& path,
                                                         const PromptLogOptions& options = {});
  ~PromptLogReader();
  PromptLogReader(const PromptLogReader&) = delete;
  PromptLogReader& operator=(const PromptLogReader&) = delete;

  // Fills `out` with the next record: true, or false at the end of the file. A bad line is
  // bad_input "log.jsonl:1042: field \"prompt\" must be a string, got number" (then `out`
  // is unspecified, and the next call goes on after that line) unless skip_bad_lines.
  // `out` is overwritten in place, so passing the same record each time reuses its buffers.
  Expected<bool> next(PromptRecord& out);

  std::size_t lines_read() const;   // lines consumed so far, blank and bad ones included
  std::size_t records() const;      // records returned
  std::size_t skipped() const;      // bad lines skipped (skip_bad_lines only)
  const std::vector<std::string>& skipped_messages() const;  // the first kMaxSkippedMessages
  std::uint64_t bytes_read() const;
  const std::string& path() const;

 private:
  struct Impl;
  explicit PromptLogReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The request as one canonical text for cache keys: a minified JSON object with sorted keys,
// {"messages":[{"content":...,"role":...},...],"model":...,"params":{...}} or the same with
// "prompt" for "messages". Equal requests give equal text whatever the order of the fields or
// parameters in the log; tenant, ts and the response are not part of it.
std::string canonical_request(const PromptRecord& record);
// The same into `out`, replacing what it held and reusing its capacity.
void canonical_request(const PromptRecord& record, std::string& out);

// The text a semantic cache embeds: the prompt, or the messages' contents joined by '\n'.
std::string request_text(const PromptRecord& record);
void request_text(const PromptRecord& record, std::string& out);

}  // namespace semcache
