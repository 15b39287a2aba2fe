// tokenizer.json (Hugging Face tokenizers) for static embedding models: our own implementation
// of the parts those models use, following the reference's semantics so that a model2vec model
// sees the same token ids here as in Python.
//
// Pipeline (encode): UTF-8 -> code points -> normalizer -> pre-tokenizer (a list of pieces) ->
// model (ids per piece) -> truncation. Text is held as UTF-32 through normalisation and
// pre-tokenisation, because every rule there is per character (categories, case, accents);
// the models work on the UTF-8 bytes of each piece at character boundaries, since the
// vocabularies are UTF-8 strings.
//
// Supported components (anything else is a load error that lists these):
//   normalizers    BertNormalizer (clean_text, handle_chinese_chars, strip_accents, lowercase),
//                  Lowercase, StripAccents, NFC, NFD, NFKC, NFKD, Strip, Prepend, Replace (a
//                  String pattern, or one of the Regex patterns "\s+" and " {2,}"), Sequence.
//   pre-tokenizers BertPreTokenizer, Whitespace, WhitespaceSplit, Punctuation, Digits,
//                  Metaspace, Sequence.
//   models         WordPiece, Unigram, WordLevel.
// Unicode data (categories, White_Space, case mapping, normal forms) comes from ICU, which
// tracks the same Unicode versions the Rust crates do; we do not carry our own tables.
//
// Semantics worth knowing, as in the reference:
//   - StripAccents drops every mark (M*), while BertNormalizer's strip_accents drops only Mn.
//   - BertNormalizer: clean_text drops NUL, U+FFFD and "other" characters (Cc, Cf, Cn, Co, Cs)
//     except \t \n \r, and turns White_Space into ' '; handle_chinese_chars pads CJK ideographs
//     with spaces; strip_accents (default: the value of lowercase) is NFD then dropping Mn; then
//     lowercase. Lower-casing is per character (no final-sigma rule), as Rust's
//     char::to_lowercase: ICU's simple mapping plus the one unconditional multi-character
//     mapping, U+0130 -> "i\u0307".
//   - BertPreTokenizer: split on White_Space (removed) and on punctuation (isolated), where
//     punctuation is ASCII punctuation or any P* category.
//   - Whitespace: the regex \w+|[^\w\s]+ (word = letters, marks, Nd, Pc).
//   - Metaspace: ' ' -> replacement; prepend the replacement ("prepend_scheme" always / first /
//     never, or the older "add_prefix_space") unless the piece already starts with it; with
//     "split" (default true) split before each replacement character.
//   - WordPiece: greedy longest-match-first per piece, "##" (continuing_subword_prefix) on
//     non-initial pieces; a piece longer than max_input_chars_per_word characters, or one that
//     cannot be covered, becomes the single unk token.
//   - Unigram: Viterbi over the piece log-probabilities; a character no piece of length one
//     covers gets the unk score (the lowest score - 10); consecutive unknown characters fuse
//     into one unk token, which byte_fallback turns into its "<0xXX>" byte pieces when all exist.
//     Ties keep the first path found (the one whose last piece starts earliest), as the
//     reference's optimised encoder does.
//   - WordLevel: the whole piece or unk.
//   - "truncation" {max_length, direction} is honoured; post-processor, padding and decoder
//     play no part in encode(add_special_tokens=False) ids and are ignored.
// Known differences: added tokens are not split out of the raw text before normalisation
// (text that literally contains "[CLS]" is tokenised as ordinary characters; model2vec models
// keep only [UNK] and [PAD] as added tokens, which never occur in prompts), and a Unigram model
// without unk_id drops unknown characters where the reference raises an error.
//
// Checked against the reference (Hugging Face tokenizers 0.23.2): 3,500 random texts (mixed
// scripts, marks, controls, odd spaces) through seven tokenizer layouts covering every component
// above, and 3,000 more through three tie-heavy Unigram and long-word WordPiece layouts, gave the
// same ids on every text; test_subword_tokenizer.cpp keeps a golden excerpt of such a run.
//
// Robustness: tokenizer.json is untrusted input. Every field is type-checked, ids are checked
// for range, and the load either gives a usable tokenizer or a bad_input Status naming the file
// and the component; encode() cannot fail.

#include "embed/subword_tokenizer.hpp"

#include <simdjson.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <unordered_map>
#include <utility>
#include <variant>

#include "io/mapped_file.hpp"
#include "embed/in_quotes.hpp"

