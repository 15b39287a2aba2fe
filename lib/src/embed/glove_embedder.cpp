// The glove embedder: a sentence vector from GloVe word vectors, joined with two sparse views of
// the same text, character n-grams and a weighted bag of words.
//
// Word part (Arora, Liang and Ma's SIF, "A simple but tough-to-beat baseline for sentence
// embeddings", ICLR 2017): the text is cut into tokens the way GloVe's corpus was
// (word_tokenizer.cpp); each token's vector, dequantised, is weighted by the SIF weight a / (a +
// p(w)) that the file stores, and summed; the result is normalised. Arora et al. also project out
// the common direction; the file stores it, but by default we do not remove it, because on our
// data that hurts (see Quality below). (SIF averages; dividing by the token count changes neither
// the projection nor the normalised result, so we only sum.) Frequent words ("the", "?", "how")
// get weights near a / p, i.e. almost nothing, so content words decide.
//
// Tokens the vocabulary lacks (the wink copy of GloVe dropped the clitics, numbers and one-letter
// words): "n't" "'re" "'m" "'ve" "'ll" "'d" are looked up as "not" "are" "am" "have" "will"
// "would", "..." as "…"; a hyphenated word is looked up part by part ("cheese-volcano" gives
// "cheese" and "volcano"); a word with an apostrophe is looked up without it ("o'neil" ->
// "oneil"). Anything still missing ("'s", numbers, rare names, typos) adds nothing to the word
// part: GloVe has no sub-word information to guess it from. The two other parts cover it.
//
// N-gram part: the character 3-grams of each token (with "<" and ">" marking its ends, as in
// the hashing embedder; hash_embedder.cpp), counted in 128 signed hashed dimensions. It catches
// what word vectors cannot: unknown words, numbers, typos, plurals. It is computed here, on the
// tokens the word part already has, rather than by the hashing embedder, whose separate
// tokenizing, sorting and allocation per text cost more than all the rest of this embedder
// (and whose word features the bag of words below does better).
//
// Bag-of-words part: each token, hashed into 128 signed dimensions (the same hash that finds it
// in the table, so it costs nothing more), with its SIF weight as its value, and 1 for a token
// the vocabulary lacks (a rare word). It measures exact word overlap with rare words counting
// most, which on paraphrase data is the strongest single signal, and which the n-gram part
// (every word weighs the same there) and the word part (an average blurs it) both miss.
//
// The output is the concatenation [sqrt(1 - n - b) * words, sqrt(n) * ngrams, sqrt(b) * bow] of
// the three unit vectors (n = 0.15, b = 0.2), so the cosine of two outputs is the weighted sum of
// the three cosines. A text that lacks a part (no known word; no letter or digit) gets its other
// parts rescaled to unit length; a text with no part at all is the zero vector. Dimension: the
// file's word dimension + 256 = 356.
//
// Quality: ROC AUC of the cosine similarity over qqp-dev (20,000 Quora question pairs). The
// parameters (SIF a = 3e-4; shares 0.15 and 0.2; 128 + 128 dimensions) were chosen on the even
// lines of pairs.jsonl only; the odd lines are pairs the tuning never saw. Full 341,479 words:
//
//   recipe                                   even    odd     all
//   hash-v1/256 alone (for reference)        0.7279  0.7252  0.7266
//   words only (SIF)                         0.7406  0.7391  0.7399
//   words + common-direction removal         0.7311  0.7332  0.7322
//   words + n-grams                          0.7487  0.7474  0.7481
//   words + bag of words                     0.7521  0.7478  0.7500
//   words + n-grams + bag of words (default) 0.7546  0.7508  0.7527
//   default + common-direction removal       0.7453  0.7441  0.7447
//
// The 30,000-word test copy gives 0.7278 words only and 0.7527 / 0.7468 by default. Removing the
// common direction costs about 0.008, and removing instead the first principal component of the
// tuning sentences themselves (Arora et al.'s own recipe) costs 0.016 on the even lines: on
// questions the dominant direction carries what kind of question it is, which duplicates share.
// So by default the direction stays in; GloveRecipe::remove_common_direction takes it out, for
// the ablation and for data where it helps. Tried on the even lines, none better: a in {1e-4,
// 1e-3, 3e-3}, unit-length word vectors, "all-but-the-top" post-processing of the word vectors
// (Mu and Viswanath 2018), the hashing embedder as the n-gram part, other shares; 256 + 256
// sparse dimensions gain 0.001 for 256 more.
//
// Identity: "glove-v1/<words>x<word dim>+<checksum>/<dim>". The checksum is the file's (it covers
// vectors, weights and direction), so another file is another namespace; "v1" names this recipe
// (tokenizer, fallbacks, the three parts, their hashes and shares): any change must bump it.
// Non-default recipes (ablations) carry their settings in the identity.
//
// Threading: the file is immutable and shared; embed() keeps its scratch in thread_local buffers
// (reused across calls, so a 20-word prompt costs no allocation) and only touches the counters,
// relaxed atomics.
//
// Cost: the text is tokenized once and each token looked up once (its hash serves the table, the
// bag of words and nothing else needs one); lookups are overlapped (add_tokens()). About 5.6 us
// for a 20-word prompt (27 tokens) on one core, 2-3 us for a short question; opening the full
// file about 13 ms (`semcache bench embed`, `semcache embedder info`).

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "embed/embedder_stats.hpp"
#include "embed/glove_recipe.hpp"
#include "embed/word_tokenizer.hpp"
#include "semcache/glove_embedder.hpp"

