// The model2vec embedder: token ids from the model's own tokenizer.json (subword_tokenizer.hpp),
// the mean of those tokens' rows of the embedding matrix (safetensors.hpp), L2-normalised.
//
// What model2vec's StaticModel.encode() does, and what we do:
//   - ids = tokenizer.encode(text, add_special_tokens=False): no [CLS]/[SEP] (nor [PAD]).
//   - Unknown tokens are removed ("necessary for word-level models", says model2vec), so a text
//     made only of unknown words has no tokens. StaticModel removes the id of the model's
//     unk_token; it finds that token through the Python binding's `model.unk_token`, which
//     WordPiece and WordLevel expose. We drop the unk id for every model type, Unigram
//     included: an [UNK] row shared by every text with an emoji or a rare script would pull
//     unrelated texts together, which is the one thing a cache must not do.
//   - encode()'s default max_length = 512: the text is first cut to 512 * (median token length
//     in characters, over the vocabulary) characters, then the ids to 512 tokens. We do the same,
//     so long prompts get the vector Python gives them.
//   - Vocabulary-quantised models carry "mapping" (token id -> row) and "weights" (a scalar per
//     token id): row = embeddings[mapping[id]] * weights[id]. Both optional, both honoured.
//   - vector = mean of the rows; the zero vector when there are no tokens; then, when
//     config.json says "normalize": true, divided by its L2 norm.
// The cache needs unit vectors (Embedder's contract), so we always L2-normalise. That changes no
// cosine similarity between two texts: normalize=false only changes lengths, and the semantic
// cache compares directions. So "normalize" is read and type-checked but takes no part in the
// vector or the identity. The mean is summed in double in token order, then divided and
// normalised: the result is deterministic for a given model and text.
//
// Loading checks everything a corrupt or mismatched download could get wrong before the first
// embed(): the three files exist; the tensor's dtype is supported, its shape is [rows, dim] and
// every value is finite; the tokenizer's vocabulary size equals the number of rows (as
// StaticModel requires) unless a mapping says otherwise; every id the tokenizer can produce
// indexes a row (or a mapping entry, whose targets are checked too); config.json's
// "hidden_dim", if present, equals dim.
//
// The matrix stays memory-mapped in its stored dtype; rows are widened to double while summing
// (memcpy reads, so unaligned tensors are fine). A 30k x 256 F16 model therefore costs 15 MB
// of page cache and nothing on the heap, and opening it costs the hash of its bytes.
//
// Identity: "model2vec-v1:<dir name>@<hash>/<dim>", hash = the first 12 hex digits of
// Checksum64 over (size, bytes) of model.safetensors then of tokenizer.json. The directory name
// is reduced to [A-Za-z0-9._-] (others become '_') because the identity ends up inside Redis
// keys and hash tags. The "v1" names this recipe: a change to tokenisation, pooling or the
// unknown-token rule must bump it.
//
// Threading: the model is immutable after open; embed() keeps its scratch on the stack of the
// call and touches only the counters, relaxed atomics (statistics, not synchronisation).

#include "semcache/model2vec_embedder.hpp"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "embed/embedder_stats.hpp"
#include "embed/safetensors.hpp"
#include "embed/subword_tokenizer.hpp"
#include "io/checksum.hpp"
#include "io/mapped_file.hpp"
#include "io/vector_file_detail.hpp"
#include "embed/in_quotes.hpp"
#include "embed/embedding_limits.hpp"

