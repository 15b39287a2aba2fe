// Tests for semcache/http_embedder.hpp against a local server (cpp-httplib on a free loopback
// port, run in a thread by EmbeddingServer) whose handler each test programs.
//
// The oracle is a fake model: fake_vector(text) is a deterministic, unnormalised vector, so the
// embedder's output must be its normalised form, in input order, whatever order the server
// lists the items in (it lists them reversed). The server records every request (path, body,
// Authorization header), so batching, retries and escaping are checked from the server's side.
// The https test writes a self-signed certificate for 127.0.0.1 with OpenSSL and trusts it
// through OpenSSL's SSL_CERT_FILE variable.
// Timing assertions only bound a deadline ("returns within deadline + 1 s"), never speed.

#include <catch2/catch.hpp>

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "semcache/cache.hpp"
#include "semcache/embedder.hpp"
#include "semcache/http_embedder.hpp"
#include "semcache/memory_store.hpp"

namespace {

using semcache::ErrorCode;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// An environment variable that no test sets unless it means to (the default one may be set on
// a developer's machine).
constexpr const char* kNoKeyEnv = "SEMCACHE_TEST_HTTP_NO_KEY";

struct Recorded {
  std::string path;
  std::string body;
  std::string authorization;
  std::string query_key;  // the "key" query parameter, if any
  int remote_port = 0;    // tells the client's connections apart
};

// A certificate and its key, as PEM files, for an https server.
struct TlsFiles {
  std::string cert_path;
  std::string key_path;
};

class EmbeddingServer {
 public:
  // number: how many requests the server had received before this one (the probe is 0).
  using Handler = std::function<void(const httplib::Request&, httplib::Response&, std::size_t number)>;