namespace semcache {

namespace detail {

namespace {

std::string hex16(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

// The vocabulary's spelling of a token the file lacks, for the tokenizer's clitics.
std::string_view alias_of(std::string_view token) {
  if (token == "n't") return "not";
  if (token == "'re") return "are";
  if (token == "'m") return "am";
  if (token == "'ve") return "have";
  if (token == "'ll") return "will";
  if (token == "'d") return "would";
  if (token == "...") return "\xE2\x80\xA6";
  return {};
}

class GloveEmbedder final : public Embedder {
 public:
  GloveEmbedder(std::shared_ptr<const WordVectorFile> file, const GloveRecipe& recipe)
      : file_(std::move(file)),
        recipe_(recipe),
        word_dim_(file_->dim()),
        ngram_dim_(recipe.ngram_share > 0 ? recipe.ngram_dim : 0),
        bow_dim_(recipe.bow_share > 0 ? recipe.bow_dim : 0),
        dim_(word_dim_ + ngram_dim_ + bow_dim_) {
    std::string version = "glove-v1";
    if (!(recipe == GloveRecipe{})) {
      char settings[96];
      std::snprintf(settings, sizeof settings, "[pc=%d,ngram=%.3f,bow=%.3f]", recipe.remove_common_direction ? 1 : 0,
                    recipe.ngram_share, recipe.bow_share);
      version += settings;
    }
    identity_ = version + "/" + std::to_string(file_->rows()) + "x" + std::to_string(word_dim_) + "+" +
                hex16(file_->checksum()) + "/" + std::to_string(dim_);
  }

  const std::string& identity() const override { return identity_; }
  std::size_t dim() const override { return dim_; }

  Status embed(std::span<const std::string_view> texts, std::span<float> out) override {
    if (Status st = detail::check_output_size(identity_, texts.size(), dim_, out.size()); !st) return st;
    const auto start = std::chrono::steady_clock::now();
    thread_local WordTokens tokens;
    thread_local Parts parts;
    parts.words.resize(word_dim_);
    parts.ngrams.resize(ngram_dim_);
    parts.bow.resize(bow_dim_);
    std::uint64_t token_count = 0;
    for (std::size_t t = 0; t < texts.size(); ++t) {
      tokens.tokenize(texts[t]);
      token_count += tokens.size();
      std::fill(parts.words.begin(), parts.words.end(), 0.0f);
      std::fill(parts.ngrams.begin(), parts.ngrams.end(), 0.0f);
      std::fill(parts.bow.begin(), parts.bow.end(), 0.0f);
      add_tokens(tokens, parts);
      finish(parts, out.subspan(t * dim_, dim_));
    }
    stats_.add_texts(texts.size(), token_count);
    stats_.add_time_since(start);
    return Status::ok();
  }

  EmbedderCounters counters() const override { return stats_.snapshot(); }

 private:
  // One text's parts before normalisation: the weighted sum of word vectors, the n-gram counts
  // and the bag of words.
  struct Parts {
    std::vector<float> words;
    std::vector<float> ngrams;
    std::vector<float> bow;
  };

  // A rare word's weight in the bag of words: the SIF weight of a word the vocabulary lacks.
  static constexpr float kUnknownWordWeight = 1.0f;

  void add_row(std::int64_t row, std::vector<float>& sum) const {
    const auto r = static_cast<std::size_t>(row);
    const float factor = file_->weight(r) * file_->scale(r);
    const std::int8_t* values = file_->row(r);
    for (std::size_t d = 0; d < word_dim_; ++d) sum[d] += factor * static_cast<float>(values[d]);
  }

  // A token's feature in the bag of words: the hash of the word it was found as picks a dimension
  // (the low bits) and a sign (bit 31, which neither the dimension nor the table's fingerprint
  // uses); the value is that word's SIF weight. An alias counts as the word it stands for, in the
  // n-grams too, so "don't" and "do not" give the same vector.
  struct BowFeature {
    std::string_view word;  // the token, or the alias it was found as (for the n-grams too)
    std::uint64_t hash;
    float weight;
  };

  // The character 3-grams of "<token>" (bytes, so a non-ASCII character may be cut, which costs
  // little: identical spellings still share them), each counted +-1 in the dimension and with
  // the sign of its hash: the three bytes packed with a marker bit, times a 64-bit odd constant
  // (multiplicative hashing: the high bits depend on every input bit), dimension from bits
  // 33.., sign from bit 63. Punctuation tokens have no n-grams: "<?>" would join every question.
  void add_ngrams(std::string_view token, std::vector<float>& ngrams) const {
    if (ngram_dim_ == 0 || is_punctuation(token)) return;
    auto gram = [&](unsigned a, unsigned b, unsigned c) {
      const std::uint64_t h = (a | (b << 8) | (c << 16) | (1u << 24)) * 0x9E3779B97F4A7C15ULL;
      ngrams[(h >> 33) % ngram_dim_] += (h >> 63) != 0 ? -1.0f : 1.0f;
    };
    auto byte = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(token[i])); };
    const std::size_t n = token.size();
    gram('<', byte(0), n > 1 ? byte(1) : '>');
    for (std::size_t i = 0; i + 2 < n; ++i) gram(byte(i), byte(i + 1), byte(i + 2));
    if (n > 1) gram(byte(n - 2), byte(n - 1), '>');
  }