namespace semcache {

namespace {

using detail::TensorDType;
using detail::TensorInfo;

constexpr std::size_t kMaxTokens = 512;  // StaticModel.encode()'s default max_length

using detail::in_quotes;

bool is_float_dtype(TensorDType dtype) {
  return dtype == TensorDType::kF32 || dtype == TensorDType::kF16 || dtype == TensorDType::kBF16 ||
         dtype == TensorDType::kF64;
}

// Element i of a tensor as double. The caller has checked the dtype is one of those handled.
double element_at(const TensorInfo& tensor, std::size_t i) {
  const unsigned char* p = tensor.bytes.data();
  switch (tensor.dtype) {
    case TensorDType::kF32: {
      float v;
      std::memcpy(&v, p + 4 * i, 4);
      return v;
    }
    case TensorDType::kF16: {
      std::uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      return detail::half_to_float(h);
    }
    case TensorDType::kBF16: {
      std::uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
    }
    case TensorDType::kF64: {
      double v;
      std::memcpy(&v, p + 8 * i, 8);
      return v;
    }
    case TensorDType::kI8: return static_cast<std::int8_t>(p[i]);
    case TensorDType::kI32: {
      std::int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      return v;
    }
    case TensorDType::kI64: {
      std::int64_t v;
      std::memcpy(&v, p + 8 * i, 8);
      return static_cast<double>(v);
    }
    default: return 0;
  }
}

// sum += weight * row, for a row of `dim` elements starting at element `first`.
void accumulate_row(const TensorInfo& matrix, std::size_t first, std::size_t dim, double weight, std::vector<double>& sum) {
  const unsigned char* p = matrix.bytes.data();
  switch (matrix.dtype) {
    case TensorDType::kF32:
      for (std::size_t d = 0; d < dim; ++d) {
        float v;
        std::memcpy(&v, p + 4 * (first + d), 4);
        sum[d] += weight * v;
      }
      break;
    case TensorDType::kF16:
      for (std::size_t d = 0; d < dim; ++d) {
        std::uint16_t h;
        std::memcpy(&h, p + 2 * (first + d), 2);
        sum[d] += weight * detail::half_to_float(h);
      }
      break;
    default:
      for (std::size_t d = 0; d < dim; ++d) sum[d] += weight * element_at(matrix, first + d);
      break;
  }
}

// A NaN or an infinity in one row would turn every text holding that token into the zero
// vector without a word; a model with one is refused at open, naming the row.
Status check_finite(const TensorInfo& tensor, std::size_t row_length, const std::string& where) {
  const std::size_t count = tensor.bytes.size() / detail::dtype_size(tensor.dtype);
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(element_at(tensor, i))) {
      return Status::bad_input(where + "tensor " + in_quotes(tensor.name) + " holds a NaN or an infinity in row " +
                               std::to_string(i / row_length));
    }
  }
  return Status::ok();
}

// Keeps the directory name safe inside Redis keys and hash tags.
std::string identity_name(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::filesystem::path path(dir);
  std::string name = path.filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code error;
    const auto absolute = std::filesystem::weakly_canonical(path, error);
    if (!error) name = absolute.filename().string();
  }
  for (char& c : name) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
    if (!keep) c = '_';
  }
  return name.empty() ? "model" : name;
}

std::string content_hash(std::span<const unsigned char> model, std::span<const unsigned char> tokenizer) {
  detail::Checksum64 checksum;
  for (const auto bytes : {model, tokenizer}) {
    const std::uint64_t size = bytes.size();
    checksum.update(&size, sizeof size);
    checksum.update(bytes.data(), bytes.size());
  }
  const std::uint64_t digest = checksum.digest();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (int shift = 60; shift >= 16; shift -= 4) hex.push_back(kHex[(digest >> shift) & 0xF]);
  return hex;
}

// The median length in characters of the vocabulary's tokens, as int(np.median(...)) does.
std::size_t median_token_chars(const detail::SubwordTokenizer& tokenizer) {
  std::vector<std::size_t> lengths;
  for (std::uint32_t id = 0; id <= tokenizer.max_id(); ++id) {
    const std::string_view token = tokenizer.token(id);
    if (token.empty()) continue;
    lengths.push_back(static_cast<std::size_t>(
        std::count_if(token.begin(), token.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; })));
  }
  if (lengths.empty()) return 1;
  std::sort(lengths.begin(), lengths.end());
  const std::size_t n = lengths.size();
  const std::size_t median = n % 2 == 1 ? lengths[n / 2] : (lengths[n / 2 - 1] + lengths[n / 2]) / 2;
  return std::max<std::size_t>(median, 1);
}

Status read_config(const std::string& path, std::size_t dim) {
  auto file = detail::MappedFile::open(path);
  if (!file) return file.status();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto error = parser.parse(reinterpret_cast<const char*>(file->data()), file->size()).get(root);
      error != simdjson::SUCCESS) {
    return Status::bad_input(path + ": not valid JSON: " + simdjson::error_message(error));
  }
  simdjson::dom::object config;
  if (root.get_object().get(config) != simdjson::SUCCESS) return Status::bad_input(path + ": expected a JSON object");
  simdjson::dom::element normalize;
  if (config["normalize"].get(normalize) == simdjson::SUCCESS && !normalize.is_null() && !normalize.is_bool()) {
    return Status::bad_input(path + ": \"normalize\" must be true or false");
  }
  simdjson::dom::element hidden_dim;
  if (config["hidden_dim"].get(hidden_dim) == simdjson::SUCCESS && !hidden_dim.is_null()) {
    std::uint64_t value = 0;
    if (hidden_dim.get_uint64().get(value) != simdjson::SUCCESS) {
      return Status::bad_input(path + ": \"hidden_dim\" must be a non-negative integer");
    }
    if (value != dim) {
      return Status::bad_input(path + ": \"hidden_dim\" is " + std::to_string(value) +
                               ", but the embedding matrix has " + std::to_string(dim) + " columns");
    }
  }
  return Status::ok();
}

