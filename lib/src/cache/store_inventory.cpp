// describe_namespaces(): the operator's view of what one cache name holds in a store (the
// `semcache cache stats` command). It scans the name's entry keys ("PREFIX:NAME:MODEL:e:ID")
// and its bookkeeping keys ("PREFIX:{NAME:MODEL}:..."), so a namespace whose entries all
// expired still shows its log and snapshot. For each model it reads one vector entry (its dim
// and vector identity: what a Cache must be opened with to index them), the log's last id and
// the snapshot manifest. Nothing is written.

#include <map>

#include "cache/entry_record.hpp"
#include "cache/namespace_snapshot.hpp"
#include "semcache/cache.hpp"

namespace semcache {

Expected<std::vector<StoredNamespace>> describe_namespaces(Store& store, std::string_view prefix,
                                                           std::string_view name) {
  struct Found {
    std::uint64_t entries = 0;
    std::vector<std::string> sample;  // a few entry keys, to find a vector entry among them
  };
  std::map<std::string, Found> models;  // encoded model -> what was found
  const std::string entries_prefix = detail::name_prefix(prefix, name);
  Status scanned = store.scan(entries_prefix, 1000, [&](std::span<const std::string> keys) {
    for (const std::string& key : keys) {
      const std::string_view rest = std::string_view(key).substr(entries_prefix.size());
      const std::size_t e = rest.find(":e:");
      if (e == std::string_view::npos) continue;
      Found& found = models[std::string(rest.substr(0, e))];
      ++found.entries;
      if (found.sample.size() < 8) found.sample.push_back(key);
    }
    return Status::ok();
  });
  if (!scanned) return scanned.with_context("listing the entries of " + entries_prefix);
  const std::string tagged_prefix = std::string(prefix) + ":{" + detail::percent_encode(name) + ":";
  scanned = store.scan(tagged_prefix, 1000, [&](std::span<const std::string> keys) {
    for (const std::string& key : keys) {
      const std::string_view rest = std::string_view(key).substr(tagged_prefix.size());
      const std::size_t close = rest.find('}');
      if (close != std::string_view::npos) models[std::string(rest.substr(0, close))];
    }
    return Status::ok();
  });
  if (!scanned) return scanned.with_context("listing the change logs and snapshots of " + tagged_prefix);

  std::vector<StoredNamespace> out;
  for (auto& [encoded, found] : models) {
    auto model = detail::percent_decode(encoded);
    if (!model) continue;  // not a key this code wrote
    const detail::NamespaceKeys keys = detail::namespace_keys(prefix, name, *model);
    StoredNamespace ns;
    ns.model = *model;
    ns.entries = found.entries;
    auto records = store.read(found.sample);
    if (!records) return records.status().with_context("reading entries of namespace " + keys.key);
    for (const auto& record : *records) {
      const std::string* vector = record ? find_field(*record, detail::field::kVector) : nullptr;
      const std::string* identity = record ? find_field(*record, detail::field::kIdentity) : nullptr;
      if (vector == nullptr || identity == nullptr) continue;
      ns.dim = vector->size() / sizeof(float);
      ns.vector_identity = *identity;
      break;
    }
    auto last = store.log_last_id(keys.log_key);
    if (!last) return last.status().with_context("reading the change log of namespace " + keys.key);
    ns.log_last_id = *last;
    auto manifest = detail::read_snapshot_manifest(store, keys);
    if (manifest && manifest->has_value()) {
      ns.snapshot = detail::to_snapshot_info(*model, **manifest);
    } else if (!manifest) {
      if (manifest.status().code() != ErrorCode::kCorrupt) return manifest.status();
      ns.snapshot_error = manifest.status().message();
    }
    out.push_back(std::move(ns));
  }
  return out;
}

}  // namespace semcache
