#pragma once
// The word tokenizer of the glove embedder: the Penn Treebank conventions of the Stanford
// tokenizer that GloVe 6B was trained on, lower-cased (see word_tokenizer.cpp for the rules).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace semcache::detail {

// The tokens of one text. Their bytes live in buffer_, so a token is valid until the next
// tokenize() on the same object; reusing one object per thread avoids allocating per text.
class WordTokens {
 public:
  // Replaces the tokens with those of `text`.
  void tokenize(std::string_view text);

  std::size_t size() const { return spans_.size(); }
  std::string_view operator[](std::size_t i) const {
    return std::string_view(buffer_).substr(spans_[i].offset, spans_[i].length);
  }
  std::vector<std::string> to_strings() const;

 private:
  struct Span {
    std::size_t offset;
    std::size_t length;
  };
  void push(std::string_view token);
  void push_word(std::size_t start);
  std::string buffer_;
  std::vector<Span> spans_;
};

// Convenience for tests and tools: the tokens of `text` as strings.
std::vector<std::string> tokenize_words(std::string_view text);

}  // namespace semcache::detail
