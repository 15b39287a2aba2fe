// Fuzz target: tokenizer.json (lib/src/embed/subword_tokenizer.cpp), SubwordTokenizer::parse()
// and, on every tokenizer that loads, encode() and its stages on fixed texts and on the raw
// input bytes (invalid UTF-8 included: encode() cannot fail).
//
// Invariants on a tokenizer that loads:
//   - encode() gives one id per token of tokenize(), each at most max_id(), and token(id) is
//     that token's text; it appends to the ids it is given and gives the same ids twice;
//   - normalize(), pre_tokenize() and tokenize() give valid UTF-8 whatever the text;
//   - encode(text, max_chars = n) equals encode() of the first n characters of the text.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "embed/subword_tokenizer.hpp"
#include "fuzz_common.hpp"

namespace {

namespace detail = semcache::detail;
using semcache::fuzz::printable;

constexpr std::string_view kTexts[] = {
    "The unaffable cat, PLAYING! $5 ¿qué?",
    "Café Été naïve résumé x中y 日本語  tabs\tand\nnewlines",
    "the▁cat  hello   world!!  42 a,,b c! aaaaaaaaaaa",
    "ÅΣΑΣ İstanbul ﬁ ① ＡＢＣ e\xcc\x81 \xe2\x82\xac",
    "",
};

// Byte length of the first `chars` code points of valid UTF-8 text.
std::size_t prefix_bytes(std::string_view text, std::size_t chars) {
  std::size_t i = 0;
  for (std::size_t n = 0; n < chars && i < text.size(); ++n) {
    const auto lead = static_cast<unsigned char>(text[i]);
    i += lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  }
  return i;
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c < 0xE0) {
      length = 2, code = c & 0x1F;
    } else if (c >= 0xE0 && c < 0xF0) {
      length = 3, code = c & 0x0F;
    } else if (c >= 0xF0 && c < 0xF5) {
      length = 4, code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    const std::uint32_t minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

void check_text(const detail::SubwordTokenizer& tokenizer, std::string_view text, bool text_is_valid_utf8) {
  std::vector<std::uint32_t> ids = {0xdeadbeef};
  tokenizer.encode(text, ids);
  FUZZ_CHECK(!ids.empty() && ids.front() == 0xdeadbeef, "encode() did not append");
  ids.erase(ids.begin());
  std::vector<std::uint32_t> again;
  tokenizer.encode(text, again);
  FUZZ_CHECK(again == ids, "encode() changed its mind on '" + printable(text) + "'");

  const std::vector<std::string> tokens = tokenizer.tokenize(text);
  FUZZ_CHECK(tokens.size() == ids.size(), std::to_string(tokens.size()) + " tokens but " + std::to_string(ids.size()) +
                                              " ids for '" + printable(text) + "'");
  for (std::size_t i = 0; i < ids.size(); ++i) {
    FUZZ_CHECK(ids[i] <= tokenizer.max_id(), "id " + std::to_string(ids[i]) + " above max_id()");
    FUZZ_CHECK(tokenizer.token(ids[i]) == tokens[i], "token(" + std::to_string(ids[i]) + ") is '" +
                                                         printable(tokenizer.token(ids[i])) + "', tokenize() gave '" +
                                                         printable(tokens[i]) + "'");
    FUZZ_CHECK(valid_utf8(tokens[i]), "token '" + printable(tokens[i]) + "' is not UTF-8");
  }
  FUZZ_CHECK(valid_utf8(tokenizer.normalize(text)), "normalize() gave invalid UTF-8 for '" + printable(text) + "'");
  for (const std::string& piece : tokenizer.pre_tokenize(text)) {
    FUZZ_CHECK(valid_utf8(piece), "pre_tokenize() gave invalid UTF-8 for '" + printable(text) + "'");
  }

  if (!text_is_valid_utf8) return;
  for (std::size_t chars : {std::size_t{0}, std::size_t{3}, std::size_t{11}}) {
    std::vector<std::uint32_t> limited;
    tokenizer.encode(text, limited, chars);
    std::vector<std::uint32_t> of_prefix;
    tokenizer.encode(text.substr(0, prefix_bytes(text, chars)), of_prefix);
    FUZZ_CHECK(limited == of_prefix, "max_chars " + std::to_string(chars) + " differs from a cut text on '" + printable(text) + "'");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json = semcache::fuzz::as_text(data, size);
  const auto parsed = detail::SubwordTokenizer::parse(json, "fuzz/tokenizer.json");
  if (!parsed) {
    FUZZ_CHECK(parsed.status().message().starts_with("fuzz/tokenizer.json"), "error does not name the input: " + parsed.status().message());
    return 0;
  }
  const std::string_view type = parsed->model_type();
  FUZZ_CHECK(type == "WordPiece" || type == "Unigram" || type == "WordLevel", "model_type() is '" + printable(type) + "'");
  if (const auto unk = parsed->unk_id()) FUZZ_CHECK(*unk <= parsed->max_id(), "unk_id() above max_id()");
  for (std::string_view text : kTexts) check_text(*parsed, text, true);
  const std::string_view raw = json.substr(0, 256);
  check_text(*parsed, raw, valid_utf8(raw));
  return 0;
}