namespace semcache::detail {

namespace {

constexpr char32_t kReplacementChar = 0xFFFD;
constexpr double kUnkPenalty = 10.0;  // the reference's K_UNK_PENALTY

// ---- UTF-8 <-> UTF-32 ------------------------------------------------------------------------

// Decodes UTF-8; each maximal invalid subsequence becomes one U+FFFD. Stops after max_chars.
std::u32string decode_utf8(std::string_view text, std::size_t max_chars) {
  std::u32string out;
  out.reserve(std::min(text.size(), max_chars));
  std::size_t i = 0;
  while (i < text.size() && out.size() < max_chars) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    std::size_t length = 0;
    char32_t cp = 0;
    char32_t min_cp = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = 2, cp = b0 & 0x1F, min_cp = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      length = 3, cp = b0 & 0x0F, min_cp = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      length = 4, cp = b0 & 0x07, min_cp = 0x10000;
    }
    std::size_t used = 1;
    bool valid = length != 0;
    for (; valid && used < length; ++used) {
      if (i + used >= text.size()) {
        valid = false;
        break;
      }
      const auto b = static_cast<unsigned char>(text[i + used]);
      if ((b & 0xC0) != 0x80) {
        valid = false;
        break;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    if (valid && (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) valid = false;
    out.push_back(valid ? cp : kReplacementChar);
    i += valid ? length : std::max<std::size_t>(1, used);
  }
  return out;
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char32_t cp : text) append_utf8(cp, out);
  return out;
}

// ---- character classes (ICU) -----------------------------------------------------------------

UChar32 as_uchar(char32_t c) { return static_cast<UChar32>(c); }

bool is_whitespace(char32_t c) { return c == '\t' || c == '\n' || c == '\r' || u_isUWhiteSpace(as_uchar(c)); }

bool is_other(char32_t c) { return (U_GET_GC_MASK(as_uchar(c)) & U_GC_C_MASK) != 0; }

bool is_control(char32_t c) { return c != '\t' && c != '\n' && c != '\r' && is_other(c); }

bool is_nonspacing_mark(char32_t c) { return u_charType(as_uchar(c)) == U_NON_SPACING_MARK; }

bool is_ascii_punctuation(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

bool is_bert_punctuation(char32_t c) {
  return is_ascii_punctuation(c) || (U_GET_GC_MASK(as_uchar(c)) & U_GC_P_MASK) != 0;
}

bool is_word_char(char32_t c) {
  return (U_GET_GC_MASK(as_uchar(c)) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

bool is_numeric(char32_t c) { return (U_GET_GC_MASK(as_uchar(c)) & U_GC_N_MASK) != 0; }

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void lowercase(std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (const char32_t c : text) {
    if (c == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: the one multi-character mapping
      out.push_back('i');
      out.push_back(0x307);
    } else {
      out.push_back(static_cast<char32_t>(u_tolower(as_uchar(c))));
    }
  }
  text = std::move(out);
}

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };

// Unicode normalisation through ICU, which works on UTF-16.
void normalize_form(std::u32string& text, NormalForm form) {
  UErrorCode error = U_ZERO_ERROR;
  const UNormalizer2* normalizer = form == NormalForm::kNfc    ? unorm2_getNFCInstance(&error)
                                   : form == NormalForm::kNfd  ? unorm2_getNFDInstance(&error)
                                   : form == NormalForm::kNfkc ? unorm2_getNFKCInstance(&error)
                                                               : unorm2_getNFKDInstance(&error);
  if (U_FAILURE(error) || text.empty()) return;
  std::u16string source;
  source.reserve(text.size());
  for (const char32_t c : text) {
    if (c >= 0x10000) {
      source.push_back(static_cast<char16_t>(0xD800 + ((c - 0x10000) >> 10)));
      source.push_back(static_cast<char16_t>(0xDC00 + ((c - 0x10000) & 0x3FF)));
    } else {
      source.push_back(static_cast<char16_t>(c));
    }
  }
  std::u16string result(source.size() * 3 + 16, u'\0');
  const auto length = static_cast<int32_t>(source.size());
  int32_t written = unorm2_normalize(normalizer, source.data(), length, result.data(),
                                     static_cast<int32_t>(result.size()), &error);
  if (error == U_BUFFER_OVERFLOW_ERROR) {
    error = U_ZERO_ERROR;
    result.assign(static_cast<std::size_t>(written), u'\0');
    written = unorm2_normalize(normalizer, source.data(), length, result.data(), written, &error);
  }
  if (U_FAILURE(error)) return;  // only on allocation failure inside ICU: keep the text as is
  std::u32string out;
  out.reserve(static_cast<std::size_t>(written));
  for (int32_t i = 0; i < written; ++i) {
    const char16_t unit = result[static_cast<std::size_t>(i)];
    if (unit >= 0xD800 && unit <= 0xDBFF && i + 1 < written) {
      const char16_t low = result[static_cast<std::size_t>(i + 1)];
      out.push_back(0x10000 + ((static_cast<char32_t>(unit) - 0xD800) << 10) + (static_cast<char32_t>(low) - 0xDC00));
      ++i;
    } else {
      out.push_back(unit);
    }
  }
  text = std::move(out);
}

// ---- normalizers -----------------------------------------------------------------------------

struct BertNormalizer {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;  // resolved: the JSON's null means "as lowercase"
  bool lowercase = true;
};
struct LowercaseStep {};
struct StripAccentsStep {};
struct NormalFormStep {
  NormalForm form;
};
struct StripStep {
  bool left = true;
  bool right = true;
};
struct PrependStep {
  std::u32string prefix;
};
enum class ReplaceRegex { kNone, kWhitespaceRun, kSpaceRun };  // literal, "\s+", " {2,}"
struct ReplaceStep {
  std::u32string pattern;
  ReplaceRegex regex = ReplaceRegex::kNone;
  std::u32string content;
};
using NormalizerStep =
    std::variant<BertNormalizer, LowercaseStep, StripAccentsStep, NormalFormStep, StripStep, PrependStep, ReplaceStep>;

// The StripAccents normaliser drops every mark (M*: Mn, Mc, Me); BertNormalizer drops only Mn.
bool is_mark(char32_t c) { return (U_GET_GC_MASK(as_uchar(c)) & U_GC_M_MASK) != 0; }

void apply(const BertNormalizer& bert, std::u32string& text) {
  if (bert.clean_text) {
    std::u32string out;
    out.reserve(text.size());
    for (const char32_t c : text) {
      if (c == 0 || c == kReplacementChar || is_control(c)) continue;
      out.push_back(is_whitespace(c) ? U' ' : c);
    }
    text = std::move(out);
  }
  if (bert.handle_chinese_chars) {
    std::u32string out;
    out.reserve(text.size());
    for (const char32_t c : text) {
      if (is_chinese_char(c)) {
        out.push_back(' ');
        out.push_back(c);
        out.push_back(' ');
      } else {
        out.push_back(c);
      }
    }
    text = std::move(out);
  }
  if (bert.strip_accents) {
    normalize_form(text, NormalForm::kNfd);
    std::erase_if(text, is_nonspacing_mark);
  }
  if (bert.lowercase) lowercase(text);
}

void apply(const ReplaceStep& replace, std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t match = 0;  // length of the match at i, 0 for none
    switch (replace.regex) {
      case ReplaceRegex::kNone:
        if (text.compare(i, replace.pattern.size(), replace.pattern) == 0) match = replace.pattern.size();
        break;
      case ReplaceRegex::kWhitespaceRun:
        while (i + match < text.size() && is_whitespace(text[i + match])) ++match;
        break;
      case ReplaceRegex::kSpaceRun:
        while (i + match < text.size() && text[i + match] == ' ') ++match;
        if (match < 2) match = 0;
        break;
    }
    if (match > 0) {
      out += replace.content;
      i += match;
    } else {
      out.push_back(text[i]);
      ++i;
    }
  }
  text = std::move(out);
}

void apply_step(const NormalizerStep& step, std::u32string& text) {
  if (const auto* bert = std::get_if<BertNormalizer>(&step)) {
    apply(*bert, text);
  } else if (std::holds_alternative<LowercaseStep>(step)) {
    lowercase(text);
  } else if (std::holds_alternative<StripAccentsStep>(step)) {
    std::erase_if(text, is_mark);
  } else if (const auto* form = std::get_if<NormalFormStep>(&step)) {
    normalize_form(text, form->form);
  } else if (const auto* strip = std::get_if<StripStep>(&step)) {
    std::size_t begin = 0;
    std::size_t end = text.size();
    if (strip->left) {
      while (begin < end && is_whitespace(text[begin])) ++begin;
    }
    if (strip->right) {
      while (end > begin && is_whitespace(text[end - 1])) --end;
    }
    text = text.substr(begin, end - begin);
  } else if (const auto* prepend = std::get_if<PrependStep>(&step)) {
    if (!text.empty()) text.insert(0, prepend->prefix);
  } else if (const auto* replace = std::get_if<ReplaceStep>(&step)) {
    apply(*replace, text);
  }
}

// ---- pre-tokenizers --------------------------------------------------------------------------

// A piece of the normalised text; at_start: it begins at the start of the text (Metaspace's
// prepend_scheme "first" prepends only there).
struct Piece {
  std::u32string text;
  bool at_start = false;
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Splits each piece where is_delimiter holds, treating each delimiter character as one match.
template <typename Predicate>
std::vector<Piece> split_pieces(const std::vector<Piece>& pieces, SplitBehavior behavior, Predicate is_delimiter) {
  std::vector<Piece> out;
  for (const Piece& piece : pieces) {
    std::u32string current;
    std::size_t current_begin = 0;
    bool current_is_delimiter = false;
    const auto flush = [&] {
      if (!current.empty()) out.push_back({std::move(current), piece.at_start && current_begin == 0});
      current.clear();
    };
    for (std::size_t i = 0; i < piece.text.size(); ++i) {
      const char32_t c = piece.text[i];
      const bool delimiter = is_delimiter(c);
      if (current.empty()) current_begin = i;
      switch (behavior) {
        case SplitBehavior::kRemoved:
          if (delimiter) {
            flush();
            continue;
          }
          break;
        case SplitBehavior::kIsolated:
          if (delimiter) {
            flush();
            current_begin = i;
            current.push_back(c);
            flush();
            continue;
          }
          break;
        case SplitBehavior::kMergedWithPrevious:
          if (delimiter) {
            current.push_back(c);
            flush();
            continue;
          }
          break;
        case SplitBehavior::kMergedWithNext:
          if (delimiter) {
            flush();
            current_begin = i;
          }
          break;
        case SplitBehavior::kContiguous:
          if (!current.empty() && delimiter != current_is_delimiter) {
            flush();
            current_begin = i;
          }
          current_is_delimiter = delimiter;
          break;
      }
      current.push_back(c);
    }
    flush();
  }
  return out;
}

struct BertPreTokenizer {};
struct WhitespacePreTokenizer {};
struct WhitespaceSplitPreTokenizer {};
struct PunctuationPreTokenizer {
  SplitBehavior behavior = SplitBehavior::kIsolated;
};
struct DigitsPreTokenizer {
  bool individual_digits = false;
};
enum class PrependScheme { kAlways, kFirst, kNever };
struct MetaspacePreTokenizer {
  char32_t replacement = 0x2581;  // ▁
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  bool split = true;
};
using PreTokenizerStep = std::variant<BertPreTokenizer, WhitespacePreTokenizer, WhitespaceSplitPreTokenizer,
                                      PunctuationPreTokenizer, DigitsPreTokenizer, MetaspacePreTokenizer>;

// Whitespace's \w+|[^\w\s]+: runs of word characters and runs of other non-space characters.
std::vector<Piece> whitespace_split_words(const std::vector<Piece>& pieces) {
  std::vector<Piece> out;
  for (const Piece& piece : pieces) {
    std::size_t i = 0;
    while (i < piece.text.size()) {
      if (is_whitespace(piece.text[i])) {
        ++i;
        continue;
      }
      const bool word = is_word_char(piece.text[i]);
      std::size_t j = i + 1;
      while (j < piece.text.size() && !is_whitespace(piece.text[j]) && is_word_char(piece.text[j]) == word) ++j;
      out.push_back({piece.text.substr(i, j - i), piece.at_start && i == 0});
      i = j;
    }
  }
  return out;
}

std::vector<Piece> apply_step(const PreTokenizerStep& step, std::vector<Piece> pieces) {
  if (std::holds_alternative<BertPreTokenizer>(step)) {
    pieces = split_pieces(pieces, SplitBehavior::kRemoved, is_whitespace);
    return split_pieces(pieces, SplitBehavior::kIsolated, is_bert_punctuation);
  }
  if (std::holds_alternative<WhitespacePreTokenizer>(step)) return whitespace_split_words(pieces);
  if (std::holds_alternative<WhitespaceSplitPreTokenizer>(step)) {
    return split_pieces(pieces, SplitBehavior::kRemoved, is_whitespace);
  }
  if (const auto* punctuation = std::get_if<PunctuationPreTokenizer>(&step)) {
    return split_pieces(pieces, punctuation->behavior, is_bert_punctuation);
  }
  if (const auto* digits = std::get_if<DigitsPreTokenizer>(&step)) {
    return split_pieces(pieces, digits->individual_digits ? SplitBehavior::kIsolated : SplitBehavior::kContiguous,
                        is_numeric);
  }
  const auto& meta = std::get<MetaspacePreTokenizer>(step);
  for (Piece& piece : pieces) {
    std::replace(piece.text.begin(), piece.text.end(), U' ', meta.replacement);
    const bool prepend = meta.prepend_scheme == PrependScheme::kAlways ||
                         (meta.prepend_scheme == PrependScheme::kFirst && piece.at_start);
    if (prepend && !piece.text.empty() && piece.text.front() != meta.replacement) {
      piece.text.insert(piece.text.begin(), meta.replacement);
    }
  }
  if (!meta.split) return pieces;
  const char32_t replacement = meta.replacement;
  return split_pieces(pieces, SplitBehavior::kMergedWithNext, [replacement](char32_t c) { return c == replacement; });
}

// ---- models ----------------------------------------------------------------------------------

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>>;

struct WordPieceModel {
  std::uint32_t unk_id = 0;
  std::string continuing_prefix = "##";
  std::size_t max_input_chars_per_word = 100;
  // The longest vocabulary entry in bytes: no candidate longer than it can match, so the search
  // skips them (the result is the reference's; only the work is bounded, whatever
  // max_input_chars_per_word a file sets).
  std::size_t max_token_bytes = 0;
};

struct UnigramModel {
  std::vector<std::string> pieces;  // by id
  std::vector<double> scores;       // by id
  // (piece, id) sorted by piece: one binary search per extension both finds an exact piece and
  // tells whether any longer piece could still match (the next entry starts with the prefix).
  std::vector<std::pair<std::string_view, std::uint32_t>> sorted;
  std::optional<std::uint32_t> unk_id;
  double unk_score = 0;
  bool byte_fallback = false;
  std::vector<std::optional<std::uint32_t>> byte_ids;  // id of "<0xXX>" per byte value, if any
};

struct WordLevelModel {
  std::uint32_t unk_id = 0;
};

using Model = std::variant<WordPieceModel, UnigramModel, WordLevelModel>;

// The UTF-8 bytes of a piece and the byte offset of each character boundary (size chars + 1).
struct Utf8Piece {
  std::string bytes;
  std::vector<std::size_t> bounds;
};

Utf8Piece to_utf8_piece(std::u32string_view text) {
  Utf8Piece piece;
  piece.bounds.reserve(text.size() + 1);
  for (const char32_t c : text) {
    piece.bounds.push_back(piece.bytes.size());
    append_utf8(c, piece.bytes);
  }
  piece.bounds.push_back(piece.bytes.size());
  return piece;
}

}  // namespace

struct SubwordTokenizerImpl {
  std::string source;
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  Model model;
  std::string model_type;
  std::vector<std::string> tokens;  // by id; the owner of the strings Vocab and sorted point into
  Vocab vocab;                      // the model's vocabulary: what the model looks pieces up in
  Vocab added;                      // added tokens that the model's vocabulary does not hold
  std::optional<std::size_t> truncation_max_length;
  bool truncate_left = false;

  std::optional<std::uint32_t> lookup(std::string_view token) const {
    const auto it = vocab.find(token);
    if (it == vocab.end()) return std::nullopt;
    return it->second;
  }

  std::u32string normalized(std::string_view text, std::size_t max_chars) const {
    std::u32string chars = decode_utf8(text, max_chars);
    for (const NormalizerStep& step : normalizer) apply_step(step, chars);
    return chars;
  }

  std::vector<Piece> pieces(std::u32string text) const {
    std::vector<Piece> result;
    if (!text.empty()) result.push_back({std::move(text), true});
    for (const PreTokenizerStep& step : pre_tokenizer) result = apply_step(step, std::move(result));
    return result;
  }

  void model_ids(const Utf8Piece& piece, std::vector<std::uint32_t>& ids) const {
    if (const auto* word_piece = std::get_if<WordPieceModel>(&model)) {
      word_piece_ids(*word_piece, piece, ids);
    } else if (const auto* unigram = std::get_if<UnigramModel>(&model)) {
      unigram_ids(*unigram, piece, ids);
    } else {
      const auto id = lookup(piece.bytes);
      ids.push_back(id ? *id : std::get<WordLevelModel>(model).unk_id);
    }
  }

  void word_piece_ids(const WordPieceModel& wp, const Utf8Piece& piece, std::vector<std::uint32_t>& ids) const {
    const std::size_t chars = piece.bounds.size() - 1;
    if (chars > wp.max_input_chars_per_word) {
      ids.push_back(wp.unk_id);
      return;
    }
    const std::size_t first_new = ids.size();
    std::string candidate;
    std::size_t start = 0;
    while (start < chars) {
      std::optional<std::uint32_t> found;
      const std::size_t prefix_bytes = start > 0 ? wp.continuing_prefix.size() : 0;
      // The last character boundary within max_token_bytes of the start (binary search: the
      // bounds are increasing).
      const std::size_t budget = wp.max_token_bytes > prefix_bytes ? wp.max_token_bytes - prefix_bytes : 0;
      const auto limit = std::upper_bound(piece.bounds.begin() + static_cast<std::ptrdiff_t>(start), piece.bounds.end(),
                                          piece.bounds[start] + budget);
      std::size_t end = static_cast<std::size_t>(limit - piece.bounds.begin()) - 1;
      for (; end > start; --end) {
        candidate.assign(start > 0 ? wp.continuing_prefix : std::string());
        candidate.append(piece.bytes, piece.bounds[start], piece.bounds[end] - piece.bounds[start]);
        found = lookup(candidate);
        if (found) break;
      }
      if (!found) {  // the word cannot be covered: it is one unknown token
        ids.resize(first_new);
        ids.push_back(wp.unk_id);
        return;
      }
      ids.push_back(*found);
      start = end;
    }
  }

  void unigram_ids(const UnigramModel& uni, const Utf8Piece& piece, std::vector<std::uint32_t>& ids) const {
    constexpr std::uint32_t kUnknown = std::numeric_limits<std::uint32_t>::max();
    const std::size_t chars = piece.bounds.size() - 1;
    struct Best {
      double score = 0;
      std::size_t start = 0;
      std::uint32_t id = kUnknown;
      bool reached = false;
    };
    std::vector<Best> best(chars + 1);
    best[0].reached = true;
    const auto offer = [&best](std::size_t start, std::size_t end, double score, std::uint32_t id) {
      if (!best[end].reached || score > best[end].score) best[end] = {score, start, id, true};
    };
    for (std::size_t start = 0; start < chars; ++start) {
      if (!best[start].reached) continue;
      bool has_single = false;
      for (std::size_t end = start + 1; end <= chars; ++end) {
        const std::string_view prefix(piece.bytes.data() + piece.bounds[start], piece.bounds[end] - piece.bounds[start]);
        const auto it = std::lower_bound(uni.sorted.begin(), uni.sorted.end(), prefix,
                                         [](const auto& entry, std::string_view key) { return entry.first < key; });
        if (it == uni.sorted.end() || !it->first.starts_with(prefix)) break;
        if (it->first == prefix) {
          offer(start, end, best[start].score + uni.scores[it->second], it->second);
          if (end == start + 1) has_single = true;
        }
      }
      if (!has_single) offer(start, start + 1, best[start].score + uni.unk_score, kUnknown);
    }
    // Walk back from the end, then emit in order, fusing runs of unknown characters.
    std::vector<std::pair<std::size_t, std::uint32_t>> path;  // (start char, id)
    for (std::size_t end = chars; end > 0; end = best[end].start) path.emplace_back(best[end].start, best[end].id);
    std::reverse(path.begin(), path.end());
    for (std::size_t i = 0; i < path.size();) {
      if (path[i].second != kUnknown) {
        ids.push_back(path[i].second);
        ++i;
        continue;
      }
      std::size_t j = i + 1;
      while (j < path.size() && path[j].second == kUnknown) ++j;
      const std::size_t end_char = j < path.size() ? path[j].first : chars;
      const std::string_view unknown(piece.bytes.data() + piece.bounds[path[i].first],
                                     piece.bounds[end_char] - piece.bounds[path[i].first]);
      emit_unknown(uni, unknown, ids);
      i = j;
    }
  }

  static void emit_unknown(const UnigramModel& uni, std::string_view unknown, std::vector<std::uint32_t>& ids) {
    if (uni.byte_fallback) {
      const bool all_bytes = std::all_of(unknown.begin(), unknown.end(), [&uni](char c) {
        return uni.byte_ids[static_cast<unsigned char>(c)].has_value();
      });
      if (all_bytes) {
        for (const char c : unknown) ids.push_back(*uni.byte_ids[static_cast<unsigned char>(c)]);
        return;
      }
    }
    if (uni.unk_id) ids.push_back(*uni.unk_id);
  }

  void encode(std::string_view text, std::vector<std::uint32_t>& ids, std::size_t max_chars) const {
    const std::size_t first_new = ids.size();
    for (const Piece& piece : pieces(normalized(text, max_chars))) model_ids(to_utf8_piece(piece.text), ids);
    if (truncation_max_length && ids.size() - first_new > *truncation_max_length) {
      const std::size_t excess = ids.size() - first_new - *truncation_max_length;
      if (truncate_left) {
        ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(first_new),
                  ids.begin() + static_cast<std::ptrdiff_t>(first_new + excess));
      } else {
        ids.resize(ids.size() - excess);
      }
    }
  }
};

namespace {

// ---- loading ---------------------------------------------------------------------------------

using simdjson::dom::element;
using simdjson::dom::object;

using detail::in_quotes;

constexpr std::string_view kSupportedNormalizers =
    "BertNormalizer, Lowercase, StripAccents, NFC, NFD, NFKC, NFKD, Strip, Prepend, Replace, Sequence";
constexpr std::string_view kSupportedPreTokenizers =
    "BertPreTokenizer, Whitespace, WhitespaceSplit, Punctuation, Digits, Metaspace, Sequence";
constexpr std::string_view kSupportedModels = "WordPiece, Unigram, WordLevel";

// Field readers: a missing or null field keeps the default; a field of the wrong type is an error.
class Fields {
 public:
  Fields(object fields, std::string where) : fields_(fields), where_(std::move(where)) {}

