// make_embedder(): the one place that turns an embedder's command-line name into an embedder, so
// that every command accepts the same names and gives the same error for an unknown one.
//
// Names are "kind" or "kind:argument". This build knows "hash" and "hash:DIM". A dimension given
// both in the name and in EmbedderOptions must agree: silently preferring one would change the
// embedder's identity, and with it the cache namespace, behind the caller's back.

#include <charconv>
#include <string>
#include <system_error>

#include "semcache/embedder.hpp"

namespace semcache {

namespace {

constexpr std::size_t kHashDefaultDim = 256;
constexpr std::size_t kMinDim = 8;
constexpr std::size_t kMaxDim = 65536;

std::string quoted(std::string_view spec) { return "'" + std::string(spec) + "'"; }

}  // namespace

Expected<std::shared_ptr<Embedder>> make_embedder(std::string_view spec, const EmbedderOptions& options) {
  const std::size_t colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  if (kind != "hash") {
    return Status::invalid_argument("embedder " + quoted(spec) +
                                    " is not available in this build (available: hash, hash:DIM)");
  }
  std::size_t dim = options.dim != 0 ? options.dim : kHashDefaultDim;
  if (colon != std::string_view::npos) {
    const std::string_view argument = spec.substr(colon + 1);
    std::size_t parsed = 0;
    const auto [end, error] = std::from_chars(argument.data(), argument.data() + argument.size(), parsed);
    if (argument.empty() || error != std::errc() || end != argument.data() + argument.size()) {
      return Status::invalid_argument("embedder " + quoted(spec) + ": the dimension after 'hash:' must be an integer from " +
                                      std::to_string(kMinDim) + " to " + std::to_string(kMaxDim));
    }
    if (options.dim != 0 && options.dim != parsed) {
      return Status::invalid_argument("embedder " + quoted(spec) + ": dimension " + std::to_string(parsed) +
                                      " conflicts with the requested dimension " + std::to_string(options.dim));
    }
    dim = parsed;
  }
  if (dim < kMinDim || dim > kMaxDim) {
    return Status::invalid_argument("embedder " + quoted(spec) + ": dimension " + std::to_string(dim) +
                                    " is out of range (" + std::to_string(kMinDim) + " to " + std::to_string(kMaxDim) + ")");
  }
  return make_hash_embedder(dim);
}

}  // namespace semcache
