#pragma once
// A name (tensor, token, field) as messages of the embed layer quote it: "name".

#include <string>
#include <string_view>

namespace semcache::detail {

inline std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace semcache::detail