  explicit EmbeddingServer(Handler handler, const TlsFiles* tls = nullptr)
      : handler_(std::move(handler)),
        scheme_(tls != nullptr ? "https" : "http"),
        server_(tls != nullptr ? std::make_unique<httplib::SSLServer>(tls->cert_path.c_str(), tls->key_path.c_str())
                               : std::make_unique<httplib::Server>()) {
    REQUIRE(server_->is_valid());
    // Short keep-alive, so that stop() does not wait long for a connection a client keeps.
    server_->set_keep_alive_timeout(1);
    server_->set_tcp_nodelay(true);  // else delayed ACKs add 40 ms to each reply
    server_->Post(".*", [this](const httplib::Request& request, httplib::Response& response) {
      std::size_t number = 0;
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        number = requests_.size();
        requests_.push_back({request.path, request.body, request.get_header_value("Authorization"),
                             request.get_param_value("key"), request.remote_port});
      }
      handler_(request, response, number);
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    while (!server_->is_running() && Clock::now() < give_up) std::this_thread::sleep_for(milliseconds(1));
    REQUIRE(server_->is_running());
  }
  ~EmbeddingServer() { stop(); }
  EmbeddingServer(const EmbeddingServer&) = delete;
  EmbeddingServer& operator=(const EmbeddingServer&) = delete;

  void stop() {
    if (!thread_.joinable()) return;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    released_.notify_all();
    server_->stop();
    thread_.join();
  }

  std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  std::vector<Recorded> requests() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  // Waits in a handler for `duration`, or until the server stops; false once it is stopping.
  bool pause(milliseconds duration) {
    std::unique_lock<std::mutex> lock(mutex_);
    return !released_.wait_for(lock, duration, [this] { return stopping_; });
  }

 private:
  Handler handler_;
  std::string scheme_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable released_;
  bool stopping_ = false;
  std::vector<Recorded> requests_;
};

// Writes a self-signed certificate for 127.0.0.1 (an IP subjectAltName, CA:TRUE so that it can
// be its own trust anchor) and its P-256 key into dir.
TlsFiles write_self_signed_certificate(const std::filesystem::path& dir) {
  const TlsFiles files{(dir / "cert.pem").string(), (dir / "key.pem").string()};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  REQUIRE(key != nullptr);
  REQUIRE(cert != nullptr);
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
    REQUIRE(extension != nullptr);
    X509_add_ext(cert, extension, -1);
    X509_EXTENSION_free(extension);
  }
  REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
  FILE* cert_file = std::fopen(files.cert_path.c_str(), "w");
  FILE* key_file = std::fopen(files.key_path.c_str(), "w");
  REQUIRE(cert_file != nullptr);
  REQUIRE(key_file != nullptr);
  CHECK(PEM_write_X509(cert_file, cert) == 1);
  CHECK(PEM_write_PrivateKey(key_file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
  std::fclose(cert_file);
  std::fclose(key_file);
  X509_free(cert);
  EVP_PKEY_free(key);
  return files;
}

// The fake model: a deterministic, unnormalised vector with components in [-10, 10].
std::vector<float> fake_vector(std::string_view text, std::size_t dim) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  std::vector<float> v(dim);
  for (std::size_t d = 0; d < dim; ++d) {
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    v[d] = static_cast<float>(static_cast<int>(h % 2001) - 1000) / 100.0f;
  }
  return v;
}

std::vector<float> normalised(std::vector<float> v) {
  double norm = 0;
  for (const float x : v) norm += static_cast<double>(x) * x;
  norm = std::sqrt(norm);
  for (float& x : v) x = static_cast<float>(x / norm);
  return v;
}

struct ParsedRequest {
  bool valid = false;  // the body was {"input": [strings], ...}
  bool has_model = false;
  std::string model;
  std::int64_t dimensions = 0;
  std::vector<std::string> inputs;
};

// Runs in the server's threads too, where Catch's macros must not be used (they are not
// thread-safe): a body that does not parse gives valid = false.
ParsedRequest parse_request(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  ParsedRequest parsed;
  simdjson::dom::array inputs;
  if (parser.parse(body).get_object().get(object) || object["input"].get_array().get(inputs)) return parsed;
  std::string_view model;
  if (object["model"].get_string().get(model) == simdjson::SUCCESS) {
    parsed.has_model = true;
    parsed.model = std::string(model);
  }
  if (object["dimensions"].get_int64().get(parsed.dimensions) != simdjson::SUCCESS) parsed.dimensions = 0;
  for (const simdjson::dom::element input : inputs) {
    std::string_view text;
    if (input.get_string().get(text)) return parsed;
    parsed.inputs.emplace_back(text);
  }
  parsed.valid = true;
  return parsed;
}

// An OpenAI-style reply with the items listed in reverse order; 3 "tokens" per input.
std::string fake_reply(const std::vector<std::string>& inputs, std::size_t dim) {
  std::string out = R"({"object":"list","data":[)";
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const std::size_t i = inputs.size() - 1 - k;
    if (k > 0) out += ',';
    out += R"({"object":"embedding","index":)" + std::to_string(i) + R"(,"embedding":[)";
    const std::vector<float> v = fake_vector(inputs[i], dim);
    for (std::size_t d = 0; d < dim; ++d) {
      char number[32];
      std::snprintf(number, sizeof number, "%s%.9g", d > 0 ? "," : "", static_cast<double>(v[d]));
      out += number;
    }
    out += "]}";
  }
  const std::string tokens = std::to_string(3 * inputs.size());
  out += R"(],"model":"fake","usage":{"prompt_tokens":)" + tokens + R"(,"total_tokens":)" + tokens + "}}";
  return out;
}

// A request the fake model cannot read gets a 400, which fails the test on the client's side.
void serve_fake(const httplib::Request& request, httplib::Response& response, std::size_t dim) {
  const ParsedRequest parsed = parse_request(request.body);
  if (!parsed.valid) {
    response.status = 400;
    response.set_content("test server: the request body is not {\"input\": [strings]}", "text/plain");
    return;
  }
  response.set_content(fake_reply(parsed.inputs, dim), "application/json");
}

EmbeddingServer::Handler fake_model(std::size_t dim) {
  return [dim](const httplib::Request& request, httplib::Response& response, std::size_t) {
    serve_fake(request, response, dim);
  };
}

semcache::EmbedderOptions test_options() {
  semcache::EmbedderOptions options;
  options.http_model = "fake-model";
  options.http_api_key_env = kNoKeyEnv;
  return options;
}

std::shared_ptr<semcache::Embedder> open_ok(const std::string& url, const semcache::EmbedderOptions& options) {
  auto opened = semcache::open_http_embedder(url, options);
  INFO(opened.status().message());
  REQUIRE(opened.has_value());
  return *opened;
}

void check_vectors(const std::vector<std::string>& texts, const std::vector<float>& out, std::size_t dim) {
  REQUIRE(out.size() == texts.size() * dim);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::vector<float> expected = normalised(fake_vector(texts[i], dim));
    double norm = 0;
    for (std::size_t d = 0; d < dim; ++d) {
      INFO("text " << i << " component " << d);
      CHECK(out[i * dim + d] == Approx(expected[d]).margin(1e-6));
      norm += static_cast<double>(out[i * dim + d]) * out[i * dim + d];
    }
    CHECK(norm == Approx(1.0).margin(1e-5));
  }
}

