#pragma once
// A Hugging Face tokenizers `tokenizer.json` for the subword models that static embedding models
// ship: normalizer -> pre-tokenizer -> model (WordPiece, Unigram or WordLevel), giving the token
// ids that `Tokenizer.encode(text, add_special_tokens=False).ids` gives. The supported
// components, and where this differs from the reference, are listed at the top of the .cpp.
//
// Thread model: a loaded tokenizer is immutable; encode() and the other const members may be
// called from many threads at once. Copies share the loaded tables.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/status.hpp"

namespace semcache::detail {

struct SubwordTokenizerImpl;

class SubwordTokenizer {
 public:
  // Reads and checks the whole file; errors name the file and the offending component.
  static Expected<SubwordTokenizer> load(const std::string& path);
  // The same from the JSON text; `source` names it in error messages.
  static Expected<SubwordTokenizer> parse(std::string_view json, const std::string& source);

  // Appends the ids of the tokens of `text` to `ids`. Only the first `max_chars` characters
  // (Unicode code points) of the text are read. Invalid UTF-8 reads as U+FFFD.
  void encode(std::string_view text, std::vector<std::uint32_t>& ids,
              std::size_t max_chars = std::numeric_limits<std::size_t>::max()) const;

  // The stages on their own, UTF-8 in and out, for tests and diagnostics.
  std::string normalize(std::string_view text) const;
  std::vector<std::string> pre_tokenize(std::string_view text) const;  // after normalisation
  std::vector<std::string> tokenize(std::string_view text) const;      // token strings of encode()

  std::string_view model_type() const;  // "WordPiece", "Unigram" or "WordLevel"
  // Distinct tokens of the model's vocabulary and the added tokens (what HF get_vocab() counts).
  std::size_t vocab_size() const;
  std::uint32_t max_id() const;  // the largest id any token has
  std::optional<std::uint32_t> unk_id() const;
  std::optional<std::uint32_t> id_of(std::string_view token) const;
  // The token with this id ("" if no token has it).
  std::string_view token(std::uint32_t id) const;

 private:
  std::shared_ptr<const SubwordTokenizerImpl> impl_;
};

}  // namespace semcache::detail
