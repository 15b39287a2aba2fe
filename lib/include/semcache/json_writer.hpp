#pragma once
// A small streaming JSON writer for result files: indented, keys in the order written,
// strings escaped, non-finite numbers written as null (JSON has no NaN).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace semcache {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(double number);
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(std::uint64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(bool flag);
  JsonWriter& null();
  // Inserts already-serialised JSON as one value.
  JsonWriter& raw(std::string_view json);

  const std::string& str() const { return out_; }

 private:
  void before_value();
  void newline();
  std::string out_;
  std::vector<bool> first_;  // one entry per open container: nothing written in it yet
  bool after_key_ = false;
};

std::string json_escape(std::string_view text);

}  // namespace semcache
