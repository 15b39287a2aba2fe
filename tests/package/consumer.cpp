// Builds against the installed headers and library only: a vector set, a search, a filter.
#include <cstdio>
#include <vector>

#include <semcache/vector_set.hpp>

int main() {
  semcache::VectorSetOptions options;
  options.dim = 3;
  auto set = semcache::VectorSet::create(options);
  if (!set) return 1;
  const std::vector<float> a{1, 0, 0}, b{0, 1, 0};
  if (!(*set)->add("a", a, R"({"tag": "x"})") || !(*set)->add("b", b, R"({"tag": "y"})")) return 1;
  auto filter = semcache::Filter::parse(R"(.tag == "y")");
  if (!filter) return 1;
  semcache::SearchOptions search;
  search.k = 1;
  search.filter = &*filter;
  auto hits = (*set)->search(a, search);
  if (!hits || hits->size() != 1 || (*hits)[0].id != "b") return 1;
  std::printf("consumer: found %s\n", (*hits)[0].id.c_str());
  return 0;
}
