// The glove embedder's tokenizer. GloVe 6B was trained on Wikipedia and Gigaword text cut by the
// Stanford tokenizer (Penn Treebank conventions) and lower-cased, so a word vector exists for the
// tokens that tokenizer produces, and the way to find the most vectors for a prompt is to cut it
// the same way:
//
//   - ASCII letters and digits and the bytes of non-ASCII characters form words; ASCII letters
//     and the upper-case Latin-1 letters (U+00C0..U+00DE but U+00D7) are lower-cased.
//   - Clitics are split off as their own tokens: "don't" -> "do" "n't", "can't" -> "ca" "n't",
//     "won't" -> "wo" "n't", "it's" -> "it" "'s", and likewise "'re" "'m" "'ve" "'ll" "'d".
//     Another apostrophe inside a word keeps the word whole ("o'neil"). U+2019 counts as an
//     apostrophe and becomes "'". An apostrophe that is not inside a word is its own token.
//   - A hyphen between two word characters stays in the word ("e-mail", "well-known": both have
//     vectors); "." and "," between two digits stay in the number ("3.5", "1,000").
//   - Every other ASCII punctuation character is a token of its own ("?", "(", "$"), except a run
//     of two or more dots, which is one token "...". The typographic quotes, dashes and ellipsis
//     (U+2018 U+201C U+201D U+2013 U+2014 U+2026) are tokens of their own too.
//   - Whitespace, control characters and U+00A0 separate tokens and are dropped.
//
// What the tokenizer does not do: it does not know the vocabulary. Mapping tokens that the
// vector file lacks (the wink copy of GloVe dropped "n't", "'s", numbers and one-letter words) is
// the embedder's business (glove_embedder.cpp). Unlike the Stanford tokenizer it does not keep
// abbreviations such as "u.s." or "mr." whole: the wink vocabulary has none of them, so "."
// between letters is punctuation.
//
// Invalid UTF-8 is not an error: a byte that does not start a sequence we recognise is part of a
// word, like every other non-ASCII byte, so any input gives some tokens and never fails.

#include "embed/word_tokenizer.hpp"