  // A token without n-grams: one that starts with ASCII punctuation (punctuation, "...", and the
  // clitics "'s" "'re" ...: those the vocabulary knows under another name carry that name's
  // n-grams instead, see BowFeature) or is a typographic mark (three bytes E2 80 xx).
  static bool is_punctuation(std::string_view token) {
    const auto first = static_cast<unsigned char>(token[0]);
    if (first < 0x80) {
      return !((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || (first >= '0' && first <= '9'));
    }
    return token.size() == 3 && first == 0xE2 && static_cast<unsigned char>(token[1]) == 0x80;
  }

  void add_bow(BowFeature feature, std::vector<float>& bow) const {
    if (bow_dim_ == 0) return;
    bow[feature.hash % bow_dim_] += ((feature.hash >> 31) & 1) != 0 ? -feature.weight : feature.weight;
  }

  // All tokens of a text, their lookups overlapped: the memory accesses of a lookup (table slot,
  // record, spelling) are cache misses in a 50 MB file, and waiting for them one token after the
  // other would dominate the cost. Each stage issues its prefetches for every token before the
  // next stage reads what the previous one fetched.
  void add_tokens(const WordTokens& tokens, Parts& parts) const {
    thread_local std::vector<std::uint64_t> hashes;
    thread_local std::vector<std::int64_t> candidates;
    const std::size_t n = tokens.size();
    hashes.resize(n);
    candidates.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      hashes[i] = WordVectorFile::hash(tokens[i]);
      file_->prefetch_slot(hashes[i]);
    }
    for (std::size_t i = 0; i < n; ++i) {
      candidates[i] = file_->candidate(hashes[i]);
      if (candidates[i] >= 0) file_->prefetch_record(static_cast<std::size_t>(candidates[i]));
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (candidates[i] >= 0) file_->prefetch_word(static_cast<std::size_t>(candidates[i]));
    }
    for (std::size_t i = 0; i < n; ++i) {
      BowFeature feature{tokens[i], hashes[i], kUnknownWordWeight};
      if (candidates[i] >= 0 && file_->word(static_cast<std::size_t>(candidates[i])) == tokens[i]) {
        add_row(candidates[i], parts.words);
        feature.weight = file_->weight(static_cast<std::size_t>(candidates[i]));
      } else if (candidates[i] >= 0 || needs_fallback(tokens[i])) {
        feature = add_token(tokens[i], hashes[i], parts.words);
      }
      add_bow(feature, parts.bow);
      add_ngrams(feature.word, parts.ngrams);
    }
  }