semcache::Status embed_texts(semcache::Embedder& embedder, const std::vector<std::string>& texts,
                             std::vector<float>& out) {
  std::vector<std::string_view> views(texts.begin(), texts.end());
  out.assign(texts.size() * embedder.dim(), 0.0f);
  return embedder.embed(views, out);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

TEST_CASE("http embedder: vectors come back normalised, in input order, with counters", "[embedder][http]") {
  EmbeddingServer server(fake_model(8));
  const auto embedder = open_ok(server.url(), test_options());
  CHECK(embedder->dim() == 8);
  CHECK(embedder->identity() == "http-v1:fake-model@http://127.0.0.1:" + std::to_string(server.port()) +
                                    "/v1/embeddings/8");

  const std::vector<std::string> texts = {"How do I learn C++?", "What is the capital of France?", "hello"};
  std::vector<float> out;
  const semcache::Status status = embed_texts(*embedder, texts, out);
  INFO(status.message());
  REQUIRE(status.is_ok());
  check_vectors(texts, out, 8);

  const std::vector<Recorded> requests = server.requests();
  REQUIRE(requests.size() == 2);  // the probe, then the call
  const ParsedRequest parsed = parse_request(requests[1].body);
  REQUIRE(parsed.valid);
  CHECK(parsed.has_model);
  CHECK(parsed.model == "fake-model");
  CHECK(parsed.dimensions == 0);
  CHECK(parsed.inputs == texts);
  CHECK(requests[1].authorization.empty());

  const semcache::EmbedderCounters counters = embedder->counters();
  CHECK(counters.texts == 3);
  CHECK(counters.tokens == 9);  // usage.prompt_tokens
  CHECK(counters.nanoseconds > 0);
  const auto http = semcache::http_embedder_counters(*embedder);
  REQUIRE(http.has_value());
  CHECK(http->requests == 2);
  CHECK(http->retries == 0);
  CHECK(http->failed_calls == 0);
  CHECK_FALSE(semcache::http_embedder_counters(*semcache::make_hash_embedder()).has_value());

  // No texts: no request. A wrong output size: invalid_argument, no request.
  std::vector<float> none;
  CHECK(embedder->embed({}, none).is_ok());
  const std::string_view one[] = {"x"};
  std::vector<float> small(3);
  CHECK(embedder->embed(one, small).code() == ErrorCode::kInvalidArgument);
  CHECK(server.requests().size() == 2);
}

TEST_CASE("http embedder: a large call is split into batches, outputs in order", "[embedder][http]") {
  EmbeddingServer server(fake_model(6));
  semcache::EmbedderOptions options = test_options();
  options.http_batch_size = 4;
  const auto embedder = open_ok(server.url(), options);

  std::vector<std::string> texts;
  for (int i = 0; i < 10; ++i) texts.push_back("text number " + std::to_string(i));
  std::vector<float> out;
  const semcache::Status status = embed_texts(*embedder, texts, out);
  INFO(status.message());
  REQUIRE(status.is_ok());
  check_vectors(texts, out, 6);

  const std::vector<Recorded> requests = server.requests();
  REQUIRE(requests.size() == 4);  // probe + 4 + 4 + 2
  CHECK(parse_request(requests[1].body).inputs == std::vector<std::string>(texts.begin(), texts.begin() + 4));
  CHECK(parse_request(requests[2].body).inputs == std::vector<std::string>(texts.begin() + 4, texts.begin() + 8));
  CHECK(parse_request(requests[3].body).inputs == std::vector<std::string>(texts.begin() + 8, texts.end()));
  for (const Recorded& request : requests) CHECK(request.remote_port == requests[0].remote_port);  // kept alive
  CHECK(embedder->counters().texts == 10);
  CHECK(embedder->counters().tokens == 30);
}

TEST_CASE("http embedder: a 429 is retried and counted", "[embedder][http]") {
  EmbeddingServer server([](const httplib::Request& request, httplib::Response& response, std::size_t number) {
    if (number == 1) {
      response.status = 429;
      response.set_header("Retry-After", "0");
      response.set_content(R"({"error":{"message":"Rate limit reached"}})", "application/json");
      return;
    }
    serve_fake(request, response, 4);
  });
  const auto embedder = open_ok(server.url(), test_options());
  const std::vector<std::string> texts = {"a question", "another question"};
  std::vector<float> out;
  const semcache::Status status = embed_texts(*embedder, texts, out);
  INFO(status.message());
  REQUIRE(status.is_ok());
  check_vectors(texts, out, 4);

  const std::vector<Recorded> requests = server.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].body == requests[2].body);
  const auto http = semcache::http_embedder_counters(*embedder);
  CHECK(http->requests == 3);
  CHECK(http->retries == 1);
  CHECK(http->failed_calls == 0);
}

