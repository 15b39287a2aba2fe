#pragma once
// The embedder options every command that embeds text shares (replay, eval, tune, bench
// embed), so they have one spelling, one help text and one default.

#include <string>

#include <CLI/CLI.hpp>

#include "semcache/embedder.hpp"

namespace semcache::cli {

struct EmbedderArgs {
  std::string spec = "auto";    // --embedder
  std::string data_dir;         // --data-dir: where installed embedder data lives
  EmbedderOptions options;      // --dim, --embed-model, --embed-key-env, --embed-timeout-ms, --embed-batch

  // The options with --data-dir applied (the glove file inside it).
  EmbedderOptions resolved() const;
};

// Adds --embedder, --dim, --data-dir and the http:URL options to `command`.
void add_embedder_options(CLI::App& command, EmbedderArgs& args);

}  // namespace semcache::cli