  // Whether a token that is surely absent may still be found through a fallback of add_token().
  static bool needs_fallback(std::string_view token) {
    return !alias_of(token).empty() || token.find('-') != std::string_view::npos ||
           token.find('\'') != std::string_view::npos;
  }

  // One token (whose hash is `hash`) with the fallbacks at the top of the file. Returns its
  // bag-of-words feature: the word it was found as, with that row's SIF weight, or the token
  // itself with kUnknownWordWeight when no row was found for it as a whole.
  BowFeature add_token(std::string_view token, std::uint64_t hash, std::vector<float>& sum) const {
    if (const std::int64_t row = file_->find(token, hash); row >= 0) {
      add_row(row, sum);
      return {token, hash, file_->weight(static_cast<std::size_t>(row))};
    }
    if (const std::string_view alias = alias_of(token); !alias.empty()) {
      const std::uint64_t alias_hash = WordVectorFile::hash(alias);
      if (const std::int64_t row = file_->find(alias, alias_hash); row >= 0) {
        add_row(row, sum);
        return {alias, alias_hash, file_->weight(static_cast<std::size_t>(row))};
      }
      return {alias, alias_hash, kUnknownWordWeight};
    }
    if (token.find('-') != std::string_view::npos) {
      std::size_t start = 0;
      while (start <= token.size()) {
        const std::size_t end = std::min(token.find('-', start), token.size());
        if (end > start) {
          const std::string_view part = token.substr(start, end - start);
          add_token(part, WordVectorFile::hash(part), sum);
        }
        start = end + 1;
      }
      return {token, hash, kUnknownWordWeight};
    }
    if (token.find('\'') != std::string_view::npos && token.size() > 1) {
      std::string joined;
      for (const char c : token) {
        if (c != '\'') joined.push_back(c);
      }
      if (const std::int64_t row = file_->find(joined); row >= 0) {
        add_row(row, sum);
        return {token, hash, file_->weight(static_cast<std::size_t>(row))};
      }
    }
    return {token, hash, kUnknownWordWeight};
  }

