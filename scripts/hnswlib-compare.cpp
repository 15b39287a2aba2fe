// hnswlib-compare: the hnswlib side of scripts/bench-vs-hnswlib.
//
// What it measures. The same thing `semcache bench recall` measures, on the
// same files, written in the same result JSON ("kind":"recall", "tool":"hnswlib"),
// so that the two results sit side by side and `semcache compare` and the
// script can read both:
//
//   build   hnswlib::HierarchicalNSW<float> over hnswlib::InnerProductSpace,
//           --threads threads calling addPoint concurrently, each taking the
//           next row from one atomic counter (what hnswlib's Python binding
//           does; like it, the first row goes in alone so that the entry point
//           exists before the threads start). Wall-clock seconds from the
//           first addPoint to the last join.
//   queries for each --ef: setEf, then every query ONE AT A TIME on ONE thread,
//           each timed with std::chrono::steady_clock around searchKnn plus the
//           copy of its k labels out of the priority queue (the caller needs
//           them; semcache's search returns them too). qps = queries / sum of
//           the per-query times; latency percentiles are nearest-rank over the
//           sorted per-query times, in microseconds. Before the first ef, one
//           untimed warm-up pass over all queries fills caches and faults in
//           the visited-list pool. --repeat R times R passes per ef, as
//           `bench recall --repeat` does: qps is the median pass (every pass's
//           qps in repeats[]), the latency percentiles pool all passes.
//   work    hops_per_query (nodes whose neighbour list was scanned, all
//           layers) and neighbours_scanned_per_query (the lengths of those
//           lists: an upper bound on distances computed, since visited ids are
//           skipped), from hnswlib's own counters over the first pass.
//   recall  |found ∩ gt[:k]| / k averaged over queries, against the first k
//           columns of --gt (TEXMEX ivecs, row ids into --base); without --gt
//           the exact top-k is computed here by brute force on the same
//           normalised vectors.
//
// Cosine. Every base and query vector is scaled to unit length when read, so
// cosine similarity is the inner product and hnswlib's InnerProductSpace
// (distance = 1 - dot) orders neighbours exactly as cosine distance does. A
// zero vector is left as it is (it has no direction to normalise).
//
// Memory. `build.memory_bytes` is hnswlib's own layout, computed from its
// fields after the build: the level-0 block (max_elements *
// size_data_per_element_: links, vector and label of every element), the
// upper-layer link lists (size_links_per_element_ per level of each element
// above 0), the linkLists_ pointer array and element_levels_. It leaves out
// the per-element mutexes, the label hash map and the visited-list pool;
// those, plus allocator overhead, show in `build.rss_growth_bytes`, the
// growth of the resident set across index construction and build.
// `build.memory_source` says which figure memory_bytes is.
//
// This file is not part of the library or of the CMake build: the script
// compiles it with `g++ -std=c++17 -O3 -march=native -DNDEBUG -pthread` so
// that hnswlib's header-only kernels get the widest SIMD this machine has
// (AVX-512 on the bench box); `machine.cpu_flags` lists what was compiled in
// and `machine.hnswlib_kernel` the distance kernel hnswlib picked at run time.
//
// Exit codes follow the semcache CLI: 0 success, 2 bad usage or bad input
// (the message names the file and what was expected), 3 a runtime failure.

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

constexpr int kExitBadInput = 2;
constexpr int kExitRuntime = 3;

struct BadInput : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    std::string base_path;
    std::string queries_path;
    std::string gt_path;  // empty: compute exact ground truth here
    std::string json_path;
    std::string tool_version;  // e.g. the Debian package version; null when empty
    size_t k = 10;
    std::vector<size_t> ef_list = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
    size_t m = 16;
    size_t ef_construction = 200;
    size_t threads = 2;
    size_t seed = 100;  // hnswlib's default level-generator seed
    size_t repeat = 1;  // timed passes over the queries per ef, pooled
};

template <typename T>
struct Matrix {
    size_t rows = 0;
    size_t dim = 0;
    std::vector<T> data;
    const T* row(size_t i) const { return data.data() + i * dim; }
    T* row(size_t i) { return data.data() + i * dim; }
};

