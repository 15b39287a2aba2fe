// Fuzz target: vector-set snapshots (lib/src/vector/snapshot.cpp), VectorSet::load(), and what
// a loaded set must then survive: searches, removal and insertion on the loaded graph.
//
// Input: a snapshot file whose last 8 bytes are replaced by the checksum of the bytes before
// them before it is loaded. Without that, almost every mutation would stop at the checksum;
// with it the fuzzer reaches the structural checks, which are what must hold against a file
// that was altered and re-checksummed (snapshot.cpp promises to refuse those, not to crash
// a later search). Seeds are snapshots written by `semcache load ... --save`.
//
// Invariants after a successful load:
//   - save() writes back the input (save -> load -> save gives identical bytes; bytes 18-19,
//     a reserved header field load() does not check, are compared as zero);
//   - an exact search for k >= size() returns every element once, ids that contains() knows,
//     with their attributes readable and their vectors finite (as add() requires);
//   - HNSW searches (plain, filtered, by id prefix) return at most k distinct known ids in
//     order of distance, and so does a search after removing an element and adding one.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "io/checksum.hpp"
#include "semcache/vector_set.hpp"

namespace {

using semcache::fuzz::printable;

constexpr std::size_t kReservedOffset = 18;  // the u16 after metric and quantization

void check_hits(const semcache::VectorSet& set, const std::vector<semcache::SearchHit>& hits, std::size_t k,
                const char* what) {
  FUZZ_CHECK(hits.size() <= k && hits.size() <= set.size(),
             std::string(what) + ": " + std::to_string(hits.size()) + " hits for k " + std::to_string(k));
  std::set<std::string> seen;
  for (std::size_t i = 0; i < hits.size(); ++i) {
    FUZZ_CHECK(seen.insert(hits[i].id).second, std::string(what) + ": id '" + printable(hits[i].id) + "' twice");
    FUZZ_CHECK(set.contains(hits[i].id), std::string(what) + ": unknown id '" + printable(hits[i].id) + "'");
    FUZZ_CHECK(i == 0 || !(hits[i].distance < hits[i - 1].distance),
               std::string(what) + ": hit " + std::to_string(i) + " at distance " + std::to_string(hits[i].distance) +
                   " after one at " + std::to_string(hits[i - 1].distance));
  }
}

void search_all_ways(const semcache::VectorSet& set, const std::vector<float>& query) {
  static const auto filter = semcache::Filter::parse(".year > 1993 or .genre == \"drama\"");
  for (std::size_t k : {std::size_t{1}, std::size_t{5}}) {
    semcache::SearchOptions options;
    options.k = k;
    options.ef = 8;
    auto plain = set.search(query, options);
    FUZZ_CHECK(plain.has_value(), "search failed: " + plain.status().message());
    check_hits(set, *plain, k, "search");
    options.filter = &*filter;
    auto filtered = set.search(query, options);
    FUZZ_CHECK(filtered.has_value(), "filtered search failed: " + filtered.status().message());
    check_hits(set, *filtered, k, "filtered search");
    options.filter = nullptr;
    options.id_prefix = "doc-";
    options.rerank = false;
    auto prefixed = set.search(query, options);
    FUZZ_CHECK(prefixed.has_value(), "prefix search failed: " + prefixed.status().message());
    check_hits(set, *prefixed, k, "prefix search");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  semcache::detail::Checksum64 checksum;
  checksum.update(bytes.data(), size - 8);
  const std::uint64_t digest = checksum.digest();
  std::memcpy(bytes.data() + size - 8, &digest, sizeof digest);
  const std::string path = semcache::fuzz::write_file("input.vset", bytes);

  auto loaded = semcache::VectorSet::load(path);
  if (!loaded) {
    FUZZ_CHECK(loaded.status().message().starts_with(path) || loaded.status().code() == semcache::ErrorCode::kInternal,
               "error does not name the file: " + loaded.status().message());
    return 0;
  }
  semcache::VectorSet& set = **loaded;

  const std::string saved_path = path + ".saved";
  semcache::Status saved = set.save(saved_path);
  FUZZ_CHECK(saved.is_ok(), "save() failed: " + saved.message());
  std::string expected = bytes;
  expected[kReservedOffset] = expected[kReservedOffset + 1] = '\0';
  semcache::detail::Checksum64 expected_checksum;
  expected_checksum.update(expected.data(), size - 8);
  const std::uint64_t expected_digest = expected_checksum.digest();
  std::memcpy(expected.data() + size - 8, &expected_digest, sizeof expected_digest);
  FUZZ_CHECK(semcache::fuzz::read_file(saved_path) == expected, "a loaded snapshot saves to different bytes");

  std::vector<float> query(set.dim());
  for (std::size_t i = 0; i < query.size(); ++i) query[i] = 1.0f + static_cast<float>(i % 7) * 0.25f;
  auto everything = set.exact_search(query, set.size() + 1);
  FUZZ_CHECK(everything.has_value(), "exact search failed: " + everything.status().message());
  FUZZ_CHECK(everything->size() == set.size(),
             "exact search found " + std::to_string(everything->size()) + " of " + std::to_string(set.size()) + " elements");
  check_hits(set, *everything, set.size() + 1, "exact search");
  for (const semcache::SearchHit& hit : *everything) {
    auto vector = set.get_vector(hit.id);
    FUZZ_CHECK(vector && vector->size() == set.dim(), "get_vector('" + printable(hit.id) + "') failed");
    FUZZ_CHECK(std::all_of(vector->begin(), vector->end(), [](float x) { return std::isfinite(x); }),
               "element '" + printable(hit.id) + "' was loaded with a non-finite vector (its code holds NaN or Inf), "
               "which add() refuses and which poisons the order of search results");
    FUZZ_CHECK(set.attributes(hit.id).has_value(), "attributes('" + printable(hit.id) + "') failed");
  }
  search_all_ways(set, query);

  if (!everything->empty()) {
    const std::string victim = everything->front().id;
    FUZZ_CHECK(set.remove(victim) && !set.contains(victim), "remove('" + printable(victim) + "') did not remove it");
    search_all_ways(set, query);
    auto added = set.add(victim, query, R"({"year":2000})");
    FUZZ_CHECK(added && *added, "re-adding '" + printable(victim) + "' failed");
    search_all_ways(set, query);
  }
  return 0;
}