namespace semcache::detail {

namespace {

bool is_ascii_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_space(unsigned char c) { return c <= ' ' || c == 0x7f; }

// The byte at i of a text, 0 past the end (0 is a separator, so "past the end" ends a word).
unsigned char at(std::string_view text, std::size_t i) { return i < text.size() ? static_cast<unsigned char>(text[i]) : 0; }

// What a character that starts at a byte >= 0x80 is, for the tokenizer.
enum class Wide { kApostrophe, kPunctuation, kSpace, kWord };

Wide classify_wide(std::string_view text, std::size_t i, std::size_t& length) {
  const unsigned char c = at(text, i);
  if (c == 0xE2 && at(text, i + 1) == 0x80) {
    length = 3;
    switch (at(text, i + 2)) {
      case 0x99: return Wide::kApostrophe;                  // U+2019
      case 0x98: case 0x9C: case 0x9D: case 0x93: case 0x94: case 0xA6:
        return Wide::kPunctuation;                          // U+2018 U+201C U+201D U+2013 U+2014 U+2026
      default: break;
    }
  }
  if (c == 0xC2 && at(text, i + 1) == 0xA0) {
    length = 2;
    return Wide::kSpace;
  }
  length = 1;
  return Wide::kWord;
}

// Whether a word character starts at i: an ASCII letter or digit, or a non-ASCII character that
// is neither punctuation nor space nor an apostrophe.
bool word_char_at(std::string_view text, std::size_t i) {
  const unsigned char c = at(text, i);
  if (c < 0x80) return is_ascii_alnum(c);
  std::size_t length = 0;
  return classify_wide(text, i, length) == Wide::kWord;
}

}  // namespace

void WordTokens::push(std::string_view token) {
  spans_.push_back({buffer_.size(), token.size()});
  buffer_.append(token);
}

// The word in buffer_[start, end): splits a clitic off its end (see the top of the file).
void WordTokens::push_word(std::size_t start) {
  const std::size_t end = buffer_.size();
  if (start == end) return;
  const std::string_view word = std::string_view(buffer_).substr(start);
  const std::size_t last = word.rfind('\'');
  std::size_t split = word.size();
  if (last != std::string_view::npos) {
    const std::string_view suffix = word.substr(last + 1);
    if (word.size() > 3 && word.ends_with("n't") && word[word.size() - 4] != '\'') {
      split = word.size() - 3;
    } else if (last > 0 && (suffix == "s" || suffix == "re" || suffix == "m" || suffix == "ve" || suffix == "ll" ||
                            suffix == "d")) {
      split = last;
    }
  }
  spans_.push_back({start, split});
  if (split < word.size()) spans_.push_back({start + split, word.size() - split});
}

void WordTokens::tokenize(std::string_view text) {
  buffer_.clear();
  spans_.clear();
  buffer_.reserve(text.size() + 16);
  // The word being built starts at buffer_[word_start]; it is empty when word_start == size.
  std::size_t word_start = 0;
  auto in_word = [&] { return buffer_.size() > word_start; };
  auto end_word = [&] {
    push_word(word_start);
    word_start = buffer_.size();
  };
  auto punctuation = [&](std::string_view token) {
    end_word();
    push(token);
    word_start = buffer_.size();
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = at(text, i);
    if (is_ascii_alnum(c)) {
      buffer_.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : static_cast<char>(c));
      ++i;
      continue;
    }
    if (c >= 0x80) {
      std::size_t length = 1;
      switch (classify_wide(text, i, length)) {
        case Wide::kApostrophe:
          break;  // below, with the ASCII apostrophe
        case Wide::kPunctuation:
          punctuation(text.substr(i, length));
          i += length;
          continue;
        case Wide::kSpace:
          end_word();
          i += length;
          continue;
        case Wide::kWord:
          // U+00C0..U+00DE (but U+00D7, the multiplication sign) lower-case by adding 0x20 to
          // their second byte.
          if (c == 0xC3 && i + 1 < text.size()) {
            const unsigned char next = at(text, i + 1);
            buffer_.push_back(static_cast<char>(c));
            buffer_.push_back(static_cast<char>(next >= 0x80 && next <= 0x9E && next != 0x97 ? next + 0x20 : next));
            i += 2;
          } else {
            buffer_.push_back(static_cast<char>(c));
            ++i;
          }
          continue;
      }
    }
    if (c == '\'' || c >= 0x80) {  // an apostrophe: ASCII or U+2019
      const std::size_t length = c == '\'' ? 1 : 3;
      if (in_word() && word_char_at(text, i + length)) {
        buffer_.push_back('\'');
      } else {
        punctuation("'");
      }
      i += length;
      continue;
    }
    if (is_space(c)) {
      end_word();
      ++i;
      continue;
    }
    if (c == '-' && in_word() && is_ascii_alnum(at(text, i + 1))) {
      buffer_.push_back('-');
      ++i;
      continue;
    }
    if ((c == '.' || c == ',') && in_word() && is_digit(static_cast<unsigned char>(buffer_.back())) &&
        is_digit(at(text, i + 1))) {
      buffer_.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c == '.' && at(text, i + 1) == '.') {
      while (at(text, i) == '.') ++i;
      punctuation("...");
      continue;
    }
    punctuation(text.substr(i, 1));
    ++i;
  }
  end_word();
}

std::vector<std::string> WordTokens::to_strings() const {
  std::vector<std::string> tokens;
  tokens.reserve(size());
  for (std::size_t i = 0; i < size(); ++i) tokens.emplace_back((*this)[i]);
  return tokens;
}

std::vector<std::string> tokenize_words(std::string_view text) {
  WordTokens tokens;
  tokens.tokenize(text);
  return tokens.to_strings();
}

}  // namespace semcache::detail