const char* kUsage =
    "usage: hnswlib-compare --base B.fvecs --queries Q.fvecs [--gt GT.ivecs] [-k 10]\n"
    "         [--ef 10,16,24,...] [--m 16] [--ef-construction 200] [--threads 2]\n"
    "         [--repeat 1] [--seed 100] [--tool-version V] [--json OUT.json]\n"
    "\n"
    "Builds an hnswlib index (inner product on unit vectors = cosine) with --threads\n"
    "threads, then for each ef times every query one at a time on one thread and\n"
    "reports recall@k, qps and latency percentiles (us) in semcache's recall JSON.\n";

size_t parse_size(const std::string& flag, const std::string& text) {
    size_t used = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || text[0] == '-' || value == 0)
        throw BadInput(flag + ": expected a positive integer, got \"" + text + "\"");
    return static_cast<size_t>(value);
}

std::vector<size_t> parse_size_list(const std::string& flag, const std::string& text) {
    std::vector<size_t> values;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        values.push_back(parse_size(flag, text.substr(start, comma - start)));
        start = comma + 1;
    }
    return values;
}

Options parse_args(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string flag = argv[i];
        if (flag == "-h" || flag == "--help") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        }
        if (i + 1 >= argc) throw BadInput(flag + ": expected a value (see --help)");
        std::string value = argv[++i];
        if (flag == "--base") options.base_path = value;
        else if (flag == "--queries") options.queries_path = value;
        else if (flag == "--gt") options.gt_path = value;
        else if (flag == "--json") options.json_path = value;
        else if (flag == "--tool-version") options.tool_version = value;
        else if (flag == "-k" || flag == "--k") options.k = parse_size(flag, value);
        else if (flag == "--ef") options.ef_list = parse_size_list(flag, value);
        else if (flag == "--m") options.m = parse_size(flag, value);
        else if (flag == "--ef-construction") options.ef_construction = parse_size(flag, value);
        else if (flag == "--threads") options.threads = parse_size(flag, value);
        else if (flag == "--seed") options.seed = parse_size(flag, value);
        else if (flag == "--repeat") options.repeat = parse_size(flag, value);
        else throw BadInput("unknown option \"" + flag + "\" (see --help)");
    }
    if (options.base_path.empty() || options.queries_path.empty())
        throw BadInput("--base and --queries are required (see --help)");
    return options;
}

// TEXMEX .fvecs / .ivecs: each row is an int32 dimension followed by that many
// 4-byte values. Every row must have the dimension of the first.
template <typename T>
Matrix<T> read_vecs(const std::string& path) {
    static_assert(sizeof(T) == 4, "fvecs/ivecs hold 4-byte values");
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw BadInput(path + ": cannot open for reading");
    const auto file_bytes = static_cast<size_t>(in.tellg());
    in.seekg(0);
    std::vector<char> bytes(file_bytes);
    if (file_bytes > 0 && !in.read(bytes.data(), static_cast<std::streamsize>(file_bytes)))
        throw BadInput(path + ": read failed");
    if (file_bytes < 4) throw BadInput(path + ": empty, expected TEXMEX rows (int32 dim, then values)");

    int32_t dim = 0;
    std::memcpy(&dim, bytes.data(), 4);
    if (dim <= 0 || dim > (1 << 20))
        throw BadInput(path + ": row 0: dimension " + std::to_string(dim) + " is not in 1..1048576");
    const size_t row_bytes = 4 + 4 * static_cast<size_t>(dim);
    if (file_bytes % row_bytes != 0)
        throw BadInput(path + ": " + std::to_string(file_bytes) + " bytes is not a whole number of rows of " +
                       std::to_string(row_bytes) + " bytes (dim " + std::to_string(dim) + ")");

    Matrix<T> matrix;
    matrix.rows = file_bytes / row_bytes;
    matrix.dim = static_cast<size_t>(dim);
    matrix.data.resize(matrix.rows * matrix.dim);
    for (size_t r = 0; r < matrix.rows; ++r) {
        const char* at = bytes.data() + r * row_bytes;
        int32_t row_dim = 0;
        std::memcpy(&row_dim, at, 4);
        if (row_dim != dim)
            throw BadInput(path + ": row " + std::to_string(r) + " (byte " + std::to_string(r * row_bytes) +
                           "): dimension " + std::to_string(row_dim) + ", expected " + std::to_string(dim));
        std::memcpy(matrix.row(r), at + 4, 4 * matrix.dim);
    }
    return matrix;
}

