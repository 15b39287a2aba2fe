// VectorSet against brute force: recall floors, deletion, filters, snapshots, concurrency.
// Data comes from the project's own generator with fixed seeds; the oracle is exact search.

#include <catch2/catch.hpp>

#include <algorithm>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <thread>

#include <unistd.h>

#include "semcache/dataset.hpp"
#include "semcache/vector_set.hpp"

using namespace semcache;

namespace {

GeneratedVectors small_data(std::size_t n, std::size_t dim, std::size_t queries, std::uint64_t seed) {
  GenerateVectorsOptions o;
  o.n = n;
  o.dim = dim;
  o.clusters = std::max<std::size_t>(1, n / 50);
  o.queries = queries;
  o.seed = seed;
  o.threads = 2;
  auto data = generate_vectors(o);
  REQUIRE(data);
  return std::move(data.value());
}

std::vector<std::string> row_ids(std::size_t n) {
  std::vector<std::string> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = "id-" + std::to_string(i);
  return ids;
}

std::unique_ptr<VectorSet> build(const FloatMatrix& base, Quantization q, std::size_t threads,
                                 const std::vector<std::string>& attributes = {}) {
  VectorSetOptions o;
  o.dim = base.dim;
  o.quantization = q;
  o.m = 16;
  o.ef_construction = 100;
  auto set = VectorSet::create(o);
  REQUIRE(set);
  REQUIRE((*set)->add_batch(row_ids(base.rows), base.data, attributes, threads).is_ok());
  return std::move(set.value());
}

std::span<const float> row(const FloatMatrix& m, std::size_t i) { return {m.row(i), m.dim}; }

// Mean recall@k of HNSW search against exact search over the same set.
double recall_vs_exact(const VectorSet& set, const FloatMatrix& queries, std::size_t k, std::size_t ef,
                       const Filter* filter = nullptr) {
  double sum = 0;
  for (std::size_t q = 0; q < queries.rows; ++q) {
    SearchOptions so;
    so.k = k;
    so.ef = ef;
    so.filter = filter;
    auto approx = set.search(row(queries, q), so);
    auto exact = set.exact_search(row(queries, q), k, filter);
    REQUIRE(approx);
    REQUIRE(exact);
    std::set<std::string> truth;
    for (const auto& h : *exact) truth.insert(h.id);
    std::size_t found = 0;
    for (const auto& h : *approx) found += truth.count(h.id);
    sum += truth.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(truth.size());
  }
  return sum / static_cast<double>(queries.rows);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("semcache-test-" + std::to_string(::getpid()) + "-" + name)).string();
}

}  // namespace

TEST_CASE("HNSW recall@10 against exact search is at least 0.95 for every quantisation", "[vector_set]") {
  const auto data = small_data(5000, 64, 100, 7);
  for (Quantization q : {Quantization::kInt8, Quantization::kF32}) {
    auto set = build(data.base, q, 2);
    CHECK(set->size() == 5000);
    const double recall = recall_vs_exact(*set, data.queries, 10, 64);
    INFO("quantization " << to_string(q) << " recall " << recall);
    CHECK(recall >= 0.95);
  }
  auto binary = build(data.base, Quantization::kBinary, 2);
  // Binary codes tie often, so exact order among equals is arbitrary; HNSW still finds most.
  CHECK(recall_vs_exact(*binary, data.queries, 10, 128) >= 0.80);
}

TEST_CASE("an element's own vector finds itself first", "[vector_set]") {
  const auto data = small_data(2000, 32, 1, 3);
  auto set = build(data.base, Quantization::kInt8, 1);
  std::size_t self_first = 0;
  for (std::size_t i = 0; i < 200; ++i) {
    SearchOptions so;
    so.k = 1;
    auto hits = set->search(row(data.base, i), so);
    REQUIRE(hits);
    REQUIRE(hits->size() == 1);
    if ((*hits)[0].id == "id-" + std::to_string(i)) ++self_first;
    CHECK((*hits)[0].distance < 0.01f);
  }
  CHECK(self_first >= 198);
}

