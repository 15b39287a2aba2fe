// Tests for the vector file readers and writers (semcache/vector_file.hpp). Every input is
// built byte by byte in the test, so each expected value is known exactly; every malformed
// case must give bad_input with a message naming the file and the position.

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "io/vector_file_detail.hpp"
#include "semcache/vector_file.hpp"
#include "temp_dir.hpp"

using semcache::ErrorCode;
using semcache::FloatMatrix;
using semcache::IntMatrix;
using semcache::Status;
using semcache::VectorFormat;
using semcache::VectorReader;
using semcache::VectorRecord;

namespace {

using semcache::testing::TempDir;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

template <typename T>
void append(std::string& out, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.append(raw, sizeof(T));
}

std::string fvecs_row(const std::vector<float>& values) {
  std::string out;
  append<std::int32_t>(out, static_cast<std::int32_t>(values.size()));
  for (float v : values) append(out, v);
  return out;
}

// An .npy file: magic, version, header length, the dict padded with spaces and a newline so
// that the data starts at a multiple of `align`, then `data`.
std::string npy_file(int major, std::string dict, const std::string& data, std::size_t align = 64) {
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t prefix = out.size() + (major == 1 ? 2 : 4);
  while ((prefix + dict.size() + 1) % align != 0) dict += ' ';
  dict += '\n';
  if (major == 1) {
    append<std::uint16_t>(out, static_cast<std::uint16_t>(dict.size()));
  } else {
    append<std::uint32_t>(out, static_cast<std::uint32_t>(dict.size()));
  }
  return out + dict + data;
}

std::string npy_dict(const std::string& descr, const std::string& shape, const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

// The first error met when reading every record of `path`, or OK.
Status read_all(const std::string& path, VectorFormat format = VectorFormat::kAuto) {
  auto reader = VectorReader::open(path, format);
  if (!reader) return reader.status();
  VectorRecord record;
  for (;;) {
    auto more = (*reader)->next(record);
    if (!more) return more.status();
    if (!*more) return Status::ok();
  }
}

void require_bad_input(const Status& status, std::initializer_list<std::string> parts) {
  INFO("message: " << status.message());
  REQUIRE(status.code() == ErrorCode::kBadInput);
  for (const auto& part : parts) CHECK_THAT(status.message(), Catch::Contains(part));
}

FloatMatrix random_matrix(std::size_t rows, std::size_t dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-10.0f, 10.0f);
  FloatMatrix m;
  m.rows = rows;
  m.dim = dim;
  m.data.resize(rows * dim);
  for (float& v : m.data) v = uniform(rng);
  return m;
}

std::vector<float> as_vector(std::span<const float> s) { return std::vector<float>(s.begin(), s.end()); }

}  // namespace

TEST_CASE("vector_file: format names round-trip", "[io]") {
  for (auto format : {VectorFormat::kAuto, VectorFormat::kFvecs, VectorFormat::kIvecs, VectorFormat::kBvecs,
                      VectorFormat::kNpy, VectorFormat::kJsonl}) {
    auto parsed = semcache::parse_vector_format(semcache::to_string(format));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == format);
  }
  CHECK(semcache::parse_vector_format("ndjson") == VectorFormat::kJsonl);
  CHECK_FALSE(semcache::parse_vector_format("csv").has_value());
  CHECK_FALSE(semcache::parse_vector_format("").has_value());
}