class Model2VecEmbedder final : public Embedder {
 public:
  Model2VecEmbedder(detail::SafetensorsFile file, detail::SubwordTokenizer tokenizer)
      : file_(std::move(file)), tokenizer_(std::move(tokenizer)) {}

  // Checks the tensors against the tokenizer and sets the identity "model2vec-v1:<name_hash>/<dim>";
  // called once by open_model2vec_embedder, before the embedder is shared.
  Status bind(const std::string& dir, const std::string& name_hash) {
    const std::string where = file_.path() + ": ";
    matrix_ = file_.find("embeddings");
    if (matrix_ == nullptr) matrix_ = file_.find("embedding.weight");  // sentence-transformers' name
    if (matrix_ == nullptr) {
      std::string names;
      for (const TensorInfo& tensor : file_.tensors()) names += (names.empty() ? "" : ", ") + in_quotes(tensor.name);
      return Status::bad_input(where + "no tensor \"embeddings\" (found: " + (names.empty() ? "none" : names) + ")");
    }
    if (!is_float_dtype(matrix_->dtype) && matrix_->dtype != TensorDType::kI8) {
      return Status::bad_input(where + "tensor \"embeddings\" has dtype " + std::string(detail::dtype_name(matrix_->dtype)) +
                               ", expected F32, F16, BF16, F64 or I8");
    }
    if (matrix_->shape.size() != 2 || matrix_->shape[0] == 0 || matrix_->shape[1] == 0 || matrix_->shape[1] > detail::kMaxEmbeddingDim) {
      return Status::bad_input(where + "tensor \"embeddings\" must have shape [rows, dim] with rows >= 1 and 1 <= dim <= " +
                               std::to_string(detail::kMaxEmbeddingDim));
    }
    rows_ = static_cast<std::size_t>(matrix_->shape[0]);
    dim_ = static_cast<std::size_t>(matrix_->shape[1]);
    if (Status status = check_finite(*matrix_, dim_, where); !status) return status;
    const std::size_t vocab = tokenizer_.vocab_size();
    const std::size_t ids = static_cast<std::size_t>(tokenizer_.max_id()) + 1;

    mapping_ = file_.find("mapping");
    if (mapping_ != nullptr) {
      if (mapping_->dtype != TensorDType::kI32 && mapping_->dtype != TensorDType::kI64) {
        return Status::bad_input(where + "tensor \"mapping\" has dtype " + std::string(detail::dtype_name(mapping_->dtype)) +
                                 ", expected I32 or I64");
      }
      if (mapping_->shape.size() != 1 || mapping_->shape[0] < ids) {
        return Status::bad_input(where + "tensor \"mapping\" must have shape [" + std::to_string(ids) +
                                 "] (one row index per token id)");
      }
      for (std::size_t i = 0; i < ids; ++i) {
        const double row = element_at(*mapping_, i);
        if (row < 0 || row >= static_cast<double>(rows_)) {
          return Status::bad_input(where + "tensor \"mapping\" maps token id " + std::to_string(i) + " to row " +
                                   std::to_string(static_cast<long long>(row)) + ", beyond the " +
                                   std::to_string(rows_) + " rows of \"embeddings\"");
        }
      }
    } else if (vocab != rows_ || ids > rows_) {
      return Status::bad_input(where + "tensor \"embeddings\" has " + std::to_string(rows_) + " rows, but " + dir +
                               "/tokenizer.json has " + std::to_string(vocab) + " tokens (ids up to " +
                               std::to_string(ids - 1) + "): the files belong to different models");
    }

    weights_ = file_.find("weights");
    if (weights_ != nullptr) {
      if (!is_float_dtype(weights_->dtype)) {
        return Status::bad_input(where + "tensor \"weights\" has dtype " + std::string(detail::dtype_name(weights_->dtype)) +
                                 ", expected F32, F16, BF16 or F64");
      }
      if (weights_->shape.size() != 1 || weights_->shape[0] < ids) {
        return Status::bad_input(where + "tensor \"weights\" must have shape [" + std::to_string(ids) +
                                 "] (one weight per token id)");
      }
      if (Status status = check_finite(*weights_, 1, where); !status) return status;
    }
    unk_id_ = tokenizer_.unk_id();
    max_chars_ = kMaxTokens * median_token_chars(tokenizer_);
    identity_ = "model2vec-v1:" + name_hash + "/" + std::to_string(dim_);
    return Status::ok();
  }