TEST_CASE("add, get_vector, attributes, replace and remove", "[vector_set]") {
  VectorSetOptions o;
  o.dim = 4;
  o.quantization = Quantization::kF32;
  auto created = VectorSet::create(o);
  REQUIRE(created);
  VectorSet& set = **created;
  const std::vector<float> a{1, 0, 0, 0}, b{0, 2, 0, 0};
  REQUIRE(set.add("a", a, R"({"year": 1999, "genre": "drama"})").value() == true);
  REQUIRE(set.add("b", b).value() == true);
  CHECK(set.size() == 2);
  CHECK(set.contains("a"));
  auto v = set.get_vector("b");
  REQUIRE(v);
  CHECK(v->at(1) == Approx(1.0f));  // cosine: stored normalised
  auto attrs = set.attributes("a");
  REQUIRE(attrs);
  CHECK(*attrs == R"({"year":1999,"genre":"drama"})");
  // Replacing keeps one element under the id, with the new vector.
  REQUIRE(set.add("a", b, "").value() == false);
  CHECK(set.size() == 2);
  CHECK(set.get_vector("a")->at(1) == Approx(1.0f));
  CHECK(set.attributes("a").value().empty());
  REQUIRE(set.set_attributes("a", R"({"x": 1})").is_ok());
  CHECK(set.attributes("a").value() == R"({"x":1})");
  CHECK(set.set_attributes("zzz", "{}").code() == ErrorCode::kNotFound);
  CHECK(set.remove("a"));
  CHECK_FALSE(set.remove("a"));
  CHECK_FALSE(set.contains("a"));
  CHECK(set.size() == 1);
  SearchOptions so;
  so.k = 5;
  auto hits = set.search(a, so);
  REQUIRE(hits);
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].id == "b");
}

TEST_CASE("adding the same vector again under an id leaves the graph as it is", "[vector_set]") {
  const auto data = small_data(500, 16, 1, 3);
  auto set = build(data.base, Quantization::kInt8, 1);
  const std::string before = set->save_to_memory();
  // The same vector: nothing moves (a replacement would draw the element a new level and new
  // links), only new attributes are taken.
  REQUIRE(set->add("id-7", row(data.base, 7)).value() == false);
  CHECK(set->save_to_memory() == before);
  REQUIRE(set->add("id-7", row(data.base, 7), R"({"again": true})").value() == false);
  CHECK(set->attributes("id-7").value() == R"({"again":true})");
  CHECK(set->size() == 500);
  // Another vector replaces the element.
  REQUIRE(set->add("id-7", row(data.base, 8)).value() == false);
  CHECK(set->size() == 500);
  SearchOptions so;
  so.k = 2;
  auto hits = set->search(row(data.base, 8), so);
  REQUIRE(hits);
  REQUIRE(hits->size() == 2);
  CHECK(((*hits)[0].id == "id-7" || (*hits)[1].id == "id-7"));
}