  const std::string& where() const { return where_; }

  bool present(std::string_view name) const {
    element value;
    return fields_[name].get(value) == simdjson::SUCCESS && !value.is_null();
  }

  Status boolean(std::string_view name, bool& out) const {
    element value;
    if (!lookup(name, value)) return Status::ok();
    if (value.get_bool().get(out) != simdjson::SUCCESS) return type_error(name, "a boolean");
    return Status::ok();
  }

  Status string(std::string_view name, std::string_view& out) const {
    element value;
    if (!lookup(name, value)) return Status::ok();
    if (value.get_string().get(out) != simdjson::SUCCESS) return type_error(name, "a string");
    return Status::ok();
  }

  Status uint(std::string_view name, std::uint64_t& out) const {
    element value;
    if (!lookup(name, value)) return Status::ok();
    if (value.get_uint64().get(out) != simdjson::SUCCESS) return type_error(name, "a non-negative integer");
    return Status::ok();
  }

  Status required(std::string_view name, element& out) const {
    if (!lookup(name, out)) return Status::bad_input(where_ + ": missing field " + in_quotes(name));
    return Status::ok();
  }

  Status type_error(std::string_view name, std::string_view expected) const {
    return Status::bad_input(where_ + ": field " + in_quotes(name) + " must be " + std::string(expected));
  }