  // Takes the common direction out of the word part when the recipe says so, normalises each
  // part and writes them side by side, each scaled by the square root of its share among the
  // parts this text has (so the output is unit length unless the text has no part at all).
  void finish(Parts& parts, std::span<float> out) const {
    if (recipe_.remove_common_direction) {
      const std::span<const float> u = file_->common_direction();
      double along = 0;
      for (std::size_t d = 0; d < word_dim_; ++d) along += static_cast<double>(parts.words[d]) * u[d];
      for (std::size_t d = 0; d < word_dim_; ++d) parts.words[d] -= static_cast<float>(along) * u[d];
    }
    const double word_norm = norm(parts.words);
    const double ngram_norm = norm(parts.ngrams);
    const double bow_norm = norm(parts.bow);
    const double word_share = word_norm > 1e-12 ? 1.0 - recipe_.ngram_share - recipe_.bow_share : 0.0;
    const double ngram_share = ngram_norm > 0 ? recipe_.ngram_share : 0.0;
    const double bow_share = bow_norm > 0 ? recipe_.bow_share : 0.0;
    const double total = word_share + ngram_share + bow_share;
    auto place = [&](std::span<const float> part, double part_norm, double share, std::size_t offset) {
      const double factor = share > 0 ? std::sqrt(share / total) / part_norm : 0.0;
      for (std::size_t d = 0; d < part.size(); ++d) out[offset + d] = static_cast<float>(part[d] * factor);
    };
    place(parts.words, word_norm, word_share, 0);
    place(parts.ngrams, ngram_norm, ngram_share, word_dim_);
    place(parts.bow, bow_norm, bow_share, word_dim_ + ngram_dim_);
  }

  static double norm(std::span<const float> v) {
    double sum = 0;
    for (const float x : v) sum += static_cast<double>(x) * x;
    return std::sqrt(sum);
  }

  std::shared_ptr<const WordVectorFile> file_;
  GloveRecipe recipe_;
  std::size_t word_dim_;
  std::size_t ngram_dim_;
  std::size_t bow_dim_;
  std::size_t dim_;
  std::string identity_;
  detail::EmbedderStats stats_;
};

}  // namespace

std::shared_ptr<Embedder> make_glove_embedder(std::shared_ptr<const WordVectorFile> file, const GloveRecipe& recipe) {
  return std::make_shared<GloveEmbedder>(std::move(file), recipe);
}

}  // namespace detail

std::string default_glove_path() {
  if (const char* glove = std::getenv("SEMCACHE_GLOVE"); glove != nullptr && *glove != '\0') return glove;
  if (const char* data_dir = std::getenv("SEMCACHE_DATA_DIR"); data_dir != nullptr && *data_dir != '\0') {
    return (std::filesystem::path(data_dir) / "glove-100d.sgv").string();
  }
  std::filesystem::path base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    base = std::filesystem::path(home) / ".local" / "share";
  } else {
    base = ".";
  }
  return (base / "semcache" / "glove-100d.sgv").string();
}

Expected<std::shared_ptr<Embedder>> open_glove_embedder(const std::string& path) {
  const std::string resolved = path.empty() ? default_glove_path() : path;
  auto file = detail::WordVectorFile::open(resolved);
  if (!file) {
    if (file.status().code() == ErrorCode::kNotFound) {
      return Status::not_found(file.status().message() +
                               " (install the GloVe vectors with scripts/fetch-glove, or convert them with "
                               "`semcache embedder import-glove --from DIR --out FILE` and pass glove:FILE or set "
                               "SEMCACHE_GLOVE)");
    }
    return file.status();
  }
  return detail::make_glove_embedder(std::move(*file), detail::GloveRecipe{});
}

Expected<GloveFileInfo> inspect_glove_file(const std::string& path) {
  GloveFileInfo info;
  info.path = path.empty() ? default_glove_path() : path;
  const auto start = std::chrono::steady_clock::now();
  auto file = detail::WordVectorFile::open(info.path);
  info.open_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!file) return open_glove_embedder(info.path).status();  // the same message as opening it
  const auto embedder = detail::make_glove_embedder(*file, detail::GloveRecipe{});
  info.identity = embedder->identity();
  info.dim = embedder->dim();
  info.words = (*file)->rows();
  info.word_dim = (*file)->dim();
  info.file_bytes = (*file)->file_bytes();
  return info;
}

}  // namespace semcache