TEST_CASE("bad vectors and attributes are refused with a reason", "[vector_set]") {
  VectorSetOptions o;
  o.dim = 3;
  auto set = std::move(VectorSet::create(o).value());
  const std::vector<float> nan{1, std::nanf(""), 0}, short_vector{1, 2}, ok{1, 2, 3};
  auto r1 = set->add("x", nan);
  CHECK(r1.status().code() == ErrorCode::kBadInput);
  CHECK_THAT(r1.status().message(), Catch::Contains("NaN"));
  auto r2 = set->add("x", short_vector);
  CHECK_THAT(r2.status().message(), Catch::Contains("expected 3"));
  auto r3 = set->add("x", ok, "[1,2]");
  CHECK(r3.status().code() == ErrorCode::kBadInput);
  CHECK(set->size() == 0);
  SearchOptions so;
  CHECK(set->search(short_vector, so).status().code() == ErrorCode::kBadInput);
  const std::vector<std::string> ids{"a", "a"};
  const std::vector<float> rows{1, 2, 3, 4, 5, 6};
  CHECK_THAT(set->add_batch(ids, rows, {}, 2).message(), Catch::Contains("repeats"));
  CHECK(set->size() == 0);
  o.dim = 0;
  CHECK(VectorSet::create(o).status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("deleting 30% keeps recall and never returns a deleted id", "[vector_set]") {
  const auto data = small_data(6000, 48, 100, 11);
  auto set = build(data.base, Quantization::kInt8, 2);
  std::mt19937_64 rng(5);
  std::vector<std::string> removed;
  std::set<std::string> removed_set;
  for (std::size_t i = 0; i < data.base.rows; ++i) {
    if (rng() % 10 < 3) {
      removed.push_back("id-" + std::to_string(i));
      removed_set.insert(removed.back());
    }
  }
  // Half one by one, half in one batch: both paths repair the graph.
  const std::size_t half = removed.size() / 2;
  for (std::size_t i = 0; i < half; ++i) REQUIRE(set->remove(removed[i]));
  CHECK(set->remove_batch(std::span<const std::string>(removed).subspan(half)) == removed.size() - half);
  CHECK(set->size() == data.base.rows - removed.size());

  for (std::size_t q = 0; q < data.queries.rows; ++q) {
    SearchOptions so;
    so.k = 10;
    so.ef = 64;
    auto hits = set->search(row(data.queries, q), so);
    REQUIRE(hits);
    CHECK(hits->size() == 10);
    for (const auto& h : *hits) CHECK(removed_set.count(h.id) == 0);
  }
  CHECK(recall_vs_exact(*set, data.queries, 10, 64) >= 0.95);

  // Slots are reused by later inserts, and the set keeps working.
  for (std::size_t i = 0; i < 500; ++i) REQUIRE(set->add("new-" + std::to_string(i), row(data.queries, i % data.queries.rows)));
  CHECK(recall_vs_exact(*set, data.queries, 10, 64) >= 0.95);
}

TEST_CASE("removing every element leaves an empty, usable set", "[vector_set]") {
  const auto data = small_data(300, 16, 5, 2);
  auto set = build(data.base, Quantization::kInt8, 1);
  CHECK(set->remove_batch(row_ids(300)) == 300);
  CHECK(set->size() == 0);
  SearchOptions so;
  CHECK(set->search(row(data.queries, 0), so).value().empty());
  REQUIRE(set->add("again", row(data.queries, 1)));
  CHECK(set->search(row(data.queries, 0), so).value().size() == 1);
}

TEST_CASE("filtered search returns only matching ids and agrees with brute force", "[vector_set][filter]") {
  const auto data = small_data(5000, 32, 50, 13);
  std::vector<std::string> attributes(data.base.rows);
  const char* genres[] = {"drama", "comedy", "horror", "news"};
  for (std::size_t i = 0; i < data.base.rows; ++i) {
    attributes[i] = "{\"year\": " + std::to_string(1900 + i % 120) + ", \"genre\": \"" + genres[i % 4] + "\"}";
  }
  auto set = build(data.base, Quantization::kInt8, 2, attributes);
  for (const char* expression : {".year > 1950 and .genre == \"drama\"", ".genre in [\"news\", \"horror\"]",
                                 "not (.year < 2015)", ".year % 7 == 3"}) {
    auto filter = Filter::parse(expression);
    REQUIRE(filter);
    for (std::size_t q = 0; q < data.queries.rows; ++q) {
      SearchOptions so;
      so.k = 10;
      so.ef = 64;
      so.filter = &*filter;
      auto hits = set->search(row(data.queries, q), so);
      REQUIRE(hits);
      for (const auto& h : *hits) {
        const std::size_t index = std::stoul(h.id.substr(3));
        CHECK(filter->matches(attributes[index]));
      }
    }
    INFO(expression);
    CHECK(recall_vs_exact(*set, data.queries, 10, 64, &*filter) >= 0.90);
  }
  // A filter that matches three elements returns exactly those three.
  auto rare = Filter::parse(".year == 1901 and .genre == \"comedy\" and .year * 1 >= 0");
  REQUIRE(rare);
  std::size_t expected = 0;
  for (const auto& a : attributes) expected += rare->matches(a) ? 1 : 0;
  SearchOptions so;
  so.k = 100;
  so.filter = &*rare;
  SearchStats stats;
  auto hits = set->search(row(data.queries, 0), so, &stats);
  REQUIRE(hits);
  CHECK(hits->size() == expected);
}

TEST_CASE("an id prefix is a hard pre-filter that agrees with brute force", "[vector_set][filter]") {
  const auto data = small_data(5000, 32, 30, 21);
  auto set = build(data.base, Quantization::kInt8, 2, {});
  // "id-1" admits id-1, id-10..19, id-100..199 and id-1000..1999: 1,111 of 5,000 elements.
  double found = 0, wanted = 0;
  for (std::size_t q = 0; q < data.queries.rows; ++q) {
    SearchOptions so;
    so.k = 10;
    so.ef = 64;
    so.id_prefix = "id-1";
    auto hits = set->search(row(data.queries, q), so);
    REQUIRE(hits);
    REQUIRE(hits->size() == 10);
    for (const auto& h : *hits) CHECK(h.id.starts_with("id-1"));
    auto all = set->exact_search(row(data.queries, q), data.base.rows);
    REQUIRE(all);
    std::vector<std::string> truth;
    for (const auto& h : *all) {
      if (h.id.starts_with("id-1") && truth.size() < 10) truth.push_back(h.id);
    }
    for (const auto& h : *hits) found += std::find(truth.begin(), truth.end(), h.id) != truth.end() ? 1 : 0;
    wanted += 10;
  }
  CHECK(found / wanted >= 0.90);
  // A prefix that admits one element returns exactly that one; one that admits none, nothing.
  SearchOptions one;
  one.k = 10;
  one.id_prefix = "id-4999";
  auto single = set->search(row(data.queries, 0), one);
  REQUIRE(single);
  REQUIRE(single->size() == 1);
  CHECK(single->front().id == "id-4999");
  one.id_prefix = "nobody";
  auto none = set->search(row(data.queries, 0), one);
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("snapshot round trip is bit-identical and searches the same", "[vector_set][snapshot]") {
  const auto data = small_data(3000, 40, 30, 17);
  std::vector<std::string> attributes(data.base.rows);
  for (std::size_t i = 0; i < attributes.size(); ++i) attributes[i] = "{\"n\": " + std::to_string(i) + "}";
  auto set = build(data.base, Quantization::kInt8, 2, attributes);
  std::vector<std::string> some;
  for (std::size_t i = 0; i < 300; ++i) some.push_back("id-" + std::to_string(i * 7));
  set->remove_batch(some);  // free slots must survive the round trip too

  const std::string first = temp_path("a.vset"), second = temp_path("b.vset");
  REQUIRE(set->save(first).is_ok());
  auto loaded = VectorSet::load(first);
  REQUIRE(loaded);
  REQUIRE((*loaded)->save(second).is_ok());
  const std::string bytes = read_file(first);
  CHECK(bytes.size() > 3000 * 40);
  CHECK(bytes == read_file(second));
  CHECK((*loaded)->size() == set->size());
  CHECK((*loaded)->attributes("id-5").value() == "{\"n\":5}");

  for (std::size_t q = 0; q < data.queries.rows; ++q) {
    SearchOptions so;
    so.k = 10;
    auto a = set->search(row(data.queries, q), so);
    auto b = (*loaded)->search(row(data.queries, q), so);
    REQUIRE(a->size() == b->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      CHECK((*a)[i].id == (*b)[i].id);
      CHECK((*a)[i].distance == (*b)[i].distance);
    }
  }

  SECTION("a truncated snapshot is refused") {
    for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{20}, bytes.size() / 2, bytes.size() - 1}) {
      { std::ofstream(second, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(cut)); }
      auto bad = VectorSet::load(second);
      REQUIRE_FALSE(bad);
      CHECK(bad.status().code() == ErrorCode::kCorrupt);
      CHECK_THAT(bad.status().message(), Catch::Contains(second));
    }
  }
  SECTION("a vector code no encoder writes is refused (found by fuzzing: a NaN scale)") {
    auto bad = VectorSet::load(SEMCACHE_SOURCE_DIR "/tests/fuzz/regressions/snapshot/nan-int8-scale.vset");
    REQUIRE_FALSE(bad);
    CHECK(bad.status().code() == ErrorCode::kCorrupt);
    CHECK_THAT(bad.status().message(), Catch::Contains("holds a vector code no encoder writes"));
  }
  SECTION("a flipped byte is refused by the checksum") {
    std::string corrupt = bytes;
    corrupt[corrupt.size() / 3] ^= 0x40;
    { std::ofstream(second, std::ios::binary | std::ios::trunc) << corrupt; }
    auto bad = VectorSet::load(second);
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.status().message(), Catch::Contains("checksum"));
  }
  SECTION("a file that is not a snapshot is refused by its magic") {
    { std::ofstream(second, std::ios::binary | std::ios::trunc) << "hello, this is not a snapshot at all"; }
    auto bad = VectorSet::load(second);
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.status().message(), Catch::Contains("not a semcache vector-set snapshot"));
  }
  SECTION("a missing file is not_found") {
    CHECK(VectorSet::load(temp_path("missing.vset")).status().code() == ErrorCode::kNotFound);
  }
  std::remove(first.c_str());
  std::remove(second.c_str());
}