void normalise_rows(Matrix<float>& matrix) {
    for (size_t r = 0; r < matrix.rows; ++r) {
        float* v = matrix.row(r);
        double sum = 0;
        for (size_t d = 0; d < matrix.dim; ++d) sum += double(v[d]) * v[d];
        if (sum == 0) continue;
        const float inv = static_cast<float>(1.0 / std::sqrt(sum));
        for (size_t d = 0; d < matrix.dim; ++d) v[d] *= inv;
    }
}

// Runs body(i) for i in [0, count) on `threads` threads, each taking the next
// index from a shared counter.
template <typename Body>
void parallel_for(size_t count, size_t threads, Body body) {
    std::atomic<size_t> next{0};
    auto worker = [&] {
        for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) body(i);
    };
    if (threads <= 1) {
        worker();
        return;
    }
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& thread : pool) thread.join();
}

// Exact top-k by inner product (ties to the lower id), for runs without --gt.
Matrix<int32_t> exact_ground_truth(const Matrix<float>& base, const Matrix<float>& queries, size_t k,
                                   hnswlib::SpaceInterface<float>& space, size_t threads) {
    Matrix<int32_t> gt;
    gt.rows = queries.rows;
    gt.dim = k;
    gt.data.resize(gt.rows * k);
    auto distance = space.get_dist_func();
    void* param = space.get_dist_func_param();
    parallel_for(queries.rows, threads, [&](size_t q) {
        std::vector<std::pair<float, int32_t>> scored(base.rows);
        for (size_t i = 0; i < base.rows; ++i)
            scored[i] = {distance(queries.row(q), base.row(i), param), static_cast<int32_t>(i)};
        std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(k), scored.end());
        for (size_t j = 0; j < k; ++j) gt.row(q)[j] = scored[j].second;
    });
    return gt;
}

size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    size_t total_pages = 0, resident_pages = 0;
    statm >> total_pages >> resident_pages;
    return resident_pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

size_t hnswlib_layout_bytes(const hnswlib::HierarchicalNSW<float>& index) {
    size_t bytes = index.max_elements_ * index.size_data_per_element_;
    for (size_t i = 0; i < index.cur_element_count; ++i)
        bytes += static_cast<size_t>(index.element_levels_[i]) * index.size_links_per_element_;
    bytes += index.max_elements_ * sizeof(void*);                  // linkLists_
    bytes += index.element_levels_.size() * sizeof(int);          // element_levels_
    return bytes;
}

std::vector<std::string> compiled_cpu_flags() {
    std::vector<std::string> flags;
#ifdef __SSE__
    flags.push_back("sse");
#endif
#ifdef __AVX__
    flags.push_back("avx");
#endif
#ifdef __AVX2__
    flags.push_back("avx2");
#endif
#ifdef __FMA__
    flags.push_back("fma");
#endif
#ifdef __AVX512F__
    flags.push_back("avx512f");
#endif
#ifdef __AVX512BW__
    flags.push_back("avx512bw");
#endif
#ifdef __AVX512VL__
    flags.push_back("avx512vl");
#endif
    return flags;
}