 private:
  bool lookup(std::string_view name, element& out) const {
    return fields_[name].get(out) == simdjson::SUCCESS && !out.is_null();
  }

  object fields_;
  std::string where_;
};

// The object and its "type" string.
Status typed_object(element value, const std::string& where, object& fields, std::string_view& type) {
  if (value.get_object().get(fields) != simdjson::SUCCESS) return Status::bad_input(where + ": expected an object");
  if (fields["type"].get_string().get(type) != simdjson::SUCCESS) {
    return Status::bad_input(where + ": expected a string field \"type\"");
  }
  return Status::ok();
}

Status read_normalizer(element value, const std::string& where, std::vector<NormalizerStep>& steps) {
  object fields_object;
  std::string_view type;
  if (Status status = typed_object(value, where, fields_object, type); !status) return status;
  const Fields fields(fields_object, where + " " + in_quotes(type));
  if (type == "Sequence") {
    element list;
    if (Status status = fields.required("normalizers", list); !status) return status;
    simdjson::dom::array array;
    if (list.get_array().get(array) != simdjson::SUCCESS) return fields.type_error("normalizers", "an array");
    std::size_t index = 0;
    for (const element item : array) {
      const std::string item_where = where + "[" + std::to_string(index++) + "]";
      if (Status status = read_normalizer(item, item_where, steps); !status) return status;
    }
    return Status::ok();
  }
  if (type == "BertNormalizer") {
    BertNormalizer bert;
    for (const auto& [name, slot] : {std::pair<std::string_view, bool*>{"clean_text", &bert.clean_text},
                                     {"handle_chinese_chars", &bert.handle_chinese_chars},
                                     {"lowercase", &bert.lowercase}}) {
      if (Status status = fields.boolean(name, *slot); !status) return status;
    }
    bert.strip_accents = bert.lowercase;
    if (Status status = fields.boolean("strip_accents", bert.strip_accents); !status) return status;
    steps.emplace_back(bert);
    return Status::ok();
  }
  if (type == "Lowercase") {
    steps.emplace_back(LowercaseStep{});
  } else if (type == "StripAccents") {
    steps.emplace_back(StripAccentsStep{});
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    steps.emplace_back(NormalFormStep{type == "NFC"    ? NormalForm::kNfc
                                      : type == "NFD"  ? NormalForm::kNfd
                                      : type == "NFKC" ? NormalForm::kNfkc
                                                       : NormalForm::kNfkd});
  } else if (type == "Strip") {
    StripStep strip;
    if (Status status = fields.boolean("strip_left", strip.left); !status) return status;
    if (Status status = fields.boolean("strip_right", strip.right); !status) return status;
    steps.emplace_back(strip);
  } else if (type == "Prepend") {
    std::string_view prefix;
    if (Status status = fields.string("prepend", prefix); !status) return status;
    steps.emplace_back(PrependStep{decode_utf8(prefix, prefix.size())});
  } else if (type == "Replace") {
    element pattern_value;
    if (Status status = fields.required("pattern", pattern_value); !status) return status;
    object pattern;
    if (pattern_value.get_object().get(pattern) != simdjson::SUCCESS) {
      return fields.type_error("pattern", "an object {\"String\": ...} or {\"Regex\": ...}");
    }
    std::string_view content;
    if (Status status = fields.string("content", content); !status) return status;
    ReplaceStep replace;
    replace.content = decode_utf8(content, content.size());
    std::string_view literal;
    std::string_view regex;
    if (pattern["String"].get_string().get(literal) == simdjson::SUCCESS) {
      if (literal.empty()) return Status::bad_input(fields.where() + ": the String pattern must not be empty");
      replace.pattern = decode_utf8(literal, literal.size());
    } else if (pattern["Regex"].get_string().get(regex) == simdjson::SUCCESS) {
      if (regex == "\\s+") {
        replace.regex = ReplaceRegex::kWhitespaceRun;
      } else if (regex == " {2,}") {
        replace.regex = ReplaceRegex::kSpaceRun;
      } else {
        return Status::bad_input(fields.where() + ": Regex pattern " + in_quotes(regex) +
                                 " is not supported (supported: a String pattern, or the Regex \"\\s+\" or \" {2,}\")");
      }
    } else {
      return fields.type_error("pattern", "an object {\"String\": ...} or {\"Regex\": ...}");
    }
    steps.emplace_back(std::move(replace));
  } else {
    return Status::bad_input(where + ": normalizer type " + in_quotes(type) + " is not supported (supported: " +
                             std::string(kSupportedNormalizers) + ")");
  }
  return Status::ok();
}

Status read_behavior(const Fields& fields, SplitBehavior& behavior) {
  std::string_view name;
  if (Status status = fields.string("behavior", name); !status) return status;
  if (name.empty()) return Status::ok();
  constexpr std::pair<std::string_view, SplitBehavior> kBehaviors[] = {
      {"Removed", SplitBehavior::kRemoved},
      {"Isolated", SplitBehavior::kIsolated},
      {"MergedWithPrevious", SplitBehavior::kMergedWithPrevious},
      {"MergedWithNext", SplitBehavior::kMergedWithNext},
      {"Contiguous", SplitBehavior::kContiguous}};
  for (const auto& [known, value] : kBehaviors) {
    if (known == name) {
      behavior = value;
      return Status::ok();
    }
  }
  return Status::bad_input(fields.where() + ": unknown behavior " + in_quotes(name) +
                           " (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

Status read_pre_tokenizer(element value, const std::string& where, std::vector<PreTokenizerStep>& steps) {
  object fields_object;
  std::string_view type;
  if (Status status = typed_object(value, where, fields_object, type); !status) return status;
  const Fields fields(fields_object, where + " " + in_quotes(type));
  if (type == "Sequence") {
    element list;
    if (Status status = fields.required("pretokenizers", list); !status) return status;
    simdjson::dom::array array;
    if (list.get_array().get(array) != simdjson::SUCCESS) return fields.type_error("pretokenizers", "an array");
    std::size_t index = 0;
    for (const element item : array) {
      const std::string item_where = where + "[" + std::to_string(index++) + "]";
      if (Status status = read_pre_tokenizer(item, item_where, steps); !status) return status;
    }
  } else if (type == "BertPreTokenizer") {
    steps.emplace_back(BertPreTokenizer{});
  } else if (type == "Whitespace") {
    steps.emplace_back(WhitespacePreTokenizer{});
  } else if (type == "WhitespaceSplit") {
    steps.emplace_back(WhitespaceSplitPreTokenizer{});
  } else if (type == "Punctuation") {
    PunctuationPreTokenizer punctuation;
    if (Status status = read_behavior(fields, punctuation.behavior); !status) return status;
    steps.emplace_back(punctuation);
  } else if (type == "Digits") {
    DigitsPreTokenizer digits;
    if (Status status = fields.boolean("individual_digits", digits.individual_digits); !status) return status;
    steps.emplace_back(digits);
  } else if (type == "Metaspace") {
    MetaspacePreTokenizer meta;
    std::string_view replacement;
    if (Status status = fields.string("replacement", replacement); !status) return status;
    if (!replacement.empty()) {
      const std::u32string chars = decode_utf8(replacement, replacement.size());
      if (chars.size() != 1) return Status::bad_input(fields.where() + ": \"replacement\" must be one character");
      meta.replacement = chars[0];
    }
    if (fields.present("add_prefix_space")) {
      bool add_prefix_space = true;
      if (Status status = fields.boolean("add_prefix_space", add_prefix_space); !status) return status;
      meta.prepend_scheme = add_prefix_space ? PrependScheme::kAlways : PrependScheme::kNever;
    }
    std::string_view scheme;
    if (Status status = fields.string("prepend_scheme", scheme); !status) return status;
    if (scheme == "always") {
      meta.prepend_scheme = PrependScheme::kAlways;
    } else if (scheme == "first") {
      meta.prepend_scheme = PrependScheme::kFirst;
    } else if (scheme == "never") {
      meta.prepend_scheme = PrependScheme::kNever;
    } else if (!scheme.empty()) {
      return Status::bad_input(fields.where() + ": \"prepend_scheme\" must be \"always\", \"first\" or \"never\", got " +
                               in_quotes(scheme));
    }
    if (Status status = fields.boolean("split", meta.split); !status) return status;
    steps.emplace_back(meta);
  } else {
    return Status::bad_input(where + ": pre-tokenizer type " + in_quotes(type) + " is not supported (supported: " +
                             std::string(kSupportedPreTokenizers) + ")");
  }
  return Status::ok();
}

constexpr std::uint64_t kMaxId = 1u << 30;  // far beyond any vocabulary; keeps tables bounded

// The largest id a table of `entries` tokens may use. Ids index a table sized by the largest
// one, so a few sparse ids (a file claiming id 1,000,000,000 for its second token) would make
// it allocate gigabytes: real vocabularies number their tokens densely from 0.
std::uint64_t id_limit(std::size_t entries) { return std::min<std::uint64_t>(kMaxId, 2 * std::uint64_t{entries} + 1024); }

Status add_token(SubwordTokenizerImpl& impl, std::string_view token, std::uint64_t id, const std::string& where,
                 std::uint64_t max_id) {
  if (id >= max_id) {
    return Status::bad_input(where + ": token id " + std::to_string(id) +
                             " is out of range (a vocabulary of this size numbers its tokens below " +
                             std::to_string(max_id) + ")");
  }
  const auto [it, inserted] = impl.vocab.emplace(std::string(token), static_cast<std::uint32_t>(id));
  if (!inserted) {
    return Status::bad_input(where + ": token " + in_quotes(token) + " is listed twice (ids " +
                             std::to_string(it->second) + " and " + std::to_string(id) + ")");
  }
  if (id >= impl.tokens.size()) impl.tokens.resize(static_cast<std::size_t>(id) + 1);
  impl.tokens[static_cast<std::size_t>(id)] = std::string(token);
  return Status::ok();
}

// WordPiece and WordLevel: "vocab" is an object token -> id.
Status read_vocab_object(const Fields& fields, SubwordTokenizerImpl& impl) {
  element vocab_value;
  if (Status status = fields.required("vocab", vocab_value); !status) return status;
  object vocab;
  if (vocab_value.get_object().get(vocab) != simdjson::SUCCESS) return fields.type_error("vocab", "an object token -> id");
  for (const auto [key, value] : vocab) {
    std::uint64_t id = 0;
    if (value.get_uint64().get(id) != simdjson::SUCCESS) {
      return Status::bad_input(fields.where() + ": the id of token " + in_quotes(key) + " must be a non-negative integer");
    }
    if (Status status = add_token(impl, key, id, fields.where(), id_limit(vocab.size())); !status) return status;
  }
  if (impl.vocab.empty()) return Status::bad_input(fields.where() + ": the vocabulary is empty");
  return Status::ok();
}

Status read_unk_token(const Fields& fields, const SubwordTokenizerImpl& impl, std::uint32_t& unk_id) {
  std::string_view unk_token = "[UNK]";
  if (Status status = fields.string("unk_token", unk_token); !status) return status;
  const auto id = impl.lookup(unk_token);
  if (!id) return Status::bad_input(fields.where() + ": the unk_token " + in_quotes(unk_token) + " is not in the vocabulary");
  unk_id = *id;
  return Status::ok();
}

Status read_unigram(const Fields& fields, SubwordTokenizerImpl& impl, UnigramModel& uni) {
  element vocab_value;
  if (Status status = fields.required("vocab", vocab_value); !status) return status;
  simdjson::dom::array vocab;
  if (vocab_value.get_array().get(vocab) != simdjson::SUCCESS) {
    return fields.type_error("vocab", "an array of [piece, score] pairs");
  }
  std::uint64_t id = 0;
  for (const element entry : vocab) {
    simdjson::dom::array pair;
    std::string_view piece;
    double score = 0;
    if (entry.get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2 ||
        pair.at(0).get_string().get(piece) != simdjson::SUCCESS || pair.at(1).get_double().get(score) != simdjson::SUCCESS) {
      return Status::bad_input(fields.where() + ": vocab entry " + std::to_string(id) +
                               " must be a [piece, score] pair of a string and a number");
    }
    if (Status status = add_token(impl, piece, id, fields.where(), id_limit(vocab.size())); !status) return status;
    uni.pieces.emplace_back(piece);
    uni.scores.push_back(score);
    ++id;
  }
  if (uni.scores.empty()) return Status::bad_input(fields.where() + ": the vocabulary is empty");
  if (fields.present("unk_id")) {
    std::uint64_t unk = 0;
    if (Status status = fields.uint("unk_id", unk); !status) return status;
    if (unk >= uni.scores.size()) {
      return Status::bad_input(fields.where() + ": unk_id " + std::to_string(unk) + " is beyond the " +
                               std::to_string(uni.scores.size()) + "-piece vocabulary");
    }
    uni.unk_id = static_cast<std::uint32_t>(unk);
  }
  if (Status status = fields.boolean("byte_fallback", uni.byte_fallback); !status) return status;
  uni.unk_score = *std::min_element(uni.scores.begin(), uni.scores.end()) - kUnkPenalty;
  return Status::ok();
}

// Called once the model sits in its final place: `sorted` points into `pieces`.
void index_unigram(const SubwordTokenizerImpl& impl, UnigramModel& uni) {
  for (std::size_t id = 0; id < uni.pieces.size(); ++id) {
    uni.sorted.emplace_back(uni.pieces[id], static_cast<std::uint32_t>(id));
  }
  std::sort(uni.sorted.begin(), uni.sorted.end());
  uni.byte_ids.resize(256);
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    const auto id = impl.lookup(name);
    if (id) uni.byte_ids[static_cast<std::size_t>(byte)] = id;
  }
}

Status read_model(element value, SubwordTokenizerImpl& impl) {
  const std::string where = impl.source + ": model";
  object fields_object;
  std::string_view type;
  if (Status status = typed_object(value, where, fields_object, type); !status) return status;
  const Fields fields(fields_object, where + " " + in_quotes(type));
  impl.model_type = std::string(type);
  if (type == "WordPiece") {
    WordPieceModel wp;
    if (Status status = read_vocab_object(fields, impl); !status) return status;
    if (Status status = read_unk_token(fields, impl, wp.unk_id); !status) return status;
    std::string_view prefix = wp.continuing_prefix;
    if (Status status = fields.string("continuing_subword_prefix", prefix); !status) return status;
    wp.continuing_prefix = std::string(prefix);
    std::uint64_t max_chars = wp.max_input_chars_per_word;
    if (Status status = fields.uint("max_input_chars_per_word", max_chars); !status) return status;
    wp.max_input_chars_per_word = static_cast<std::size_t>(std::min<std::uint64_t>(max_chars, kMaxId));
    for (const auto& entry : impl.vocab) wp.max_token_bytes = std::max(wp.max_token_bytes, entry.first.size());
    impl.model = std::move(wp);
  } else if (type == "Unigram") {
    UnigramModel uni;
    if (Status status = read_unigram(fields, impl, uni); !status) return status;
    impl.model = std::move(uni);
  } else if (type == "WordLevel") {
    WordLevelModel wl;
    if (Status status = read_vocab_object(fields, impl); !status) return status;
    if (Status status = read_unk_token(fields, impl, wl.unk_id); !status) return status;
    impl.model = wl;
  } else {
    return Status::bad_input(where + ": model type " + in_quotes(type) + " is not supported (supported: " +
                             std::string(kSupportedModels) + ")");
  }
  return Status::ok();
}

Status read_added_tokens(element root, SubwordTokenizerImpl& impl) {
  element value;
  if (root["added_tokens"].get(value) != simdjson::SUCCESS || value.is_null()) return Status::ok();
  const std::string where = impl.source + ": added_tokens";
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) return Status::bad_input(where + ": expected an array");
  std::size_t index = 0;
  for (const element item : array) {
    const std::string item_where = where + "[" + std::to_string(index++) + "]";
    std::uint64_t id = 0;
    std::string_view content;
    if (item["id"].get_uint64().get(id) != simdjson::SUCCESS ||
        item["content"].get_string().get(content) != simdjson::SUCCESS) {
      return Status::bad_input(item_where + ": expected an object with \"id\" (integer) and \"content\" (string)");
    }
    if (id >= id_limit(impl.tokens.size() + array.size())) {
      return Status::bad_input(item_where + ": token id " + std::to_string(id) + " is out of range (the vocabulary has " +
                               std::to_string(impl.tokens.size()) + " tokens)");
    }
    const auto known = impl.lookup(content);
    if (known && *known != id) {
      return Status::bad_input(item_where + ": token " + in_quotes(content) + " has id " + std::to_string(id) +
                               ", but the model vocabulary gives it " + std::to_string(*known));
    }
    if (known) continue;
    const auto [it, inserted] = impl.added.emplace(std::string(content), static_cast<std::uint32_t>(id));
    if (!inserted && it->second != id) {
      return Status::bad_input(item_where + ": token " + in_quotes(content) + " is listed twice with different ids");
    }
    if (id >= impl.tokens.size()) impl.tokens.resize(static_cast<std::size_t>(id) + 1);
    if (impl.tokens[static_cast<std::size_t>(id)].empty()) impl.tokens[static_cast<std::size_t>(id)] = std::string(content);
  }
  return Status::ok();
}

Status read_truncation(element root, SubwordTokenizerImpl& impl) {
  element value;
  if (root["truncation"].get(value) != simdjson::SUCCESS || value.is_null()) return Status::ok();
  object fields_object;
  if (value.get_object().get(fields_object) != simdjson::SUCCESS) {
    return Status::bad_input(impl.source + ": truncation: expected an object or null");
  }
  const Fields fields(fields_object, impl.source + ": truncation");
  std::uint64_t max_length = 0;
  element ignored;
  if (Status status = fields.required("max_length", ignored); !status) return status;
  if (Status status = fields.uint("max_length", max_length); !status) return status;
  std::string_view direction = "Right";
  if (Status status = fields.string("direction", direction); !status) return status;
  if (direction != "Right" && direction != "Left") {
    return Status::bad_input(fields.where() + ": \"direction\" must be \"Right\" or \"Left\"");
  }
  impl.truncation_max_length = static_cast<std::size_t>(max_length);
  impl.truncate_left = direction == "Left";
  return Status::ok();
}

}  // namespace

Expected<SubwordTokenizer> SubwordTokenizer::parse(std::string_view json, const std::string& source) {
  simdjson::dom::parser parser;
  element root;
  if (const auto error = parser.parse(json.data(), json.size()).get(root); error != simdjson::SUCCESS) {
    return Status::bad_input(source + ": not valid JSON: " + simdjson::error_message(error));
  }
  if (!root.is_object()) return Status::bad_input(source + ": expected a JSON object (a Hugging Face tokenizer.json)");
  auto impl = std::make_shared<SubwordTokenizerImpl>();
  impl->source = source;

  element model;
  if (root["model"].get(model) != simdjson::SUCCESS || model.is_null()) {
    return Status::bad_input(source + ": missing the \"model\" object (supported model types: " +
                             std::string(kSupportedModels) + ")");
  }
  if (Status status = read_model(model, *impl); !status) return status;
  if (Status status = read_added_tokens(root, *impl); !status) return status;
  if (auto* uni = std::get_if<UnigramModel>(&impl->model)) index_unigram(*impl, *uni);
  element normalizer;
  if (root["normalizer"].get(normalizer) == simdjson::SUCCESS && !normalizer.is_null()) {
    if (Status status = read_normalizer(normalizer, source + ": normalizer", impl->normalizer); !status) return status;
  }
  element pre_tokenizer;
  if (root["pre_tokenizer"].get(pre_tokenizer) == simdjson::SUCCESS && !pre_tokenizer.is_null()) {
    if (Status status = read_pre_tokenizer(pre_tokenizer, source + ": pre_tokenizer", impl->pre_tokenizer); !status) {
      return status;
    }
  }
  if (Status status = read_truncation(root, *impl); !status) return status;
  SubwordTokenizer tokenizer;
  tokenizer.impl_ = std::move(impl);
  return tokenizer;
}

Expected<SubwordTokenizer> SubwordTokenizer::load(const std::string& path) {
  auto file = MappedFile::open(path);
  if (!file) return file.status();
  return parse(std::string_view(reinterpret_cast<const char*>(file->data()), file->size()), path);
}

void SubwordTokenizer::encode(std::string_view text, std::vector<std::uint32_t>& ids, std::size_t max_chars) const {
  impl_->encode(text, ids, max_chars);
}

std::string SubwordTokenizer::normalize(std::string_view text) const {
  return encode_utf8(impl_->normalized(text, std::numeric_limits<std::size_t>::max()));
}

std::vector<std::string> SubwordTokenizer::pre_tokenize(std::string_view text) const {
  std::vector<std::string> out;
  for (const Piece& piece : impl_->pieces(impl_->normalized(text, std::numeric_limits<std::size_t>::max()))) {
    out.push_back(encode_utf8(piece.text));
  }
  return out;
}

std::vector<std::string> SubwordTokenizer::tokenize(std::string_view text) const {
  std::vector<std::uint32_t> ids;
  encode(text, ids);
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const std::uint32_t id : ids) out.emplace_back(token(id));
  return out;
}

std::string_view SubwordTokenizer::model_type() const { return impl_->model_type; }
std::size_t SubwordTokenizer::vocab_size() const { return impl_->vocab.size() + impl_->added.size(); }
std::uint32_t SubwordTokenizer::max_id() const { return static_cast<std::uint32_t>(impl_->tokens.size() - 1); }

std::optional<std::uint32_t> SubwordTokenizer::unk_id() const {
  if (const auto* wp = std::get_if<WordPieceModel>(&impl_->model)) return wp->unk_id;
  if (const auto* uni = std::get_if<UnigramModel>(&impl_->model)) return uni->unk_id;
  return std::get<WordLevelModel>(impl_->model).unk_id;
}

std::optional<std::uint32_t> SubwordTokenizer::id_of(std::string_view token) const {
  if (const auto id = impl_->lookup(token)) return id;
  const auto it = impl_->added.find(token);
  if (it == impl_->added.end()) return std::nullopt;
  return it->second;
}

std::string_view SubwordTokenizer::token(std::uint32_t id) const {
  return id < impl_->tokens.size() ? std::string_view(impl_->tokens[id]) : std::string_view();
}

}  // namespace semcache::detail