  std::size_t dim() const override { return dim_; }
  const std::string& identity() const override { return identity_; }

  Status embed(std::span<const std::string_view> texts, std::span<float> out) override {
    if (Status st = detail::check_output_size(identity_, texts.size(), dim_, out.size()); !st) return st;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::uint32_t> ids;
    std::vector<double> sum(dim_);
    std::uint64_t tokens = 0;
    for (std::size_t t = 0; t < texts.size(); ++t) {
      ids.clear();
      tokenizer_.encode(texts[t], ids, max_chars_);
      if (unk_id_) std::erase(ids, *unk_id_);
      if (ids.size() > kMaxTokens) ids.resize(kMaxTokens);
      tokens += ids.size();
      embed_ids(ids, sum, out.subspan(t * dim_, dim_));
    }
    stats_.add_texts(texts.size(), tokens);
    stats_.add_time_since(start);
    return Status::ok();
  }

  EmbedderCounters counters() const override { return stats_.snapshot(); }

 private:
  // The mean's 1/n factor cancels in the normalisation, so the sum is normalised directly.
  void embed_ids(const std::vector<std::uint32_t>& ids, std::vector<double>& sum, std::span<float> out) const {
    std::fill(sum.begin(), sum.end(), 0.0);
    for (const std::uint32_t id : ids) {
      const std::size_t row = mapping_ != nullptr ? static_cast<std::size_t>(element_at(*mapping_, id)) : id;
      const double weight = weights_ != nullptr ? element_at(*weights_, id) : 1.0;
      accumulate_row(*matrix_, row * dim_, dim_, weight, sum);
    }
    double norm = 0;
    for (const double v : sum) norm += v * v;
    norm = std::sqrt(norm);
    const bool finite_nonzero = norm > 0 && std::isfinite(norm);
    for (std::size_t d = 0; d < dim_; ++d) out[d] = finite_nonzero ? static_cast<float>(sum[d] / norm) : 0.0f;
  }

  detail::SafetensorsFile file_;
  detail::SubwordTokenizer tokenizer_;
  std::string identity_;
  const TensorInfo* matrix_ = nullptr;   // points into file_'s tensor list, like the two below
  const TensorInfo* mapping_ = nullptr;
  const TensorInfo* weights_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t dim_ = 0;
  std::optional<std::uint32_t> unk_id_;
  std::size_t max_chars_ = 0;
  detail::EmbedderStats stats_;
};

}  // namespace

Expected<std::shared_ptr<Embedder>> open_model2vec_embedder(const std::string& dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return Status::not_found("model2vec model " + in_quotes(dir) +
                             ": not a directory (expected one holding model.safetensors, tokenizer.json and config.json)");
  }
  const std::string base = (std::filesystem::path(dir) / "").string();
  for (const char* name : {"model.safetensors", "tokenizer.json", "config.json"}) {
    if (!std::filesystem::exists(base + name, error)) {
      return Status::not_found(base + name + ": missing (a model2vec model directory holds model.safetensors, " +
                               "tokenizer.json and config.json, e.g. a download of minishlab/potion-base-8M)");
    }
  }
  auto file = detail::SafetensorsFile::open(base + "model.safetensors");
  if (!file) return file.status();
  auto tokenizer_file = detail::MappedFile::open(base + "tokenizer.json");
  if (!tokenizer_file) return tokenizer_file.status();
  const std::span<const unsigned char> tokenizer_bytes(tokenizer_file->data(), tokenizer_file->size());
  auto tokenizer = detail::SubwordTokenizer::parse(
      std::string_view(reinterpret_cast<const char*>(tokenizer_bytes.data()), tokenizer_bytes.size()),
      base + "tokenizer.json");
  if (!tokenizer) return tokenizer.status();
  const std::string name_hash = identity_name(dir) + "@" + content_hash(file->image(), tokenizer_bytes);

  auto embedder = std::make_shared<Model2VecEmbedder>(std::move(*file), std::move(*tokenizer));
  if (Status status = embedder->bind(dir, name_hash); !status) return status;
  if (Status status = read_config(base + "config.json", embedder->dim()); !status) return status;
  return std::shared_ptr<Embedder>(std::move(embedder));
}

}  // namespace semcache