TEST_CASE("a snapshot in memory is the file's bytes and is validated the same way", "[vector_set][snapshot]") {
  const auto data = small_data(1500, 24, 10, 23);
  auto set = build(data.base, Quantization::kInt8, 1);
  std::vector<std::string> some;
  for (std::size_t i = 0; i < 100; ++i) some.push_back("id-" + std::to_string(i * 11));
  set->remove_batch(some);

  const std::string bytes = set->save_to_memory();
  auto loaded = VectorSet::load_from_memory(bytes, "buffer X");
  REQUIRE(loaded);
  CHECK((*loaded)->save_to_memory() == bytes);  // save -> load -> save: identical bytes
  CHECK((*loaded)->size() == set->size());
  const std::string path = temp_path("memory.vset");
  REQUIRE(set->save(path).is_ok());
  CHECK(read_file(path) == bytes);  // the file form writes exactly these bytes
  std::remove(path.c_str());
  SearchOptions so;
  so.k = 10;
  for (std::size_t q = 0; q < data.queries.rows; ++q) {
    auto a = set->search(row(data.queries, q), so);
    auto b = (*loaded)->search(row(data.queries, q), so);
    REQUIRE(a->size() == b->size());
    for (std::size_t i = 0; i < a->size(); ++i) CHECK((*a)[i].id == (*b)[i].id);
  }

  for (std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{40}, bytes.size() / 2, bytes.size() - 1}) {
    auto bad = VectorSet::load_from_memory(std::string_view(bytes).substr(0, cut), "buffer X");
    REQUIRE_FALSE(bad);
    CHECK(bad.status().code() == ErrorCode::kCorrupt);
    CHECK_THAT(bad.status().message(), Catch::StartsWith("buffer X: "));
  }
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x01;
  auto bad = VectorSet::load_from_memory(flipped, "buffer X");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.status().message(), Catch::Contains("buffer X: snapshot checksum mismatch"));
  std::string version = bytes;
  version[8] = 9;
  auto newer = VectorSet::load_from_memory(version, "buffer X");
  REQUIRE_FALSE(newer);
  CHECK_THAT(newer.status().message(), Catch::Contains("snapshot version 9 is not supported"));
}

