// Fuzz target: the binary formats that other processes read back from Redis, all internal:
// the change-log event codec and the entry layout (lib/src/cache/entry_record.cpp) and the
// store's record codec (lib/src/store/record_codec.cpp). They share a target because each
// decoder is a few lines over the same kind of length-prefixed bytes; every input goes
// through all of them.
//
// Invariants:
//   - decode then encode gives back the input byte for byte (both formats have exactly one
//     encoding per value: a decoder that accepts anything else would misread a foreign value);
//   - a decoded record that holds an entry gives the same entry after make_entry_record();
//   - encode then decode gives back an event / a record / a vector / a percent-encoded name
//     built from the input.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/entry_record.hpp"
#include "fuzz_common.hpp"
#include "store/record_codec.hpp"

namespace {

namespace detail = semcache::detail;
using semcache::fuzz::printable;

bool same_event(const detail::ChangeEvent& a, const detail::ChangeEvent& b) {
  return a.kind == b.kind && a.writer == b.writer && a.ids == b.ids && a.identity == b.identity &&
         a.vector_bytes == b.vector_bytes;
}

bool same_entry(const semcache::CacheEntry& a, const semcache::CacheEntry& b) {
  return a.key == b.key && a.model == b.model && a.tenant == b.tenant && a.canonical == b.canonical && a.text == b.text &&
         a.response == b.response && a.attributes_json == b.attributes_json && a.created_ms == b.created_ms &&
         a.hits == b.hits;
}

void check_decoders(std::string_view bytes) {
  if (auto event = detail::decode_event(bytes)) {
    const std::string again = detail::encode_event(*event);
    FUZZ_CHECK(again == bytes, "event re-encodes differently: '" + printable(bytes) + "' -> '" + printable(again) + "'");
  } else {
    FUZZ_CHECK(event.status().message().starts_with("change-log event: "), event.status().message());
  }

  const auto stored = detail::decode_record(bytes);
  if (!stored || !stored->record) return;
  const semcache::Record* record = &*stored->record;
  std::string again;
  detail::encode_record(*record, again, stored->hits);
  FUZZ_CHECK(again == bytes, "record re-encodes differently: '" + printable(bytes) + "' -> '" + printable(again) + "'");

  const auto entry = detail::entry_from_record("key", *record, 7);
  if (!entry) return;
  const semcache::CacheRequest request{entry->model, entry->tenant, entry->canonical, entry->text, {}};
  const semcache::Record rebuilt =
      detail::make_entry_record(request, entry->response, entry->attributes_json, entry->created_ms, {}, {});
  const auto entry_again = detail::entry_from_record("key", rebuilt, 7);
  FUZZ_CHECK(entry_again && same_entry(*entry, *entry_again), "make_entry_record() does not keep a decoded entry");
  FUZZ_CHECK(detail::record_matches(rebuilt, entry->tenant, entry->model), "an entry does not match its own tenant and model");
}

void check_encoders(FuzzedDataProvider& input) {
  detail::ChangeEvent event;
  event.kind = input.PickValueInArray({detail::EventKind::kAdd, detail::EventKind::kDel, detail::EventKind::kDrop});
  event.writer = input.ConsumeIntegral<std::uint64_t>();
  if (event.kind == detail::EventKind::kAdd) {
    event.ids.push_back(input.ConsumeRandomLengthString(64));
    event.identity = input.ConsumeRandomLengthString(64);
    event.vector_bytes = input.ConsumeRandomLengthString(256);
  } else if (event.kind == detail::EventKind::kDel) {
    const std::size_t count = input.ConsumeIntegralInRange<std::size_t>(0, 8);
    for (std::size_t i = 0; i < count; ++i) event.ids.push_back(input.ConsumeRandomLengthString(64));
  }
  const std::string payload = detail::encode_event(event);
  const auto decoded = detail::decode_event(payload);
  FUZZ_CHECK(decoded && same_event(*decoded, event),
             "an encoded event does not decode to itself: '" + printable(payload) + "' " +
                 (decoded ? std::string("differs") : decoded.status().message()));

  semcache::Record record;
  const std::size_t fields = input.ConsumeIntegralInRange<std::size_t>(0, 6);
  for (std::size_t i = 0; i < fields; ++i) {
    std::string name = input.ConsumeRandomLengthString(16) + "#" + std::to_string(i);  // unique, as Record requires
    record.emplace_back(std::move(name), input.ConsumeRandomLengthString(128));
  }
  const std::int64_t hits = input.ConsumeIntegral<std::int64_t>();
  std::string bytes;
  detail::encode_record(record, bytes, hits);
  const auto record_again = detail::decode_record(bytes);
  FUZZ_CHECK(record_again && record_again->record && *record_again->record == record && record_again->hits == hits,
             "an encoded record does not decode to itself: '" + printable(bytes) + "'");

  const std::string name = input.ConsumeRandomLengthString(64);
  const auto name_again = detail::percent_decode(detail::percent_encode(name));
  FUZZ_CHECK(name_again && *name_again == name, "percent_encode() does not invert: '" + printable(name) + "'");

  std::vector<float> vector;
  while (vector.size() < 16 && input.remaining_bytes() >= 4) {
    vector.push_back(std::bit_cast<float>(input.ConsumeIntegral<std::uint32_t>()));
  }
  const std::string vector_bytes = detail::encode_vector(vector);
  const auto vector_again = detail::decode_vector(vector_bytes, vector.size());
  FUZZ_CHECK(vector_again && vector_again->size() == vector.size() &&
                 std::equal(vector.begin(), vector.end(), vector_again->begin(),
                            [](float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }),
             "encode_vector() does not invert bit for bit");
  FUZZ_CHECK(!detail::decode_vector(vector_bytes + "x", vector.size()), "decode_vector() accepts a wrong byte count");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_decoders(semcache::fuzz::as_text(data, size));
  FuzzedDataProvider input(data, size);
  check_encoders(input);
  return 0;
}