// Which of hnswlib's inner-product kernels the space chose (it decides once, in
// its constructor, from the dimension and the CPU).
std::string hnswlib_kernel_name(hnswlib::SpaceInterface<float>& space) {
    auto f = space.get_dist_func();
#if defined(USE_AVX512)
    if (f == hnswlib::InnerProductDistanceSIMD16ExtAVX512) return "avx512 (16 floats/step)";
#endif
#if defined(USE_AVX)
    if (f == hnswlib::InnerProductDistanceSIMD16ExtAVX) return "avx (16 floats/step)";
    if (f == hnswlib::InnerProductDistanceSIMD4ExtAVX) return "avx (4 floats/step)";
#endif
#if defined(USE_SSE) || defined(USE_AVX) || defined(USE_AVX512)
    if (f == hnswlib::InnerProductDistanceSIMD16ExtSSE) return "sse (16 floats/step)";
    if (f == hnswlib::InnerProductDistanceSIMD4ExtSSE) return "sse (4 floats/step)";
    if (f == hnswlib::InnerProductDistanceSIMD16ExtResiduals) return "simd16 + scalar tail";
    if (f == hnswlib::InnerProductDistanceSIMD4ExtResiduals) return "simd4 + scalar tail";
#endif
    if (f == hnswlib::InnerProductDistance) return "scalar";
    return "unknown";
}

