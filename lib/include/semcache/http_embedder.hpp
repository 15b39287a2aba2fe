#pragma once
// The HTTP embedder: embeddings from an OpenAI-compatible /v1/embeddings endpoint (OpenAI,
// Ollama, llama.cpp server, Hugging Face TEI, vLLM), the "http:URL" embedder of make_embedder.
//
// URL: http://host[:port][/path][?query] or https://... (port 80 / 443 by default; an IPv6
// host in brackets). The request path is the URL's path if it ends in "/embeddings"; else
// "/embeddings" is appended to a path ending in "/v1" (the "base URL" that OpenAI's and
// Ollama's documentation give); else "/v1/embeddings" is appended to the path:
//   http://localhost:11434            -> POST http://localhost:11434/v1/embeddings
//   https://api.openai.com/v1         -> POST https://api.openai.com/v1/embeddings
//   http://gpu1:8080/tei/embeddings   -> POST http://gpu1:8080/tei/embeddings
// A query string is sent but never shown (it may carry a gateway's key); credentials in the
// URL (user:password@) are refused: the key belongs in the environment (below).
//
// Each request is POST {"model": M, "input": [texts]} (plus "dimensions": D when
// EmbedderOptions::dim is set, which OpenAI's text-embedding-3 models honour), with the
// bearer token from the environment variable named by EmbedderOptions::http_api_key_env. The
// reply must be {"data": [{"embedding": [numbers], "index": i}, ...]}, one item per input (in
// any order: "index" places it; without "index", position does); "usage.prompt_tokens", when
// present, feeds the token counter. Vectors are L2-normalised here, whatever the server does.
// Texts that are not valid UTF-8 have each invalid byte replaced by U+FFFD (JSON must be UTF-8).
//
// The model field is sent only when EmbedderOptions::http_model is not empty: servers that
// serve one model (llama.cpp, TEI) ignore it, OpenAI and Ollama require it (their refusal at
// open is the error then).
//
// Open sends one probe request to learn the dimension, so a wrong URL, model or key fails at
// open with the server's reason. The probe may take up to max(http_deadline, 30 s), because
// some servers (Ollama) load the model on the first request. Identity:
// "http-v1:<model>@<scheme>://<host>:<port><path>/<dim>" (no key, no query string). A later
// reply of another dimension is an error naming both dimensions, never a silent change.
//
// Deadline: embed() returns within EmbedderOptions::http_deadline (plus a few milliseconds),
// retries and a stalled or trickling server included; only name resolution (getaddrinfo,
// bounded by the system resolver's own timeouts) is outside our control. Retries (at most
// http_max_retries per request) follow a 429, a 5xx or a broken or refused connection, with
// exponential backoff and jitter, or after the server's Retry-After when that fits in the
// deadline; other 4xx replies are never retried.
//
// Errors: kUnavailable for timeouts, connection failures, 429 and 5xx once retries are spent
// (a semantic cache turns these into misses); kInvalidArgument for bad options and for other
// refusals: 4xx (wrong key, model or URL), a redirect, a TLS certificate that does not verify
// against the system's CA store (or the file in $SSL_CERT_FILE); kBadInput for a reply that is
// not the expected JSON or changes the dimension. Messages name the endpoint, the HTTP status
// and a short printable excerpt of the reply, with the API key replaced by "***" should the
// server echo it.
//
// Thread model: embed() may be called from many threads at once; connections are kept alive
// in a pool and reused.

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "semcache/embedder.hpp"
#include "semcache/status.hpp"

namespace semcache {

// The work of an HTTP embedder, beside its EmbedderCounters.
struct HttpEmbedderCounters {
  std::uint64_t requests = 0;          // HTTP requests sent, the probe and retries included
  std::uint64_t retries = 0;           // requests repeated after a 429, a 5xx or a connection error
  std::uint64_t failed_calls = 0;      // embed() calls that returned an error
  std::uint64_t deadline_exceeded = 0;  // of those, the calls whose deadline ran out
};

// Opens the endpoint at `url` (see above) and probes its dimension. Uses options.http_*
// and options.dim (0: the model's own dimension).
Expected<std::shared_ptr<Embedder>> open_http_embedder(std::string_view url, const EmbedderOptions& options = {});

// The HTTP counters of an embedder opened by open_http_embedder; nullopt for any other.
std::optional<HttpEmbedderCounters> http_embedder_counters(const Embedder& embedder);

}  // namespace semcache