TEST_CASE("http embedder: 5xx until retries run out is unavailable, other 4xx are not retried",
          "[embedder][http]") {
  std::atomic<int> status_code{503};
  EmbeddingServer server([&](const httplib::Request& request, httplib::Response& response, std::size_t number) {
    if (number == 0) return serve_fake(request, response, 4);
    response.status = status_code.load();
    response.set_content(R"({"error":{"message":"model overloaded or input too long"}})", "application/json");
  });
  semcache::EmbedderOptions options = test_options();
  options.http_max_retries = 2;
  const auto embedder = open_ok(server.url(), options);
  const std::vector<std::string> texts = {"q"};
  std::vector<float> out;

  semcache::Status status = embed_texts(*embedder, texts, out);
  CHECK(status.code() == ErrorCode::kUnavailable);
  CHECK_THAT(status.message(), Catch::Contains("HTTP 503") && Catch::Contains("attempt 3 of 3") &&
                                   Catch::Contains("model overloaded"));
  CHECK(server.requests().size() == 1 + 3);
  auto http = semcache::http_embedder_counters(*embedder);
  CHECK(http->retries == 2);
  CHECK(http->failed_calls == 1);

  status_code = 400;
  status = embed_texts(*embedder, texts, out);
  CHECK(status.code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(status.message(), Catch::Contains("refused") && Catch::Contains("HTTP 400") &&
                                   Catch::Contains("input too long"));
  CHECK(server.requests().size() == 1 + 3 + 1);  // no retry

  status_code = 404;
  status = embed_texts(*embedder, texts, out);
  CHECK(status.code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(status.message(), Catch::Contains("HTTP 404") && Catch::Contains("model name"));
  http = semcache::http_embedder_counters(*embedder);
  CHECK(http->retries == 2);
  CHECK(http->failed_calls == 3);
}

TEST_CASE("http embedder: a Retry-After beyond the deadline gives up at once", "[embedder][http]") {
  EmbeddingServer server([](const httplib::Request& request, httplib::Response& response, std::size_t number) {
    if (number == 0) return serve_fake(request, response, 4);
    response.status = 429;
    response.set_header("Retry-After", "30");
    response.set_content("slow down", "text/plain");
  });
  semcache::EmbedderOptions options = test_options();
  options.http_deadline = milliseconds(1500);
  const auto embedder = open_ok(server.url(), options);
  std::vector<float> out;
  const auto start = Clock::now();
  const semcache::Status status = embed_texts(*embedder, {"q"}, out);
  CHECK(seconds_since(start) < 1.5);  // it did not wait for the server's 30 s
  CHECK(status.code() == ErrorCode::kUnavailable);
  CHECK_THAT(status.message(), Catch::Contains("HTTP 429") && Catch::Contains("wait 30 s"));
  CHECK(server.requests().size() == 2);
  CHECK(semcache::http_embedder_counters(*embedder)->deadline_exceeded == 1);
}

TEST_CASE("http embedder: a server slower than the deadline is unavailable within the deadline",
          "[embedder][http]") {
  EmbeddingServer* self = nullptr;
  EmbeddingServer server([&](const httplib::Request& request, httplib::Response& response, std::size_t number) {
    if (number > 0) self->pause(milliseconds(20000));
    serve_fake(request, response, 4);
  });
  self = &server;
  semcache::EmbedderOptions options = test_options();
  options.http_deadline = milliseconds(300);
  const auto embedder = open_ok(server.url(), options);
  std::vector<float> out;
  const auto start = Clock::now();
  const semcache::Status status = embed_texts(*embedder, {"slow"}, out);
  CHECK(seconds_since(start) < 0.3 + 1.0);
  CHECK(status.code() == ErrorCode::kUnavailable);
  CHECK_THAT(status.message(), Catch::Contains("deadline of 300 ms"));
  CHECK(semcache::http_embedder_counters(*embedder)->deadline_exceeded == 1);
}

// The promise to the cache's users: an embedding endpoint that stalls makes a semantic lookup
// a miss (kError, counted) within the embedder's deadline, and a store is refused, not hung.
TEST_CASE("http embedder: a stalled endpoint turns a semantic lookup into a counted miss within the deadline",
          "[embedder][http][cache]") {
  EmbeddingServer* self = nullptr;
  EmbeddingServer server([&](const httplib::Request& request, httplib::Response& response, std::size_t number) {
    if (number > 0) self->pause(milliseconds(20000));
    serve_fake(request, response, 4);
  });
  self = &server;
  semcache::EmbedderOptions options = test_options();
  options.http_deadline = milliseconds(300);
  const auto embedder = open_ok(server.url(), options);
  semcache::CacheOptions cache_options;
  cache_options.mode = semcache::CacheMode::kSemantic;
  cache_options.follow_interval = milliseconds(0);
  auto cache = semcache::Cache::open(semcache::make_memory_store(), cache_options, embedder);
  REQUIRE(cache.has_value());
  const semcache::CacheRequest request{.model = "m", .tenant = "t", .canonical = "{}", .text = "a stalled question",
                                       .embedding = {}};
  const auto start = Clock::now();
  const semcache::LookupResult result = (*cache)->lookup(request);
  CHECK(seconds_since(start) < 0.3 + 1.0);
  CHECK(result.outcome == semcache::LookupOutcome::kError);
  CHECK_FALSE(result.hit());
  CHECK_THAT(result.error, Catch::Contains("deadline of 300 ms"));
  const auto stats = (*cache)->stats();
  REQUIRE(stats.size() == 1);
  CHECK(stats[0].errors == 1);
  CHECK(stats[0].lookups == 1);
}

TEST_CASE("http embedder: a server that trickles its reply is cut at the deadline", "[embedder][http]") {
  EmbeddingServer* self = nullptr;
  EmbeddingServer server([&](const httplib::Request& request, httplib::Response& response, std::size_t number) {
    if (number == 0) return serve_fake(request, response, 4);
    // One byte of JSON whitespace every 20 ms, forever: no single read ever times out.
    response.set_chunked_content_provider("application/json", [&](std::size_t, httplib::DataSink& sink) {
      return sink.write(" ", 1) && self->pause(milliseconds(20));
    });
  });
  self = &server;
  semcache::EmbedderOptions options = test_options();
  options.http_deadline = milliseconds(300);
  const auto embedder = open_ok(server.url(), options);
  std::vector<float> out;
  const auto start = Clock::now();
  const semcache::Status status = embed_texts(*embedder, {"trickle"}, out);
  CHECK(seconds_since(start) < 0.3 + 1.0);
  CHECK(status.code() == ErrorCode::kUnavailable);
  CHECK_THAT(status.message(), Catch::Contains("deadline of 300 ms"));
}

TEST_CASE("http embedder: a closed port is unavailable, at open and later", "[embedder][http]") {
  auto server = std::make_unique<EmbeddingServer>(fake_model(4));
  const std::string url = server->url();
  const auto embedder = open_ok(url, test_options());
  server->stop();

  std::vector<float> out;
  const auto start = Clock::now();
  const semcache::Status status = embed_texts(*embedder, {"anyone there?"}, out);
  CHECK(seconds_since(start) < 2.0 + 1.0);  // the default deadline, 2 s
  CHECK(status.code() == ErrorCode::kUnavailable);
  CHECK_THAT(status.message(), Catch::Contains(url + "/v1/embeddings") && Catch::Contains("attempt 3 of 3"));
  CHECK(semcache::http_embedder_counters(*embedder)->retries == 2);

  const auto opened = semcache::open_http_embedder(url, test_options());
  REQUIRE_FALSE(opened.has_value());
  CHECK(opened.status().code() == ErrorCode::kUnavailable);
  CHECK_THAT(opened.status().message(), Catch::Contains(url));
}

TEST_CASE("http embedder: malformed replies are bad_input naming what was expected", "[embedder][http]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"this is not json\n", "not JSON"},
      {"[1, 2]", "not a JSON object"},
      {R"({"object": "list"})", R"(no "data" array)"},
      {R"({"data": [{"embedding": [1, 2, 3, 4], "index": 0}]})", "holds 1 items for 2 inputs"},
      {R"({"data": [{"embedding": "AACAPw==", "index": 0}, {"embedding": [1, 2, 3, 4], "index": 1}]})", "base64"},
      {R"({"data": [{"embedding": [1, 2, 3, 4], "index": 0}, {"embedding": [1, 2, 3, 4], "index": 5}]})",
       "out of range"},
      {R"({"data": [{"embedding": [1, 2, 3, 4], "index": 0}, {"embedding": [1, 2, 3, 4], "index": 0}]})",
       "repeated"},
      {R"({"data": [{"embedding": [1, "x", 3, 4]}, {"embedding": [1, 2, 3, 4]}]})", "not a finite 32-bit number"},
      {R"({"data": [{"embedding": [1, 2, 3, 1e300]}, {"embedding": [1, 2, 3, 4]}]})", "not a finite 32-bit number"},
      {R"({"data": [{"embedding": [1, 2, 3, 4], "index": -1}, {"embedding": [1, 2, 3, 4]}]})",
       "not a non-negative integer"},
      {R"({"data": [{"vector": [1, 2, 3, 4]}, {"embedding": [1, 2, 3, 4]}]})", R"(no "embedding")"},
      {"<html>" + std::string(5000, 'x') + "</html>", "not JSON"},
  };
  EmbeddingServer server([&](const httplib::Request& request, httplib::Response& response, std::size_t number) {
    if (number == 0) return serve_fake(request, response, 4);
    response.set_content(cases.at(number - 1).first, "application/json");
  });
  const auto embedder = open_ok(server.url(), test_options());
  for (const auto& [body, expected] : cases) {
    INFO("reply: " << body.substr(0, 100));
    std::vector<float> out;
    const semcache::Status status = embed_texts(*embedder, {"first", "second"}, out);
    CHECK(status.code() == ErrorCode::kBadInput);
    CHECK_THAT(status.message(), Catch::Contains(expected) && Catch::Contains(R"({"data": [{"embedding")") &&
                                     Catch::Contains("the reply starts"));
    CHECK(status.message().size() < 600);  // a short excerpt, not the whole body
  }
  CHECK(server.requests().size() == 1 + cases.size());  // none retried
}

TEST_CASE("http embedder: control bytes in a reply are shown escaped", "[embedder][http]") {
  EmbeddingServer server([](const httplib::Request& request, httplib::Response& response, std::size_t number) {
    if (number == 0) return serve_fake(request, response, 4);
    response.set_content("oops\n\x1b[31m", "text/plain");
  });
  const auto embedder = open_ok(server.url(), test_options());
  std::vector<float> out;
  const semcache::Status status = embed_texts(*embedder, {"q"}, out);
  CHECK(status.code() == ErrorCode::kBadInput);
  CHECK_THAT(status.message(), Catch::Contains(R"('oops\x0a\x1b[31m')"));
}

TEST_CASE("http embedder: a change of dimension is an error naming both dimensions", "[embedder][http]") {
  EmbeddingServer server([](const httplib::Request& request, httplib::Response& response, std::size_t number) {
    serve_fake(request, response, number == 0 ? 4 : 6);
  });
  const auto embedder = open_ok(server.url(), test_options());
  REQUIRE(embedder->dim() == 4);
  std::vector<float> out;
  const semcache::Status status = embed_texts(*embedder, {"q", "r"}, out);
  CHECK(status.code() == ErrorCode::kBadInput);
  CHECK_THAT(status.message(), Catch::Contains("6-dimensional") && Catch::Contains("dimension is 4"));
  CHECK(std::all_of(out.begin(), out.end(), [](float x) { return x == 0.0f; }));  // nothing written
}

TEST_CASE("http embedder: a requested dimension is sent and checked", "[embedder][http]") {
  EmbeddingServer server([](const httplib::Request& request, httplib::Response& response, std::size_t) {
    serve_fake(request, response, parse_request(request.body).dimensions == 5 ? 5 : 7);
  });
  semcache::EmbedderOptions options = test_options();
  options.dim = 5;
  const auto embedder = open_ok(server.url(), options);
  CHECK(embedder->dim() == 5);
  CHECK(parse_request(server.requests().at(0).body).dimensions == 5);

  options.dim = 9;  // the server ignores it and answers 7
  const auto opened = semcache::open_http_embedder(server.url(), options);
  REQUIRE_FALSE(opened.has_value());
  CHECK(opened.status().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(opened.status().message(), Catch::Contains("returns 7-dimensional") && Catch::Contains("dimension 9"));
}

TEST_CASE("http embedder: the API key is sent as a bearer token and never shown", "[embedder][http]") {
  const std::string key = "sk-test-0123456789abcdef-SECRET";
  const char* env = "SEMCACHE_TEST_HTTP_KEY";
  REQUIRE(setenv(env, key.c_str(), 1) == 0);
  EmbeddingServer server([](const httplib::Request& request, httplib::Response& response, std::size_t number) {
    if (number == 0) return serve_fake(request, response, 4);
    // A careless server that echoes the credentials it was given.
    const std::string echoed = "invalid credentials: " + request.get_header_value("Authorization");
    response.status = number == 1 ? 401 : number == 2 ? 500 : 200;
    response.set_content(echoed, "text/plain");
  });
  semcache::EmbedderOptions options = test_options();
  options.http_api_key_env = env;
  options.http_max_retries = 0;
  const auto embedder = open_ok(server.url(), options);
  CHECK(embedder->identity().find(key) == std::string::npos);

  std::vector<std::string> messages;
  for (int i = 0; i < 3; ++i) {  // 401, 500, a 200 with a malformed body
    std::vector<float> out;
    const semcache::Status status = embed_texts(*embedder, {"q"}, out);
    REQUIRE_FALSE(status.is_ok());
    messages.push_back(status.message());
  }
  CHECK_THAT(messages[0], Catch::Contains("HTTP 401") && Catch::Contains("SEMCACHE_TEST_HTTP_KEY"));
  for (const std::string& message : messages) {
    INFO(message);
    CHECK(message.find("sk-test") == std::string::npos);
    CHECK(message.find("SECRET") == std::string::npos);
    CHECK_THAT(message, Catch::Contains("Bearer ***"));
  }
  for (const Recorded& request : server.requests()) CHECK(request.authorization == "Bearer " + key);

  // Credentials in the URL are refused without being shown.
  const std::string with_password = "http://user:sk-url-SECRET@127.0.0.1:" + std::to_string(server.port());
  const auto opened = semcache::open_http_embedder(with_password, options);
  REQUIRE_FALSE(opened.has_value());
  CHECK(opened.status().code() == ErrorCode::kInvalidArgument);
  CHECK(opened.status().message().find("SECRET") == std::string::npos);
  CHECK_THAT(opened.status().message(), Catch::Contains("SEMCACHE_TEST_HTTP_KEY"));

  // A key with a line break would forge headers: refused, not shown.
  REQUIRE(setenv(env, "sk-SECRET\r\nX-Evil: 1", 1) == 0);
  const auto forged = semcache::open_http_embedder(server.url(), options);
  REQUIRE_FALSE(forged.has_value());
  CHECK(forged.status().code() == ErrorCode::kInvalidArgument);
  CHECK(forged.status().message().find("SECRET") == std::string::npos);
  REQUIRE(unsetenv(env) == 0);
}

TEST_CASE("http embedder: quotes, backslashes, control characters and non-ASCII survive JSON",
          "[embedder][http]") {
  EmbeddingServer server(fake_model(4));  // the server parses every body with simdjson
  semcache::EmbedderOptions options = test_options();
  options.http_model = "org/model \"v2\"\\x";
  const auto embedder = open_ok(server.url(), options);
  const std::vector<std::string> texts = {
      "say \"hi\"",
      "back\\slash \\u0041 \\\"",
      "line1\nline2\ttab\rreturn\b\f",
      std::string("nul\0and\x01\x1f\x7f", 11),
      "na\xC3\xAFve caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x99\x82",
      "",
      "{\"input\": [\"injected\"]}",
  };
  std::vector<float> out;
  semcache::Status status = embed_texts(*embedder, texts, out);
  INFO(status.message());
  REQUIRE(status.is_ok());
  const ParsedRequest parsed = parse_request(server.requests().back().body);
  REQUIRE(parsed.valid);
  CHECK(parsed.model == options.http_model);
  CHECK(parsed.inputs == texts);
  check_vectors(texts, out, 4);

  // Invalid UTF-8: each stray byte becomes U+FFFD (a truncated sequence, an overlong form, a
  // surrogate, a byte that never occurs in UTF-8).
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<std::string> invalid = {"bad\xC3(", "over\xC0\xAF", "sur\xED\xA0\x80", "ff\xFF", "cut\xE6\x97"};
  const std::vector<std::string> repaired = {"bad" + fffd + "(", "over" + fffd + fffd, "sur" + fffd + fffd + fffd,
                                             "ff" + fffd, "cut" + fffd + fffd};
  status = embed_texts(*embedder, invalid, out);
  INFO(status.message());
  REQUIRE(status.is_ok());
  CHECK(parse_request(server.requests().back().body).inputs == repaired);
  check_vectors(repaired, out, 4);
}

TEST_CASE("http embedder: URL rules: path, query string, model field", "[embedder][http]") {
  EmbeddingServer server(fake_model(4));
  const std::string base = server.url();
  const std::string port = std::to_string(server.port());
  const std::vector<std::pair<std::string, std::string>> paths = {
      {base, "/v1/embeddings"},
      {base + "/", "/v1/embeddings"},
      {base + "/v1", "/v1/embeddings"},
      {base + "/v1/", "/v1/embeddings"},
      {base + "/proxy", "/proxy/v1/embeddings"},
      {base + "/tei/embeddings", "/tei/embeddings"},
      {"HTTP://127.0.0.1:" + port + "/v1/embeddings#fragment", "/v1/embeddings"},
  };
  for (const auto& [url, path] : paths) {
    INFO(url);
    const auto embedder = open_ok(url, test_options());
    CHECK(server.requests().back().path == path);
    CHECK(embedder->identity() == "http-v1:fake-model@http://127.0.0.1:" + port + path + "/4");
  }

  // The query string is sent but never shown.
  const auto with_query = open_ok(base + "/v1/embeddings?api-version=2024&key=QUERY-SECRET", test_options());
  CHECK(server.requests().back().query_key == "QUERY-SECRET");
  CHECK(with_query->identity().find("SECRET") == std::string::npos);
  CHECK(with_query->identity().find('?') == std::string::npos);

  // Without a model, the field is left out.
  semcache::EmbedderOptions no_model = test_options();
  no_model.http_model.clear();
  const auto unnamed = open_ok(base, no_model);
  const ParsedRequest unnamed_request = parse_request(server.requests().back().body);
  REQUIRE(unnamed_request.valid);
  CHECK_FALSE(unnamed_request.has_model);
  CHECK(unnamed->identity() == "http-v1:@http://127.0.0.1:" + port + "/v1/embeddings/4");

  const std::size_t requests_before = server.requests().size();
  for (const std::string bad : {"ftp://example.com", "127.0.0.1:8080", "http://", "http://:80", "http://host:0",
                                "http://host:99999", "http://host:abc", "http://::1:80", "http://[::1",
                                "http://host/a b", "https//host"}) {
    INFO(bad);
    const auto opened = semcache::open_http_embedder(bad, test_options());
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.status().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(opened.status().message(), Catch::StartsWith("http embedder URL '"));
  }
  CHECK(server.requests().size() == requests_before);

  semcache::EmbedderOptions zero_batch = test_options();
  zero_batch.http_batch_size = 0;
  CHECK(semcache::open_http_embedder(base, zero_batch).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("http embedder: concurrent calls share the connection pool correctly", "[embedder][http]") {
  EmbeddingServer server(fake_model(8));
  semcache::EmbedderOptions options = test_options();
  options.http_batch_size = 2;
  const auto embedder = open_ok(server.url(), options);
  constexpr int kThreads = 4;
  constexpr int kCalls = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCalls; ++c) {
        const std::vector<std::string> texts = {"thread " + std::to_string(t) + " call " + std::to_string(c),
                                                "second " + std::to_string(c), "third " + std::to_string(t)};
        std::vector<float> out;
        if (!embed_texts(*embedder, texts, out).is_ok()) {
          ++failures;
          continue;
        }
        for (std::size_t i = 0; i < texts.size(); ++i) {
          const std::vector<float> expected = normalised(fake_vector(texts[i], 8));
          for (std::size_t d = 0; d < 8; ++d) {
            if (std::fabs(out[i * 8 + d] - expected[d]) > 1e-6f) ++failures;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures == 0);
  CHECK(embedder->counters().texts == kThreads * kCalls * 3);
  CHECK(semcache::http_embedder_counters(*embedder)->requests == 1 + kThreads * kCalls * 2);
}

TEST_CASE("http embedder: https verifies the server's certificate", "[embedder][http]") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("semcache-http-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const TlsFiles tls = write_self_signed_certificate(dir);
  EmbeddingServer server(fake_model(4), &tls);
  REQUIRE(server.url().starts_with("https://"));

  // Not trusted: refused at once (a retry cannot fix a certificate), before any request.
  auto opened = semcache::open_http_embedder(server.url(), test_options());
  REQUIRE_FALSE(opened.has_value());
  CHECK(opened.status().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(opened.status().message(), Catch::Contains("certificate did not verify"));
  CHECK(server.requests().empty());

  // Trusted through OpenSSL's SSL_CERT_FILE: the same request goes through, encrypted.
  REQUIRE(setenv("SSL_CERT_FILE", tls.cert_path.c_str(), 1) == 0);
  opened = semcache::open_http_embedder(server.url(), test_options());
  REQUIRE(unsetenv("SSL_CERT_FILE") == 0);
  INFO(opened.status().message());
  REQUIRE(opened.has_value());
  const auto embedder = *opened;
  CHECK(embedder->identity() == "http-v1:fake-model@" + server.url() + "/v1/embeddings/4");
  const std::vector<std::string> texts = {"over TLS", "twice"};
  std::vector<float> out;
  const semcache::Status status = embed_texts(*embedder, texts, out);
  INFO(status.message());
  REQUIRE(status.is_ok());
  check_vectors(texts, out, 4);
  std::filesystem::remove_all(dir);
}