struct Latency {
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

// Nearest rank: the smallest value with at least p of the samples at or below it.
double nearest_rank(const std::vector<double>& sorted, double p) {
    auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
    rank = std::clamp<size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

struct Run {
    size_t ef = 0;
    double recall_at_k = 0;
    double qps = 0;                  // median over the --repeat passes
    std::vector<double> qps_repeats;  // every pass
    Latency latency_us;              // pooled over the passes
    double hops_per_query = 0;       // nodes whose neighbour list was scanned (all layers)
    double neighbours_scanned_per_query = 0;  // sum of those lists: an upper bound on distances computed
};

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const size_t mid = values.size() / 2;
    return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

struct Build {
    double seconds = 0;
    size_t memory_bytes = 0;
    size_t rss_growth_bytes = 0;
};

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string json_number(double value, const char* format = "%.6g") {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

std::string result_json(const Options& options, size_t n, size_t dim, size_t queries_count, const Build& build,
                        const std::vector<Run>& runs, const std::string& kernel) {
    std::string j = "{\n";
    j += "  \"kind\": \"recall\",\n";
    j += "  \"tool\": \"hnswlib\",\n";
    j += "  \"tool_version\": " + (options.tool_version.empty() ? "null" : json_string(options.tool_version)) + ",\n";
    j += "  \"semcache_version\": null,\n";
    j += "  \"params\": {\"base\": " + json_string(options.base_path) +
         ", \"queries\": " + json_string(options.queries_path) +
         ", \"gt\": " + (options.gt_path.empty() ? "null" : json_string(options.gt_path)) +
         ", \"k\": " + std::to_string(options.k) + ", \"m\": " + std::to_string(options.m) +
         ", \"ef_construction\": " + std::to_string(options.ef_construction) +
         ", \"threads\": " + std::to_string(options.threads) + ", \"quant\": \"f32\", \"metric\": \"cosine\"" +
         ", \"n\": " + std::to_string(n) + ", \"dim\": " + std::to_string(dim) +
         ", \"queries_count\": " + std::to_string(queries_count) + ", \"repeat\": " + std::to_string(options.repeat) +
         ", \"seed\": " + std::to_string(options.seed) + "},\n";
    j += "  \"machine\": {\"cores\": " + std::to_string(std::thread::hardware_concurrency()) + ", \"cpu_flags\": [";
    const auto flags = compiled_cpu_flags();
    for (size_t i = 0; i < flags.size(); ++i) j += (i ? ", " : "") + json_string(flags[i]);
    j += "], \"hnswlib_kernel\": " + json_string(kernel) + "},\n";
    j += "  \"build\": {\"seconds\": " + json_number(build.seconds, "%.6f") +
         ", \"vectors_per_second\": " + json_number(double(n) / build.seconds) +
         ", \"memory_bytes\": " + std::to_string(build.memory_bytes) +
         ", \"memory_source\": \"hnswlib_layout\", \"rss_growth_bytes\": " + std::to_string(build.rss_growth_bytes) +
         "},\n";
    j += "  \"runs\": [\n";
    for (size_t i = 0; i < runs.size(); ++i) {
        const Run& r = runs[i];
        std::string repeats;
        for (size_t p = 0; p < r.qps_repeats.size(); ++p) {
            repeats += std::string(p ? ", " : "") + "{\"qps\": " + json_number(r.qps_repeats[p]) + "}";
        }
        j += "    {\"ef\": " + std::to_string(r.ef) + ", \"k\": " + std::to_string(options.k) +
             ", \"recall_at_k\": " + json_number(r.recall_at_k, "%.6f") + ", \"qps\": " + json_number(r.qps) +
             ", \"repeats\": [" + repeats + "]" +
             ", \"latency_us\": {\"p50\": " + json_number(r.latency_us.p50) +
             ", \"p90\": " + json_number(r.latency_us.p90) + ", \"p99\": " + json_number(r.latency_us.p99) +
             ", \"p999\": " + json_number(r.latency_us.p999) + ", \"max\": " + json_number(r.latency_us.max) + "}" +
             ", \"hops_per_query\": " + json_number(r.hops_per_query) +
             ", \"neighbours_scanned_per_query\": " + json_number(r.neighbours_scanned_per_query) + "}" +
             (i + 1 < runs.size() ? ",\n" : "\n");
    }
    j += "  ]\n}\n";
    return j;
}

int run(const Options& options) {
    Matrix<float> base = read_vecs<float>(options.base_path);
    Matrix<float> queries = read_vecs<float>(options.queries_path);
    if (queries.dim != base.dim)
        throw BadInput(options.queries_path + ": dimension " + std::to_string(queries.dim) + ", expected " +
                       std::to_string(base.dim) + " (the dimension of " + options.base_path + ")");
    if (options.k > base.rows)
        throw BadInput("-k " + std::to_string(options.k) + " exceeds the " + std::to_string(base.rows) +
                       " vectors of " + options.base_path);
    normalise_rows(base);
    normalise_rows(queries);

    hnswlib::InnerProductSpace space(base.dim);
    const std::string kernel = hnswlib_kernel_name(space);

    Matrix<int32_t> gt;
    if (!options.gt_path.empty()) {
        gt = read_vecs<int32_t>(options.gt_path);
        if (gt.rows < queries.rows)
            throw BadInput(options.gt_path + ": " + std::to_string(gt.rows) + " rows, expected one per query (" +
                           std::to_string(queries.rows) + ")");
        if (gt.dim < options.k)
            throw BadInput(options.gt_path + ": " + std::to_string(gt.dim) + " neighbours per row, -k needs " +
                           std::to_string(options.k));
        for (size_t q = 0; q < queries.rows; ++q)
            for (size_t j = 0; j < options.k; ++j)
                if (gt.row(q)[j] < 0 || static_cast<size_t>(gt.row(q)[j]) >= base.rows)
                    throw BadInput(options.gt_path + ": row " + std::to_string(q) + ", column " + std::to_string(j) +
                                   ": id " + std::to_string(gt.row(q)[j]) + " is not a row of " + options.base_path);
    } else {
        std::fprintf(stderr, "hnswlib-compare: no --gt, computing exact top-%zu by brute force\n", options.k);
        gt = exact_ground_truth(base, queries, options.k, space, options.threads);
    }

    // Build.
    Build build;
    const size_t rss_before = resident_bytes();
    hnswlib::HierarchicalNSW<float> index(&space, base.rows, options.m, options.ef_construction, options.seed);
    const auto build_start = std::chrono::steady_clock::now();
    index.addPoint(base.row(0), 0);
    parallel_for(base.rows - 1, options.threads,
                 [&](size_t i) { index.addPoint(base.row(i + 1), static_cast<hnswlib::labeltype>(i + 1)); });
    build.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
    const size_t rss_after = resident_bytes();
    build.rss_growth_bytes = rss_after > rss_before ? rss_after - rss_before : 0;
    build.memory_bytes = hnswlib_layout_bytes(index);

    std::printf("hnswlib%s%s: n=%zu dim=%zu queries=%zu k=%zu m=%zu ef_construction=%zu kernel=%s\n",
                options.tool_version.empty() ? "" : " ", options.tool_version.c_str(), base.rows, base.dim, queries.rows,
                options.k, options.m, options.ef_construction, kernel.c_str());
    std::printf("build: %.3f s with %zu threads (%.0f vectors/s), memory %.1f MiB (hnswlib layout), rss +%.1f MiB\n",
                build.seconds, options.threads, double(base.rows) / build.seconds, build.memory_bytes / 1048576.0,
                build.rss_growth_bytes / 1048576.0);

    // Queries: one at a time, one thread.
    const size_t k = options.k;
    std::vector<hnswlib::labeltype> found(queries.rows * k);
    std::vector<double> latency_us(queries.rows * options.repeat);
    std::vector<Run> runs;

    auto search_one = [&](size_t q) {
        auto result = index.searchKnn(queries.row(q), k);
        hnswlib::labeltype* out = found.data() + q * k;
        size_t count = 0;
        for (; !result.empty() && count < k; ++count) {
            out[count] = result.top().second;
            result.pop();
        }
        for (; count < k; ++count) out[count] = static_cast<hnswlib::labeltype>(-1);
    };

    std::printf("%6s %10s %10s %9s %9s %9s %9s %9s %7s %9s\n", "ef", "recall@k", "qps", "p50_us", "p90_us",
                "p99_us", "p999_us", "max_us", "hops/q", "scanned/q");
    for (size_t e = 0; e < options.ef_list.size(); ++e) {
        Run r;
        r.ef = options.ef_list[e];
        index.setEf(r.ef);
        if (e == 0)
            for (size_t q = 0; q < queries.rows; ++q) search_one(q);  // warm-up, untimed

        // hnswlib counts its work in searchKnn whether asked or not; read the
        // counters over the first pass.
        index.metric_hops = 0;
        index.metric_distance_computations = 0;
        for (size_t pass = 0; pass < options.repeat; ++pass) {
            double pass_seconds = 0;
            for (size_t q = 0; q < queries.rows; ++q) {
                const auto start = std::chrono::steady_clock::now();
                search_one(q);
                const double seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                latency_us[pass * queries.rows + q] = seconds * 1e6;
                pass_seconds += seconds;
            }
            r.qps_repeats.push_back(double(queries.rows) / pass_seconds);
            if (pass == 0) {
                r.hops_per_query = double(index.metric_hops.load()) / double(queries.rows);
                r.neighbours_scanned_per_query =
                    double(index.metric_distance_computations.load()) / double(queries.rows);
            }
        }

        size_t hits = 0;
        for (size_t q = 0; q < queries.rows; ++q) {
            const int32_t* truth = gt.row(q);
            const hnswlib::labeltype* got = found.data() + q * k;
            for (size_t a = 0; a < k; ++a)
                for (size_t b = 0; b < k; ++b)
                    if (got[a] == static_cast<hnswlib::labeltype>(truth[b])) {
                        ++hits;
                        break;
                    }
        }
        r.recall_at_k = double(hits) / double(queries.rows * k);
        r.qps = median(r.qps_repeats);
        std::sort(latency_us.begin(), latency_us.end());
        r.latency_us = {nearest_rank(latency_us, 0.50), nearest_rank(latency_us, 0.90),
                        nearest_rank(latency_us, 0.99), nearest_rank(latency_us, 0.999), latency_us.back()};
        runs.push_back(r);
        std::printf("%6zu %10.4f %10.1f %9.1f %9.1f %9.1f %9.1f %9.1f %7.0f %9.0f\n", r.ef, r.recall_at_k, r.qps,
                    r.latency_us.p50, r.latency_us.p90, r.latency_us.p99, r.latency_us.p999, r.latency_us.max,
                    r.hops_per_query, r.neighbours_scanned_per_query);
        std::fflush(stdout);
    }

    if (!options.json_path.empty()) {
        const std::string json = result_json(options, base.rows, base.dim, queries.rows, build, runs, kernel);
        std::ofstream out(options.json_path, std::ios::binary | std::ios::trunc);
        out << json;
        out.close();
        if (!out) throw std::runtime_error(options.json_path + ": write failed");
        std::printf("wrote %s\n", options.json_path.c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_args(argc, argv));
    } catch (const BadInput& e) {
        std::fprintf(stderr, "hnswlib-compare: %s\n", e.what());
        return kExitBadInput;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hnswlib-compare: %s\n", e.what());
        return kExitRuntime;
    }
}