TEST_CASE("searches run while one writer inserts and another deletes", "[vector_set][concurrency]") {
  const auto data = small_data(4000, 32, 50, 19);
  VectorSetOptions o;
  o.dim = 32;
  o.ef_construction = 64;
  auto set = std::move(VectorSet::create(o).value());
  const auto ids = row_ids(data.base.rows);
  // Start with half, then insert the rest while searching.
  REQUIRE(set->add_batch(std::span<const std::string>(ids).first(2000),
                         std::span<const float>(data.base.data).first(2000 * 32), {}, 2)
              .is_ok());
  std::atomic<bool> done{false};
  std::atomic<std::size_t> searches{0};
  std::atomic<std::size_t> bad_results{0};
  auto searcher = [&] {
    std::size_t q = 0;
    while (!done.load()) {
      SearchOptions so;
      so.k = 5;
      auto hits = set->search(row(data.queries, q++ % data.queries.rows), so);
      if (!hits || hits->size() != 5) ++bad_results;
      ++searches;
    }
  };
  std::thread s1(searcher), s2(searcher);
  for (std::size_t i = 2000; i < 4000; ++i) REQUIRE(set->add(ids[i], row(data.base, i)));
  for (std::size_t i = 0; i < 200; ++i) set->remove(ids[i * 3]);
  done = true;
  s1.join();
  s2.join();
  CHECK(bad_results == 0);
  CHECK(searches > 0);
  CHECK(set->size() == 3800);
  CHECK(recall_vs_exact(*set, data.queries, 10, 64) >= 0.95);
}

TEST_CASE("a parallel build reaches the same recall as a serial one", "[vector_set][concurrency]") {
  const auto data = small_data(4000, 32, 100, 23);
  auto serial = build(data.base, Quantization::kInt8, 1);
  auto parallel = build(data.base, Quantization::kInt8, 4);
  const double r1 = recall_vs_exact(*serial, data.queries, 10, 64);
  const double r4 = recall_vs_exact(*parallel, data.queries, 10, 64);
  CHECK(r1 >= 0.95);
  CHECK(r4 >= 0.95);
  CHECK(parallel->memory_bytes() > 4000 * 32);
}