TEST_CASE("vector_file: fvecs write/read round-trip", "[io]") {
  TempDir dir;
  const std::string path = dir.path("base.fvecs");
  const FloatMatrix m = random_matrix(37, 19, 42);
  REQUIRE(semcache::write_fvecs(path, m).is_ok());
  CHECK(std::filesystem::file_size(path) == 37 * (4 + 19 * 4));

  auto read = semcache::read_float_matrix(path);
  REQUIRE(read.has_value());
  CHECK(read->rows == 37);
  CHECK(read->dim == 19);
  CHECK(read->data == m.data);

  auto reader = VectorReader::open(path);
  REQUIRE(reader.has_value());
  VectorReader& r = **reader;
  CHECK(r.format() == VectorFormat::kFvecs);
  CHECK(r.dim() == 19);
  REQUIRE(r.count().has_value());
  CHECK(*r.count() == 37);
  CHECK(r.bytes_read() == 0);
  VectorRecord record;
  for (std::size_t i = 0; i < 37; ++i) {
    auto more = r.next(record);
    REQUIRE(more.has_value());
    REQUIRE(*more);
    CHECK(record.row == i);
    CHECK(record.id == std::to_string(i));
    CHECK(record.attributes_json.empty());
    CHECK(as_vector(record.vector) == std::vector<float>(m.row(i), m.row(i) + 19));
  }
  auto end = r.next(record);
  REQUIRE(end.has_value());
  CHECK_FALSE(*end);
  CHECK(r.bytes_read() == std::filesystem::file_size(path));
  auto again = r.next(record);
  REQUIRE(again.has_value());
  CHECK_FALSE(*again);

  // Overwriting goes through a temporary file and leaves nothing else behind.
  const FloatMatrix m2 = random_matrix(3, 19, 7);
  REQUIRE(semcache::write_fvecs(path, m2).is_ok());
  auto reread = semcache::read_float_matrix(path, VectorFormat::kFvecs);
  REQUIRE(reread.has_value());
  CHECK(reread->data == m2.data);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(path.substr(0, path.rfind('/')))) {
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("vector_file: ivecs write/read round-trip", "[io]") {
  TempDir dir;
  const std::string path = dir.path("gt.ivecs");
  IntMatrix m;
  m.rows = 5;
  m.dim = 3;
  m.data = {0, 1, 2, -1, 2147483647, -2147483647 - 1, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  REQUIRE(semcache::write_ivecs(path, m).is_ok());
  auto read = semcache::read_ivecs(path);
  REQUIRE(read.has_value());
  CHECK(read->rows == 5);
  CHECK(read->dim == 3);
  CHECK(read->data == m.data);
  CHECK(read->row(1)[2] == -2147483647 - 1);

  // ivecs holds ids, not vectors: the streaming reader sends the caller to read_ivecs().
  auto reader = VectorReader::open(path);
  REQUIRE_FALSE(reader.has_value());
  CHECK(reader.status().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(reader.status().message(), Catch::Contains("read_ivecs"));
}

TEST_CASE("vector_file: bvecs hand-built", "[io]") {
  TempDir dir;
  const std::string path = dir.path("base.bvecs");
  std::string bytes;
  const std::vector<std::vector<unsigned char>> rows = {{0, 1, 127, 128}, {255, 254, 3, 0}, {9, 9, 9, 9}};
  for (const auto& row : rows) {
    append<std::int32_t>(bytes, 4);
    bytes.append(reinterpret_cast<const char*>(row.data()), row.size());
  }
  write_bytes(path, bytes);

  auto reader = VectorReader::open(path);
  REQUIRE(reader.has_value());
  CHECK((*reader)->format() == VectorFormat::kBvecs);
  CHECK((*reader)->dim() == 4);
  CHECK((*reader)->count() == std::optional<std::size_t>(3));
  auto m = semcache::read_float_matrix(path);
  REQUIRE(m.has_value());
  CHECK(m->rows == 3);
  CHECK(m->data == std::vector<float>{0, 1, 127, 128, 255, 254, 3, 0, 9, 9, 9, 9});
}

TEST_CASE("vector_file: npy float32 in versions 1.0, 2.0 and 3.0", "[io]") {
  TempDir dir;
  const std::vector<float> values = {1.5f, -2.25f, 0.0f, 3e-8f, 1e30f, -7.0f};
  std::string data;
  for (float v : values) append(data, v);
  for (int major : {1, 2, 3}) {
    DYNAMIC_SECTION("version " << major) {
      const std::string path = dir.path("q.v" + std::to_string(major));
      write_bytes(path, npy_file(major, npy_dict("<f4", "(2, 3)"), data));
      auto reader = VectorReader::open(path);
      REQUIRE(reader.has_value());
      CHECK((*reader)->format() == VectorFormat::kNpy);
      CHECK((*reader)->dim() == 3);
      CHECK((*reader)->count() == std::optional<std::size_t>(2));
      auto m = semcache::read_float_matrix(path);
      REQUIRE(m.has_value());
      CHECK(m->rows == 2);
      CHECK(m->dim == 3);
      CHECK(m->data == values);
    }
  }

  SECTION("a header whose length leaves the data unaligned is copied, not read in place") {
    const std::string path = dir.path("odd.npy");
    std::string dict = "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3)}\n";  // double quotes are valid too
    std::string bytes = "\x93NUMPY";
    bytes += '\x01';
    bytes += '\0';
    append<std::uint16_t>(bytes, static_cast<std::uint16_t>(dict.size()));
    bytes += dict;
    REQUIRE(bytes.size() % 4 != 0);
    write_bytes(path, bytes + data);
    auto m = semcache::read_float_matrix(path);
    REQUIRE(m.has_value());
    CHECK(m->data == values);
  }
}

TEST_CASE("vector_file: npy float16 known values", "[io]") {
  TempDir dir;
  const std::string path = dir.path("half.npy");
  const std::vector<std::uint16_t> halves = {
      0x3C00,  // 1.0
      0xC000,  // -2.0
      0x7BFF,  // 65504, the largest half
      0x0001,  // 2^-24, the smallest subnormal
      0x03FF,  // 1023 * 2^-24, the largest subnormal
      0x0400,  // 2^-14, the smallest normal
      0x8000,  // -0.0
      0x3555,  // 0.333251953125
      0xFBFF,  // -65504
      0x3800,  // 0.5
  };
  std::string data;
  for (auto h : halves) append(data, h);
  write_bytes(path, npy_file(1, npy_dict("<f2", "(2, 5)"), data));

  auto m = semcache::read_float_matrix(path);
  REQUIRE(m.has_value());
  REQUIRE(m->rows == 2);
  REQUIRE(m->dim == 5);
  const std::vector<float> expected = {1.0f,
                                       -2.0f,
                                       65504.0f,
                                       std::ldexp(1.0f, -24),
                                       1023.0f * std::ldexp(1.0f, -24),
                                       std::ldexp(1.0f, -14),
                                       -0.0f,
                                       0.333251953125f,
                                       -65504.0f,
                                       0.5f};
  CHECK(m->data == expected);
  CHECK(std::signbit(m->data[6]));
  CHECK(m->data[3] > 0.0f);
}

TEST_CASE("vector_file: half_to_float is exact for all 65536 inputs", "[io]") {
  // Reference: the textbook decoding of sign, 5-bit exponent and 10-bit mantissa.
  auto reference = [](std::uint16_t h) {
    const int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    float v;
    if (exponent == 0) {
      v = std::ldexp(static_cast<float>(mantissa), -24);
    } else if (exponent == 0x1f) {
      v = mantissa != 0 ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    } else {
      v = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
    }
    return (h & 0x8000) != 0 ? -v : v;
  };
  std::size_t mismatches = 0;
  for (std::uint32_t h = 0; h <= 0xffff; ++h) {
    const float got = semcache::detail::half_to_float(static_cast<std::uint16_t>(h));
    const float want = reference(static_cast<std::uint16_t>(h));
    const bool same = std::isnan(want) ? std::isnan(got) : got == want && std::signbit(got) == std::signbit(want);
    if (!same) ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("vector_file: the NaN/Inf scan finds the first bad component at every position", "[io]") {
  for (std::size_t n = 1; n <= 40; ++n) {
    std::vector<float> v(n, 1.0f);
    CHECK(semcache::detail::find_non_finite(v.data(), n) == n);
    for (std::size_t bad = 0; bad < n; ++bad) {
      std::vector<float> w = v;
      w[bad] = bad % 2 == 0 ? std::numeric_limits<float>::quiet_NaN() : -std::numeric_limits<float>::infinity();
      if (bad + 1 < n) w[n - 1] = std::numeric_limits<float>::infinity();
      CHECK(semcache::detail::find_non_finite(w.data(), n) == bad);
    }
  }
}

TEST_CASE("vector_file: npy rows wider than one conversion block", "[io]") {
  TempDir dir;
  const std::size_t dim = 37;  // two blocks of 16 and a tail of 5
  std::string halves, bytes;
  std::vector<float> half_expected, byte_expected;
  for (std::size_t r = 0; r < 3; ++r) {
    for (std::size_t c = 0; c < dim; ++c) {
      const std::uint16_t h = static_cast<std::uint16_t>(0x3C00 + r * 64 + c);  // 1 + (r * 64 + c) / 1024
      append(halves, h);
      half_expected.push_back(1.0f + static_cast<float>(r * 64 + c) / 1024.0f);
      const auto b = static_cast<std::int8_t>(static_cast<int>(r * dim + c) - 60);
      bytes += static_cast<char>(b);
      byte_expected.push_back(static_cast<float>(b));
    }
  }
  const std::string half_path = dir.path("half.npy");
  write_bytes(half_path, npy_file(2, npy_dict("<f2", "(3, 37)"), halves));
  auto h = semcache::read_float_matrix(half_path);
  REQUIRE(h.has_value());
  CHECK(h->data == half_expected);

  const std::string byte_path = dir.path("int8.npy");
  write_bytes(byte_path, npy_file(1, npy_dict("|i1", "(3, 37)"), bytes));
  auto b = semcache::read_float_matrix(byte_path);
  REQUIRE(b.has_value());
  CHECK(b->data == byte_expected);

  // The same bytes as bvecs rows read as unsigned.
  std::string bvecs;
  std::vector<float> bvecs_expected;
  for (std::size_t r = 0; r < 3; ++r) {
    append<std::int32_t>(bvecs, static_cast<std::int32_t>(dim));
    bvecs += bytes.substr(r * dim, dim);
    for (std::size_t c = 0; c < dim; ++c) bvecs_expected.push_back(static_cast<unsigned char>(bytes[r * dim + c]));
  }
  const std::string bvecs_path = dir.path("wide.bvecs");
  write_bytes(bvecs_path, bvecs);
  auto bv = semcache::read_float_matrix(bvecs_path);
  REQUIRE(bv.has_value());
  CHECK(bv->data == bvecs_expected);
}

TEST_CASE("vector_file: npy int8 and uint8", "[io]") {
  TempDir dir;
  const std::string data = std::string("\x80\xff\x00\x01\x7f\x40", 6);
  for (const std::string descr : {"|i1", "i1"}) {
    const std::string path = dir.path("int8.npy");
    write_bytes(path, npy_file(1, npy_dict(descr, "(3, 2)"), data));
    auto m = semcache::read_float_matrix(path);
    REQUIRE(m.has_value());
    CHECK(m->rows == 3);
    CHECK(m->data == std::vector<float>{-128, -1, 0, 1, 127, 64});
  }
  const std::string path = dir.path("uint8.npy");
  write_bytes(path, npy_file(2, npy_dict("|u1", "(2, 3)"), data));
  auto m = semcache::read_float_matrix(path);
  REQUIRE(m.has_value());
  CHECK(m->data == std::vector<float>{128, 255, 0, 1, 127, 64});
}

TEST_CASE("vector_file: npy malformed input is refused", "[io]") {
  TempDir dir;
  const std::string path = dir.path("q.npy");
  std::string f32_data;
  for (int i = 0; i < 6; ++i) append(f32_data, static_cast<float>(i));

  SECTION("unsupported dtype") {
    write_bytes(path, npy_file(1, npy_dict("<f8", "(2, 3)"), f32_data + f32_data));
    require_bad_input(read_all(path), {path + ": header: unsupported dtype '<f8' (expected '<f4', '<f2', '|i1'"});
  }
  SECTION("big-endian float32") {
    write_bytes(path, npy_file(1, npy_dict(">f4", "(2, 3)"), f32_data));
    require_bad_input(read_all(path), {path + ": header: unsupported dtype '>f4'"});
  }
  SECTION("fortran order") {
    write_bytes(path, npy_file(1, npy_dict("<f4", "(2, 3)", "True"), f32_data));
    require_bad_input(read_all(path), {path + ": header: fortran_order True"});
  }
  SECTION("one-dimensional shape") {
    write_bytes(path, npy_file(1, npy_dict("<f4", "(6,)"), f32_data));
    require_bad_input(read_all(path), {path + ": header: shape (6,) must have 2 dimensions"});
  }
  SECTION("three-dimensional shape") {
    write_bytes(path, npy_file(1, npy_dict("<f4", "(1, 2, 3)"), f32_data));
    require_bad_input(read_all(path), {path + ": header: shape (1, 2, 3) must have 2 dimensions"});
  }
  SECTION("data shorter than the shape") {
    write_bytes(path, npy_file(1, npy_dict("<f4", "(2, 3)"), f32_data.substr(0, 20)));
    require_bad_input(read_all(path), {path + ": header: shape (2, 3) of '<f4' needs 24 bytes of data after the "
                                              "header (byte offset 128), found 20"});
  }
  SECTION("data longer than the shape") {
    write_bytes(path, npy_file(1, npy_dict("<f4", "(2, 3)"), f32_data + "xy"));
    require_bad_input(read_all(path), {path + ": header:", "needs 24 bytes", "found 26"});
  }
  SECTION("zero dimension") {
    write_bytes(path, npy_file(1, npy_dict("<f4", "(2, 0)"), ""));
    require_bad_input(read_all(path), {path + ": header: shape (2, 0): dimension 0 is out of range"});
  }
  SECTION("absurd dimension") {
    write_bytes(path, npy_file(1, npy_dict("<f4", "(1, 70000)"), std::string(280000, '\0')));
    require_bad_input(read_all(path), {path + ": header:", "dimension 70000 is out of range"});
  }
  SECTION("no rows") {
    write_bytes(path, npy_file(1, npy_dict("<f4", "(0, 3)"), ""));
    require_bad_input(read_all(path), {path + ": header: shape (0, 3) holds no rows"});
  }
  SECTION("huge shape does not overflow") {
    write_bytes(path, npy_file(1, npy_dict("<f4", "(18446744073709551615, 3)"), f32_data));
    require_bad_input(read_all(path), {path + ": header:", "needs more than 2^64 bytes"});
  }
  SECTION("bad magic") {
    write_bytes(path, "not numpy at all");
    require_bad_input(read_all(path), {path + ": header: not a .npy file"});
  }
  SECTION("unsupported version") {
    std::string bytes = npy_file(1, npy_dict("<f4", "(2, 3)"), f32_data);
    bytes[6] = '\x04';
    write_bytes(path, bytes);
    require_bad_input(read_all(path), {path + ": header: unsupported format version 4.0"});
  }
  SECTION("header length past the end of the file") {
    std::string bytes = npy_file(1, npy_dict("<f4", "(2, 3)"), "");
    bytes.resize(30);
    write_bytes(path, bytes);
    require_bad_input(read_all(path), {path + ": header: truncated: header length 118 runs past the end of the file (30 bytes)"});
  }
  SECTION("file ends inside the header length") {
    write_bytes(path, std::string("\x93NUMPY\x02\x00\x10", 9));
    require_bad_input(read_all(path), {path + ": header: truncated"});
  }
  SECTION("missing key") {
    write_bytes(path, npy_file(1, "{'descr': '<f4', 'shape': (2, 3), }", f32_data));
    require_bad_input(read_all(path), {path + ": header: missing key 'fortran_order'"});
  }
  SECTION("unknown key") {
    write_bytes(path, npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", f32_data));
    require_bad_input(read_all(path), {path + ": header: malformed dictionary at character", "unexpected key 'x'"});
  }
  SECTION("garbage dictionary") {
    write_bytes(path, npy_file(1, "{'descr' '<f4'}", f32_data));
    require_bad_input(read_all(path), {path + ": header: malformed dictionary at character 9: expected ':'"});
  }
  SECTION("NaN in float32") {
    std::string data = f32_data;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(data.data() + 5 * 4, &nan, 4);
    write_bytes(path, npy_file(1, npy_dict("<f4", "(2, 3)"), data));
    require_bad_input(read_all(path), {path + ": row 1 component 2 is NaN"});
  }
  SECTION("Inf in float16") {
    std::string data;
    for (std::uint16_t h : {0x3C00, 0x3C00, 0x3C00, 0x3C00, 0x7C00, 0x3C00}) append<std::uint16_t>(data, h);
    write_bytes(path, npy_file(1, npy_dict("<f2", "(2, 3)"), data));
    require_bad_input(read_all(path), {path + ": row 1 component 1 is infinite"});
  }
  SECTION("NaN in float16") {
    std::string data;
    for (std::uint16_t h : {0x7E00, 0x3C00}) append<std::uint16_t>(data, h);
    write_bytes(path, npy_file(3, npy_dict("<f2", "(1, 2)"), data));
    require_bad_input(read_all(path), {path + ": row 0 component 0 is NaN"});
  }
  SECTION("empty file") {
    write_bytes(path, "");
    require_bad_input(read_all(path), {path + ": file is empty"});
  }
}

TEST_CASE("vector_file: TEXMEX malformed input is refused", "[io]") {
  TempDir dir;
  const std::string path = dir.path("base.fvecs");
  const std::string good = fvecs_row({1, 2, 3}) + fvecs_row({4, 5, 6});  // 16 bytes per row

  SECTION("truncated last row") {
    write_bytes(path, good + fvecs_row({7, 8, 9}).substr(0, 10));
    const std::string expected =
        path + ": row 2 (byte offset 32): truncated: expected 12 bytes of vector data, found 6";
    require_bad_input(read_all(path), {expected});
    require_bad_input(semcache::read_float_matrix(path).status(), {expected});
  }
  SECTION("a row whose dimension differs from the first") {
    write_bytes(path, good + fvecs_row({1, 2}) + fvecs_row({1, 2, 3}));
    require_bad_input(read_all(path), {path + ": row 2 (byte offset 32): dimension 2 differs from 3 (row 0)"});
  }
  SECTION("trailing garbage shorter than a dimension") {
    write_bytes(path, good + "ab");
    require_bad_input(read_all(path), {path + ": byte offset 32: trailing garbage: 2 bytes after the last "
                                              "complete row (row 1)"});
  }
  SECTION("trailing garbage longer than a dimension") {
    write_bytes(path, good + "garbage");
    require_bad_input(read_all(path), {path + ": byte offset 32: trailing garbage: 7 bytes"});
  }
  SECTION("zero dimension") {
    write_bytes(path, fvecs_row({}));
    require_bad_input(read_all(path), {path + ": row 0 (byte offset 0): dimension 0 is out of range"});
  }
  SECTION("negative dimension") {
    std::string bytes;
    append<std::int32_t>(bytes, -4);
    write_bytes(path, bytes + std::string(16, '\0'));
    require_bad_input(read_all(path), {path + ": row 0 (byte offset 0): dimension -4 is out of range"});
  }
  SECTION("absurd dimension") {
    std::string bytes;
    append<std::int32_t>(bytes, 65537);
    write_bytes(path, bytes);
    require_bad_input(read_all(path), {path + ": row 0 (byte offset 0): dimension 65537 is out of range (1..65536)"});
  }
  SECTION("file shorter than a dimension") {
    write_bytes(path, "ab");
    require_bad_input(read_all(path), {path + ": row 0 (byte offset 0): truncated"});
  }
  SECTION("empty file") {
    write_bytes(path, "");
    require_bad_input(read_all(path), {path + ": file is empty"});
  }
  SECTION("NaN") {
    write_bytes(path, good + fvecs_row({1, std::numeric_limits<float>::quiet_NaN(), 3}));
    require_bad_input(read_all(path), {path + ": row 2 component 1 is NaN"});
  }
  SECTION("Inf past the first vector block") {
    std::vector<float> row(40, 1.0f);
    row[37] = -std::numeric_limits<float>::infinity();
    write_bytes(path, fvecs_row(std::vector<float>(40, 0.5f)) + fvecs_row(row));
    require_bad_input(read_all(path), {path + ": row 1 component 37 is infinite"});
  }
  SECTION("bvecs truncated") {
    const std::string bpath = dir.path("base.bvecs");
    std::string bytes;
    append<std::int32_t>(bytes, 4);
    bytes += "abcd";
    append<std::int32_t>(bytes, 4);
    bytes += "ab";
    write_bytes(bpath, bytes);
    require_bad_input(read_all(bpath), {bpath + ": row 1 (byte offset 8): truncated: expected 4 bytes of vector "
                                                "data, found 2"});
  }
  SECTION("ivecs dimension mismatch") {
    const std::string ipath = dir.path("gt.ivecs");
    std::string bytes;
    append<std::int32_t>(bytes, 1);
    append<std::int32_t>(bytes, 5);
    append<std::int32_t>(bytes, 2);
    append<std::int32_t>(bytes, 5);
    append<std::int32_t>(bytes, 6);
    write_bytes(ipath, bytes);
    require_bad_input(semcache::read_ivecs(ipath).status(),
                      {ipath + ": row 1 (byte offset 8): dimension 2 differs from 1 (row 0)"});
  }
  SECTION("ivecs empty") {
    const std::string ipath = dir.path("gt.ivecs");
    write_bytes(ipath, "");
    require_bad_input(semcache::read_ivecs(ipath).status(), {ipath + ": file is empty"});
  }
}

TEST_CASE("vector_file: jsonl records", "[io]") {
  TempDir dir;
  const std::string path = dir.path("v.jsonl");
  // Long enough that the first lines are parsed in place and the last ones from the padded copy.
  const std::string filler(100, ' ');
  write_bytes(path,
              "{\"id\": \"doc-1\", \"vector\": [1, 2.5, -3e2], \"attributes\": {\"lang\": \"en\", \"n\": [1, {\"x\": null}]}}" +
                  filler + "\n" +
                  "\n"
                  "   \t\r\n"
                  "{\"vector\": [0.5, 0, 1e-3], \"id\": 42, \"extra\": {\"ignored\": [1, 2]}}\r\n" +
                  "{\"id\": -7, \"attributes\": { \"k\" : [true, false, null] } \t , \"vector\": [1, 1, 1]}\n"
                  "{\"id\": 18446744073709551615, \"vector\": [2, 2, 2], \"attributes\": {}}\n"
                  "{\"vector\": [3, 3, 3]}\n"
                  "{\"id\": \"esc\\\"aped\\u00e9\", \"vector\": [4, 4, 4]}");

  auto opened = VectorReader::open(path);
  REQUIRE(opened.has_value());
  VectorReader& reader = **opened;
  CHECK(reader.format() == VectorFormat::kJsonl);
  CHECK(reader.dim() == 3);
  CHECK_FALSE(reader.count().has_value());

  struct Expect {
    std::string id;
    std::vector<float> vector;
    std::string attributes;
  };
  const std::vector<Expect> expected = {
      {"doc-1", {1.0f, 2.5f, -300.0f}, "{\"lang\": \"en\", \"n\": [1, {\"x\": null}]}"},
      {"42", {0.5f, 0.0f, 0.001f}, ""},
      {"-7", {1, 1, 1}, "{ \"k\" : [true, false, null] }"},
      {"18446744073709551615", {2, 2, 2}, "{}"},
      {"4", {3, 3, 3}, ""},
      {"esc\"aped\xc3\xa9", {4, 4, 4}, ""},
  };
  VectorRecord record;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto more = reader.next(record);
    INFO("record " << i);
    REQUIRE(more.has_value());
    REQUIRE(*more);
    CHECK(record.row == i);
    CHECK(std::string(record.id) == expected[i].id);
    CHECK(as_vector(record.vector) == expected[i].vector);
    CHECK(std::string(record.attributes_json) == expected[i].attributes);
  }
  auto end = reader.next(record);
  REQUIRE(end.has_value());
  CHECK_FALSE(*end);
  CHECK(reader.bytes_read() == std::filesystem::file_size(path));

  auto m = semcache::read_float_matrix(path);
  REQUIRE(m.has_value());
  CHECK(m->rows == 6);
  CHECK(m->dim == 3);
}

TEST_CASE("vector_file: jsonl malformed input is refused", "[io]") {
  TempDir dir;
  const std::string path = dir.path("v.jsonl");
  const std::string good = "{\"id\": \"a\", \"vector\": [1, 2, 3, 4]}\n";

  SECTION("element that is not a number") {
    write_bytes(path, good + "{\"vector\": [1, 2, 3, \"x\"]}\n");
    require_bad_input(read_all(path), {path + ":2: field \"vector\" element 3 must be a number, got string"});
  }
  SECTION("vector of another length") {
    write_bytes(path, "\n" + good + good + "{\"vector\": [1, 2, 3]}\n");
    require_bad_input(read_all(path), {path + ":4: vector has 3 components, expected 4 (from line 2)"});
  }
  SECTION("line that is not an object") {
    write_bytes(path, good + "[1, 2, 3, 4]\n");
    require_bad_input(read_all(path), {path + ":2: not a JSON object (got array)"});
  }
  SECTION("missing vector") {
    write_bytes(path, good + "{\"id\": \"b\"}\n");
    require_bad_input(read_all(path), {path + ":2: missing field \"vector\""});
  }
  SECTION("vector that is not an array") {
    write_bytes(path, "{\"vector\": \"1,2\"}\n");
    require_bad_input(read_all(path), {path + ":1: field \"vector\" must be an array, got string"});
  }
  SECTION("empty vector") {
    write_bytes(path, "{\"vector\": []}\n");
    require_bad_input(read_all(path), {path + ":1: field \"vector\" is empty"});
  }
  SECTION("attributes that are not an object") {
    write_bytes(path, good + "{\"vector\": [1, 2, 3, 4], \"attributes\": [1]}\n");
    require_bad_input(read_all(path), {path + ":2: field \"attributes\" must be an object, got array"});
  }
  SECTION("id that is a float") {
    write_bytes(path, good + "{\"id\": 1.5, \"vector\": [1, 2, 3, 4]}\n");
    require_bad_input(read_all(path), {path + ":2: field \"id\" must be a string or an integer, got number 1.5"});
  }
  SECTION("id that is null") {
    write_bytes(path, "{\"id\": null, \"vector\": [1, 2, 3, 4]}\n");
    require_bad_input(read_all(path), {path + ":1: field \"id\" must be a string or an integer, got null"});
  }
  SECTION("id that is an object") {
    write_bytes(path, "{\"id\": {}, \"vector\": [1, 2, 3, 4]}\n");
    require_bad_input(read_all(path), {path + ":1: field \"id\" must be a string or an integer, got object"});
  }
  SECTION("duplicate vector") {
    write_bytes(path, "{\"vector\": [1], \"vector\": [2]}\n");
    require_bad_input(read_all(path), {path + ":1: duplicate field \"vector\""});
  }
  SECTION("component that overflows float") {
    write_bytes(path, good + "{\"vector\": [1, 2, 1e39, 4]}\n");
    require_bad_input(read_all(path), {path + ":2: component 2 is infinite"});
  }
  SECTION("invalid JSON") {
    write_bytes(path, good + good + "{\"vector\": [1, 2, 3, 4\n");
    require_bad_input(read_all(path), {path + ":3: "});
  }
  SECTION("invalid JSON inside attributes or an unknown field") {
    write_bytes(path, good + "{\"vector\": [1, 2, 3, 4], \"attributes\": {\"a\": [true, tru]}}\n");
    require_bad_input(read_all(path), {path + ":2: invalid JSON: ", "'t'"});
    write_bytes(path, good + "{\"vector\": [1, 2, 3, 4], \"extra\": {\"n\": 1.2.3}}\n");
    require_bad_input(read_all(path), {path + ":2: invalid JSON: ", "number"});
    write_bytes(path, good + "{\"vector\": [1, 2, 3, 4], \"extra\": nul}\n");
    require_bad_input(read_all(path), {path + ":2: invalid JSON: ", "'n'"});
  }
  SECTION("content after the object") {
    write_bytes(path, good + "{\"vector\": [1, 2, 3, 4]} {\"vector\": [1]}\n");
    require_bad_input(read_all(path), {path + ":2: unexpected content after the object"});
  }
  SECTION("trailing garbage line") {
    write_bytes(path, good + good + "garbage");
    require_bad_input(read_all(path), {path + ":3: "});
  }
  SECTION("too many components") {
    std::string line = "{\"vector\": [";
    for (int i = 0; i < 65537; ++i) line += i == 0 ? "0" : ",0";
    write_bytes(path, line + "]}\n");
    require_bad_input(read_all(path), {path + ":1: field \"vector\" has more than 65536 components"});
  }
  SECTION("empty file") {
    write_bytes(path, "");
    require_bad_input(read_all(path), {path + ": file is empty"});
  }
  SECTION("only blank lines") {
    write_bytes(path, "\n  \n\r\n");
    require_bad_input(read_all(path), {path + ": no records"});
  }
}

TEST_CASE("vector_file: format detection", "[io]") {
  TempDir dir;
  SECTION("by extension, without reading the file") {
    CHECK(*semcache::detect_vector_format(dir.path("a.fvecs")) == VectorFormat::kFvecs);
    CHECK(*semcache::detect_vector_format(dir.path("a.IVECS")) == VectorFormat::kIvecs);
    CHECK(*semcache::detect_vector_format(dir.path("a.bvecs")) == VectorFormat::kBvecs);
    CHECK(*semcache::detect_vector_format(dir.path("a.npy")) == VectorFormat::kNpy);
    CHECK(*semcache::detect_vector_format(dir.path("a.jsonl")) == VectorFormat::kJsonl);
    CHECK(*semcache::detect_vector_format(dir.path("a.b.ndjson")) == VectorFormat::kJsonl);
  }
  SECTION("by magic") {
    std::string data;
    append(data, 1.0f);
    append(data, 2.0f);
    const std::string npy = dir.path("vectors.bin");
    write_bytes(npy, npy_file(1, npy_dict("<f4", "(1, 2)"), data));
    CHECK(*semcache::detect_vector_format(npy) == VectorFormat::kNpy);
    auto m = semcache::read_float_matrix(npy);
    REQUIRE(m.has_value());
    CHECK(m->data == std::vector<float>{1.0f, 2.0f});

    const std::string jsonl = dir.path("vectors.txt");
    write_bytes(jsonl, "\xEF\xBB\xBF\n  {\"vector\": [1, 2]}\n");
    CHECK(*semcache::detect_vector_format(jsonl) == VectorFormat::kJsonl);
    auto j = semcache::read_float_matrix(jsonl);
    REQUIRE(j.has_value());
    CHECK(j->data == std::vector<float>{1.0f, 2.0f});
  }
  SECTION("unknown content") {
    const std::string path = dir.path("mystery");
    write_bytes(path, fvecs_row({1, 2}));
    auto format = semcache::detect_vector_format(path);
    REQUIRE_FALSE(format.has_value());
    require_bad_input(format.status(), {path + ": cannot tell the vector format"});
    require_bad_input(VectorReader::open(path).status(), {path + ": cannot tell the vector format"});
    // Naming the format explicitly works.
    auto m = semcache::read_float_matrix(path, VectorFormat::kFvecs);
    REQUIRE(m.has_value());
    CHECK(m->data == std::vector<float>{1, 2});
  }
  SECTION("empty file without an extension") {
    const std::string path = dir.path("empty");
    write_bytes(path, "");
    require_bad_input(semcache::detect_vector_format(path).status(), {path + ": file is empty"});
  }
  SECTION("missing files") {
    const std::string path = dir.path("missing");
    auto format = semcache::detect_vector_format(path);
    REQUIRE_FALSE(format.has_value());
    CHECK(format.status().code() == ErrorCode::kNotFound);
    CHECK_THAT(format.status().message(), Catch::Contains(path + ": cannot open: No such file or directory"));
    for (const std::string name : {"missing.fvecs", "missing.npy", "missing.jsonl", "missing.ivecs"}) {
      const std::string missing = dir.path(name);
      Status s = name.ends_with(".ivecs") ? semcache::read_ivecs(missing).status() : read_all(missing);
      CHECK(s.code() == ErrorCode::kNotFound);
      CHECK_THAT(s.message(), Catch::Contains(missing + ": cannot open"));
    }
  }
  SECTION("a directory is not a vector file") {
    for (const std::string name : {"sub.fvecs", "sub.jsonl"}) {  // mapped, and read a block at a time
      const std::string path = dir.path(name);
      std::filesystem::create_directory(path);
      require_bad_input(read_all(path), {path + ": not a regular file"});
    }
  }
}

TEST_CASE("vector_file: writers refuse what no reader would accept", "[io]") {
  TempDir dir;
  const std::string path = dir.path("out.fvecs");
  FloatMatrix m = random_matrix(2, 3, 1);

  SECTION("data size disagrees with rows * dim") {
    m.data.pop_back();
    Status s = semcache::write_fvecs(path, m);
    CHECK(s.code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(s.message(), Catch::Contains(path));
  }
  SECTION("zero dimension") {
    m.dim = 0;
    CHECK(semcache::write_fvecs(path, m).code() == ErrorCode::kInvalidArgument);
  }
  SECTION("no rows") {
    FloatMatrix empty;
    empty.dim = 3;
    CHECK(semcache::write_fvecs(path, empty).code() == ErrorCode::kInvalidArgument);
  }
  SECTION("NaN") {
    m.data[4] = std::numeric_limits<float>::quiet_NaN();
    Status s = semcache::write_fvecs(path, m);
    CHECK(s.code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(s.message(), Catch::Contains("row 1 component 1 is NaN"));
  }
  SECTION("ivecs shape") {
    IntMatrix im;
    im.rows = 2;
    im.dim = 2;
    im.data = {1, 2, 3};
    CHECK(semcache::write_ivecs(dir.path("out.ivecs"), im).code() == ErrorCode::kInvalidArgument);
  }
  SECTION("missing directory") {
    const std::string bad = dir.path("no/such/dir/out.fvecs");
    Status s = semcache::write_fvecs(bad, m);
    CHECK(s.code() == ErrorCode::kNotFound);
    CHECK_THAT(s.message(), Catch::Contains(bad + ": cannot create: No such file or directory"));
  }
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("vector_file: a larger fvecs file streams in place and matches", "[io]") {
  TempDir dir;
  const std::string path = dir.path("big.fvecs");
  const FloatMatrix m = random_matrix(3000, 384, 2024);
  REQUIRE(semcache::write_fvecs(path, m).is_ok());
  auto reader = VectorReader::open(path);
  REQUIRE(reader.has_value());
  VectorRecord record;
  std::size_t rows = 0;
  bool all_equal = true;
  for (;;) {
    auto more = (*reader)->next(record);
    REQUIRE(more.has_value());
    if (!*more) break;
    all_equal = all_equal && std::memcmp(record.vector.data(), m.row(rows), 384 * sizeof(float)) == 0;
    ++rows;
  }
  CHECK(rows == 3000);
  CHECK(all_equal);
}
