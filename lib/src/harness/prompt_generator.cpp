// The synthetic prompt log generator.
//
// Questions. A template is one intent ("how do i {0} a {1} in {2}") with 3-6 paraphrase patterns
// over the same slots; each slot draws from a word list. A group is one template with one set of
// fillers: every line of a group deserves the same answer. Groups are drawn in families: a family's
// first group picks a template and fillers, and its other members (up to two) change exactly one
// slot, so "how do i sort a list in python" and "how do i sort a list in rust" are different groups
// whose prompts differ in one word. Those hard negatives are what make a replay's false-hit rate
// measurable: a semantic cache with a loose threshold serves one's answer for the other. Groups are
// distinct by construction (a set of (template, fillers) keys; a collision redraws), and --groups
// is capped at a quarter of the space the vocabulary spans so that redraws stay rare.
//
// Lines. A line picks a group by Zipf popularity (rank order shuffled, so families are not all at
// the head), then renders it: with probability kCanonicalShare the group's canonical wording (a
// fixed pattern, case and punctuation: the same user question pasted again, a retry, a suggested
// prompt), otherwise a random pattern with random politeness prefix, suffix, case, punctuation and
// an occasional typo. The canonical share is what produces exact repeats; the random renderings
// are mostly new text for the same group, i.e. paraphrases that only a semantic cache can serve.
//
// Expected shares for the defaults (n 10000, groups 4000, Zipf s = 1; measured over seeds 1-5):
// about 2050 groups appear and 79% of lines belong to a group seen earlier; 33-35% repeat an earlier
// prompt verbatim (the ceiling of an exact cache) and 44-46% are new wordings of an earlier
// question (what a semantic cache can add); about 21% are first occurrences. That is a support-bot
// or FAQ-like workload; more --groups per line lowers both repeat shares. The unit test pins them.
//
// Fields. ts: Poisson arrivals at rate_per_second from start_ts (thinning when the diurnal
// modulation is on, peak at 18:00 UTC). model: gpt-4o-mini 70%, gpt-4o 20%, claude-3-haiku 10%.
// tenant: Zipf (s = 1) over the tenants. prompt_tokens: ceil(1.3 * words). completion_tokens: per
// group, lognormal with median 150 (sigma 0.6), clamped to [8, 2000]; the response is the group's
// own text of about completion_tokens / 1.3 words, identical on every line of the group.
// latency_ms: (300 + 15 * completion_tokens) times the model's speed factor times lognormal noise
// (sigma 0.25).
//
// Determinism. Output depends on the options only: a splitmix64-based RNG with hand-written
// uniform/normal/exponential draws (std:: distributions differ between standard libraries), one
// stream for arrivals, one per line, one per group, so changing --rate does not change the prompts.
// Generation is single-threaded; a million lines (about 1.1 GB, mostly response text) take about
// ten seconds.

#include "semcache/prompt_generator.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <ostream>
#include <span>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "semcache/json_writer.hpp"
#include "harness/splitmix64.hpp"

namespace semcache {
namespace {

constexpr double kCanonicalShare = 0.35;
constexpr double kTwoPi = 6.283185307179586;


class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) : state_(detail::splitmix64(detail::splitmix64(seed ^ stream) + index)) {}
  std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(uniform() * static_cast<double>(n)); }
  bool chance(double p) { return uniform() < p; }
  double exponential() { return -std::log1p(-uniform()); }
  double normal() {
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
  }

 private:
  std::uint64_t state_;
};

constexpr std::uint64_t kArrivalStream = 0xa771'0a15ull;
constexpr std::uint64_t kLineStream = 0x11'4e5ull;
constexpr std::uint64_t kGroupStream = 0x6'0500ull;
constexpr std::uint64_t kFamilyStream = 0xfa'0111ull;

using Words = std::span<const char* const>;

// Word lists. Fillers that a family varies should change the answer, never only the wording.
constexpr const char* kLangs[] = {"python", "rust", "go", "java", "javascript", "typescript", "c++", "kotlin", "swift",
                                  "ruby", "php", "scala", "haskell", "elixir", "bash", "c#", "lua", "julia"};
constexpr const char* kNouns[] = {"list", "dictionary", "string", "array", "set", "queue", "stack", "tuple",
                                  "hashmap", "file", "timestamp", "matrix", "struct", "iterator", "vector",
                                  "buffer", "heap", "linked list", "binary tree", "graph", "byte array", "deque",
                                  "priority queue", "bitset"};
constexpr const char* kVerbs[] = {"sort", "reverse", "copy", "serialize", "deduplicate", "flatten", "filter",
                                  "shuffle", "merge", "split", "parse", "compress", "hash", "validate", "clone",
                                  "traverse", "print", "initialize", "compare", "search", "encode", "truncate",
                                  "rotate", "partition"};
constexpr const char* kTechs[] = {"tcp", "udp", "rest", "graphql", "grpc", "websockets", "threads", "processes",
                                  "mutexes", "semaphores", "docker", "podman", "postgres", "mysql", "redis",
                                  "memcached", "kafka", "rabbitmq", "react", "vue", "svelte", "angular",
                                  "kubernetes", "nomad", "http/2", "http/3", "json", "protobuf"};
constexpr const char* kTopics[] = {"photosynthesis", "inflation", "blockchain", "general relativity", "entropy",
                                   "recursion", "democracy", "vaccination", "evolution", "the french revolution",
                                   "plate tectonics", "quantum computing", "the cold war", "black holes",
                                   "machine learning", "the stock market", "climate change", "the roman empire",
                                   "dna replication", "supply and demand", "the renaissance", "compound interest"};
constexpr const char* kTasks[] = {"reverses a string", "checks if a number is prime", "computes a factorial",
                                  "returns the nth fibonacci number", "counts the vowels in a string",
                                  "removes duplicates from a list", "finds the largest element of an array",
                                  "checks if a string is a palindrome", "merges two sorted lists",
                                  "converts celsius to fahrenheit", "validates an email address",
                                  "flattens a nested list", "computes the gcd of two numbers",
                                  "generates a random password", "parses a date string",
                                  "counts word frequencies in a text"};
constexpr const char* kErrors[] = {"a segmentation fault", "a null pointer exception", "an index out of range error",
                                   "a stack overflow", "permission denied", "connection refused", "out of memory",
                                   "a deadlock", "a timeout error", "a type error", "an import error",
                                   "a memory leak", "a race condition", "an encoding error"};
constexpr const char* kPhrases[] = {"good morning", "thank you very much", "where is the train station",
                                    "i am lost", "how much does this cost", "nice to meet you", "see you tomorrow",
                                    "i would like a coffee", "happy birthday", "excuse me", "good night",
                                    "what time is it"};
constexpr const char* kHumanLangs[] = {"french", "spanish", "german", "italian", "japanese", "portuguese",
                                       "dutch", "korean", "polish", "turkish", "swedish", "greek"};
constexpr const char* kNumbers[] = {"2", "3", "5", "7", "8", "12", "15", "20", "25", "30", "40", "42", "50",
                                    "64", "75", "99", "100", "120", "250", "1000"};
constexpr const char* kConversions[] = {"miles to kilometers", "pounds to kilograms", "fahrenheit to celsius",
                                        "cups to milliliters", "inches to centimeters", "gallons to liters",
                                        "feet to meters", "ounces to grams", "kilometers to miles",
                                        "celsius to fahrenheit", "kilograms to pounds", "meters to feet"};
constexpr const char* kDishes[] = {"lasagna", "risotto", "pancakes", "ramen", "hummus", "guacamole", "paella",
                                   "banana bread", "chili", "falafel", "tiramisu", "pad thai", "shakshuka",
                                   "carbonara", "brownies", "curry"};
constexpr const char* kCities[] = {"paris", "tokyo", "lisbon", "berlin", "new york", "london", "rome", "madrid",
                                   "seoul", "sydney", "toronto", "mumbai", "cairo", "mexico city", "istanbul",
                                   "amsterdam", "prague", "vienna", "bangkok", "chicago"};
constexpr const char* kDays[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                                 "tomorrow", "the weekend"};
constexpr const char* kCountries[] = {"australia", "canada", "brazil", "nigeria", "kenya", "norway", "peru",
                                      "vietnam", "morocco", "chile", "finland", "egypt", "argentina",
                                      "new zealand", "switzerland", "indonesia", "pakistan", "iceland"};
constexpr const char* kPeople[] = {"ada lovelace", "alan turing", "marie curie", "isaac newton",
                                   "nikola tesla", "grace hopper", "charles darwin", "leonardo da vinci",
                                   "cleopatra", "napoleon", "galileo", "frida kahlo", "confucius",
                                   "rosalind franklin", "albert einstein", "emmy noether"};
constexpr const char* kRegexTargets[] = {"email addresses", "ipv4 addresses", "iso dates", "hex colors",
                                         "phone numbers", "urls", "zip codes", "uuids", "credit card numbers",
                                         "time of day", "html tags", "semantic versions"};
constexpr const char* kSqlTasks[] = {"find duplicate rows", "delete old records", "count rows per day",
                                     "join two tables", "select the top 10 rows", "rename a column",
                                     "add an index", "paginate results", "pivot a table",
                                     "compute a running total", "find the second highest salary",
                                     "update rows from another table"};
constexpr const char* kDatabases[] = {"postgres", "mysql", "sqlite", "oracle", "sql server", "snowflake",
                                      "bigquery", "duckdb", "clickhouse", "mariadb"};
constexpr const char* kTools[] = {"docker", "nodejs", "python", "redis", "postgres", "git", "nginx", "java",
                                  "kubectl", "terraform", "ansible", "vscode", "go", "rust", "helm", "zsh"};
constexpr const char* kOses[] = {"ubuntu", "debian", "windows", "macos", "fedora", "arch linux", "alpine",
                                 "centos", "a raspberry pi", "wsl"};
constexpr const char* kGitTasks[] = {"undo the last commit", "rename a branch", "delete a remote branch",
                                     "squash commits", "change the last commit message", "revert a merge",
                                     "stash changes", "cherry-pick a commit", "discard local changes",
                                     "see the diff of a file", "remove a file from history",
                                     "list all tags"};
constexpr const char* kAlgorithms[] = {"quicksort", "mergesort", "heapsort", "bubble sort", "binary search",
                                       "dijkstra's algorithm", "breadth-first search", "insertion sort",
                                       "radix sort", "a hash table lookup", "kruskal's algorithm",
                                       "the knapsack dp", "floyd-warshall", "topological sort"};
constexpr const char* kEmailPurposes[] = {"asking for a day off", "declining a meeting", "requesting a raise",
                                          "apologizing for a delay", "following up on an invoice",
                                          "announcing a new project", "resigning politely",
                                          "asking for feedback", "rescheduling an interview"};
constexpr const char* kRecipients[] = {"boss", "landlord", "team", "client", "professor", "neighbor",
                                       "colleague", "manager", "teacher"};
constexpr const char* kAdjectives[] = {"happy", "fast", "big", "important", "difficult", "beautiful", "angry",
                                       "smart", "tired", "interesting", "small", "strong", "quiet", "brave",
                                       "funny", "cold", "rich", "old"};
constexpr const char* kTerms[] = {"idempotent", "latency", "throughput", "serendipity", "ephemeral",
                                  "ubiquitous", "amortized", "orthogonal", "heuristic", "paradigm",
                                  "entropy", "cache eviction", "backpressure", "sharding", "eventual consistency",
                                  "memoization"};
constexpr const char* kPurposes[] = {"http requests", "json parsing", "logging", "unit testing", "plotting",
                                     "date handling", "command line parsing", "web scraping", "image processing",
                                     "database access", "async io", "machine learning"};
constexpr const char* kFormats[] = {"csv", "json", "yaml", "xml", "parquet", "toml", "excel", "ini", "avro",
                                    "protobuf"};
constexpr const char* kSymptoms[] = {"headaches", "insomnia", "back pain", "dry eyes", "fatigue", "hiccups",
                                     "muscle cramps", "dizziness", "heartburn", "a sore throat", "knee pain",
                                     "nosebleeds"};
constexpr const char* kMuscles[] = {"abs", "glutes", "shoulders", "lower back", "biceps", "hamstrings", "chest",
                                    "calves", "triceps", "quads"};
constexpr const char* kGiftees[] = {"mom", "dad", "sister", "brother", "wife", "husband", "boss", "best friend",
                                    "grandmother", "coworker"};
constexpr const char* kOccasions[] = {"christmas", "a birthday", "an anniversary", "graduation", "mother's day",
                                      "a housewarming", "retirement", "valentine's day"};
constexpr const char* kGenres[] = {"fantasy", "sci-fi", "mystery", "history", "romance", "horror", "thriller",
                                   "biography", "poetry", "philosophy", "economics", "travel"};
constexpr const char* kPoemSubjects[] = {"the ocean", "autumn", "coffee", "cats", "the moon", "rain",
                                         "mountains", "friendship", "winter mornings", "a lighthouse", "city lights",
                                         "old trains"};
constexpr const char* kDockerTasks[] = {"remove all stopped containers", "list running containers",
                                        "see container logs", "copy files into a container",
                                        "limit the memory of a container", "publish a port",
                                        "prune unused images", "open a shell in a container",
                                        "set environment variables", "mount a volume"};
constexpr const char* kLinuxTasks[] = {"find large files", "check disk usage", "kill a process by port",
                                       "count lines in a file", "list open ports", "change file permissions",
                                       "find files by name", "see memory usage", "schedule a cron job",
                                       "extract a tar.gz file", "add a user", "check the kernel version"};
constexpr const char* kTypeNames[] = {"string", "integer", "float", "list", "array", "dictionary", "json",
                                      "bytes", "date", "tuple", "set", "char"};
constexpr const char* kEvents[] = {"the moon landing", "the fall of the berlin wall", "the first world war",
                                   "the invention of the printing press", "the signing of magna carta",
                                   "the great fire of london", "the french revolution", "the first olympic games",
                                   "the sinking of the titanic", "the end of apartheid", "the discovery of penicillin",
                                   "the launch of sputnik"};
constexpr const char* kPercents[] = {"5", "10", "12.5", "15", "18", "20", "25", "33", "40", "60", "75", "80"};
constexpr const char* kFrameworks[] = {"django", "flask", "fastapi", "rails", "spring boot", "express", "laravel",
                                       "nextjs", "phoenix", "gin", "actix", "asp.net core"};
constexpr const char* kFeatures[] = {"authentication", "file uploads", "pagination", "rate limiting",
                                     "websockets", "background jobs", "caching", "database migrations",
                                     "input validation", "cors", "logging", "sending email"};

constexpr const char* kTripDays[] = {"2", "3", "4", "5", "7", "10"};
constexpr const char* kMonths[] = {"january", "february", "march", "april", "may", "june", "july", "august",
                                   "september", "october", "november", "december"};
constexpr const char* kAmounts[] = {"$5,000", "$10,000", "$20,000", "$50,000", "$100,000", "$200,000",
                                    "$300,000", "$500,000"};
constexpr const char* kRates[] = {"3", "3.5", "4", "4.5", "5", "6", "7", "8"};
constexpr const char* kYears[] = {"5", "10", "15", "20", "25", "30"};

struct Template {
  const char* intent;
  std::array<Words, 3> slots;
  std::size_t slot_count;
  std::vector<const char*> patterns;  // "{0}".."{2}" name the slots
  bool symmetric = false;  // {0},{1} from one list and swapping them keeps the answer: only {0} < {1} is drawn
};

Words w(const auto& list) { return Words(list); }

// Template patterns are lower case without trailing punctuation; rendering adds both.
const std::vector<Template>& templates() {
  static const std::vector<Template> kTemplates = {
      {"howto", {w(kVerbs), w(kNouns), w(kLangs)}, 3,
       {"how do i {0} a {1} in {2}", "{2}: how to {0} a {1}", "what's the best way to {0} a {1} in {2}",
        "how can i {0} a {1} using {2}", "{0} a {1} in {2}", "in {2}, how do you {0} a {1}"}},
      {"difference", {w(kTechs), w(kTechs), {}}, 2,
       {"what is the difference between {0} and {1}", "{0} vs {1}", "how does {0} differ from {1}",
        "compare {0} and {1}", "{0} or {1}, what's the difference", "explain the difference between {0} and {1}"}, true},
      {"summarize", {w(kTopics), {}, {}}, 1,
       {"summarize {0}", "give me a summary of {0}", "sum up {0} briefly", "tl;dr of {0}", "short summary of {0}"}},
      {"write_function", {w(kLangs), w(kTasks), {}}, 2,
       {"write a {0} function that {1}", "{0} function that {1}", "i need a {0} function which {1}",
        "show me {0} code that {1}", "implement a function in {0} that {1}"}},
      {"eli5", {w(kTopics), {}, {}}, 1,
       {"explain {0} like i'm five", "explain {0} to a child", "eli5 {0}", "{0} explained simply"}},
      {"fix_error", {w(kErrors), w(kLangs), {}}, 2,
       {"how do i fix {0} in {1}", "{1} {0} how to fix", "getting {0} in my {1} program, what do i do",
        "why do i get {0} in {1}", "{0} in {1}, how to solve it"}},
      {"translate", {w(kPhrases), w(kHumanLangs), {}}, 2,
       {"translate \"{0}\" into {1}", "how do you say {0} in {1}", "what is \"{0}\" in {1}", "{0} in {1}",
        "{1} translation of \"{0}\""}},
      {"convert_units", {w(kNumbers), w(kConversions), {}}, 2,
       {"convert {0} {1}", "{0} {1}", "please convert {0} {1} for me", "what is {0} {1}", "{1}: {0}"}},
      {"recipe", {w(kDishes), {}, {}}, 1,
       {"how do i make {0}", "recipe for {0}", "give me a simple {0} recipe", "what do i need to cook {0}",
        "easy {0} recipe"}},
      {"weather", {w(kCities), w(kDays), {}}, 2,
       {"what's the weather in {0} on {1}", "weather {0} {1}", "will it rain in {0} on {1}",
        "{0} forecast for {1}"}},
      {"travel", {w(kCities), {}, {}}, 1,
       {"what are the best things to do in {0}", "top attractions in {0}", "things to see in {0}",
        "plan a day in {0}", "what should i visit in {0}"}},
      {"capital", {w(kCountries), {}, {}}, 1,
       {"what is the capital of {0}", "capital city of {0}", "{0} capital", "which city is the capital of {0}"}},
      {"biography", {w(kPeople), {}, {}}, 1,
       {"who was {0}", "tell me about {0}", "short biography of {0}", "what is {0} known for"}},
      {"regex", {w(kRegexTargets), w(kLangs), {}}, 2,
       {"write a regex that matches {0} in {1}", "{1} regular expression for {0}", "regex to match {0} ({1})",
        "how do i match {0} with a regex in {1}"}},
      {"sql", {w(kSqlTasks), w(kDatabases), {}}, 2,
       {"write a sql query to {0} in {1}", "{1} query to {0}", "how do i {0} in {1}", "sql to {0} on {1}"}},
      {"install", {w(kTools), w(kOses), {}}, 2,
       {"how do i install {0} on {1}", "install {0} {1}", "{0} installation steps for {1}",
        "setting up {0} on {1}", "what's the easiest way to install {0} on {1}"}},
      {"git", {w(kGitTasks), {}, {}}, 1,
       {"how do i {0} in git", "git: {0}", "what's the git command to {0}", "how to {0} with git"}},
      {"complexity", {w(kAlgorithms), {}, {}}, 1,
       {"what is the time complexity of {0}", "big o of {0}", "{0} complexity", "how fast is {0} in big o terms"}},
      {"multiply", {w(kNumbers), w(kNumbers), {}}, 2,
       {"what is {0} times {1}", "{0} * {1}", "multiply {0} by {1}", "{0} x {1} equals", "calculate {0} times {1}"}, true},
      {"percent", {w(kPercents), w(kNumbers), {}}, 2,
       {"what is {0} percent of {1}", "{0}% of {1}", "calculate {0} percent of {1}", "how much is {0}% of {1}"}},
      {"email", {w(kEmailPurposes), w(kRecipients), {}}, 2,
       {"write an email to my {1} {0}", "draft an email to my {1} {0}", "help me write an email {0} to my {1}",
        "email to {1} {0}"}},
      {"synonym", {w(kAdjectives), {}, {}}, 1,
       {"what is another word for {0}", "synonyms for {0}", "give me a synonym of {0}", "{0} synonym"}},
      {"define", {w(kTerms), {}, {}}, 1,
       {"what does {0} mean", "define {0}", "meaning of {0}", "{0} definition", "what is the meaning of {0}"}},
      {"library", {w(kLangs), w(kPurposes), {}}, 2,
       {"what is the best {0} library for {1}", "recommend a {0} library for {1}",
        "which {0} library should i use for {1}", "{0} library for {1}"}},
      {"read_file", {w(kFormats), w(kLangs), {}}, 2,
       {"how do i read a {0} file in {1}", "read {0} in {1}", "parse a {0} file with {1}", "{1}: load a {0} file"}},
      {"symptom", {w(kSymptoms), {}, {}}, 1,
       {"what causes {0}", "why do i have {0}", "{0} causes", "what can cause {0}"}},
      {"exercise", {w(kMuscles), {}, {}}, 1,
       {"best exercises for {0}", "how do i train my {0}", "workout for {0}", "exercises to strengthen my {0}"}},
      {"gift", {w(kGiftees), w(kOccasions), {}}, 2,
       {"gift ideas for my {0} for {1}", "what should i get my {0} for {1}", "{1} present for my {0}",
        "good gift for {0} for {1}"}},
      {"books", {w(kGenres), {}, {}}, 1,
       {"recommend a good {0} book", "best {0} books", "what {0} book should i read next",
        "suggest some {0} books"}},
      {"poem", {w(kPoemSubjects), {}, {}}, 1,
       {"write a poem about {0}", "write me a short poem about {0}", "poem about {0}",
        "could you write a poem on {0}"}},
      {"time_difference", {w(kCities), w(kCities), {}}, 2,
       {"time difference between {0} and {1}", "{0} to {1} time difference",
        "how many hours apart are {0} and {1}", "what's the time difference from {0} to {1}"}, true},
      {"distance", {w(kCities), w(kCities), {}}, 2,
       {"how far is {0} from {1}", "distance between {0} and {1}", "{0} to {1} distance",
        "how many km from {0} to {1}"}, true},
      {"docker", {w(kDockerTasks), {}, {}}, 1,
       {"how do i {0} in docker", "docker command to {0}", "docker: {0}", "what's the docker command to {0}"}},
      {"linux", {w(kLinuxTasks), {}, {}}, 1,
       {"how do i {0} in linux", "linux command to {0}", "{0} linux", "bash: {0}", "how to {0} on the command line"}},
      {"convert_type", {w(kTypeNames), w(kTypeNames), w(kLangs)}, 3,
       {"how do i convert a {0} to a {1} in {2}", "{2} {0} to {1}", "convert {0} to {1} in {2}",
        "{0} to {1} conversion in {2}", "in {2}, turn a {0} into a {1}"}},
      {"pros_cons", {w(kTechs), {}, {}}, 1,
       {"what are the pros and cons of {0}", "{0} advantages and disadvantages", "should i use {0}, pros and cons",
        "benefits and drawbacks of {0}"}},
      {"history", {w(kEvents), {}, {}}, 1,
       {"when did {0} happen", "what year was {0}", "date of {0}", "in which year did {0} take place"}},
      {"calories", {w(kDishes), {}, {}}, 1,
       {"how many calories are in {0}", "calories in a serving of {0}", "{0} calories",
        "calorie count of {0}"}},
      {"framework", {w(kFeatures), w(kFrameworks), {}}, 2,
       {"how do i add {0} to a {1} app", "{1} {0}", "implementing {0} in {1}", "{0} with {1}, how",
        "what's the right way to do {0} in {1}"}},
      {"trip", {w(kTripDays), w(kCities), w(kMonths)}, 3,
       {"plan a {0}-day trip to {1} in {2}", "{0} days in {1} in {2}, what should i do",
        "itinerary for {0} days in {1} in {2}", "i'm visiting {1} for {0} days in {2}, suggestions",
        "what to do in {1} in {2} with {0} days"}},
      {"loan", {w(kAmounts), w(kRates), w(kYears)}, 3,
       {"monthly payment on a {0} loan at {1}% for {2} years", "{0} loan, {1}% interest, {2} years: monthly payment",
        "how much would i pay per month for {0} at {1} percent over {2} years",
        "calculate the monthly payment for a {2}-year {0} loan at {1}%"}},
      {"savings", {w(kAmounts), w(kRates), w(kYears)}, 3,
       {"how much will {0} grow to at {1}% over {2} years", "{0} invested at {1}% for {2} years",
        "compound interest on {0} at {1} percent for {2} years", "what is {0} worth after {2} years at {1}%"}},
      {"choose_lang", {w(kLangs), w(kLangs), w(kPurposes)}, 3,
       {"should i use {0} or {1} for {2}", "{0} vs {1} for {2}", "is {0} or {1} better for {2}",
        "which is better for {2}, {0} or {1}"}, true},
      {"unit_tests", {w(kFrameworks), {}, {}}, 1,
       {"how do i write unit tests for a {0} app", "unit testing in {0}", "{0} testing example",
        "how to test a {0} project"}},
  };
  return kTemplates;
}

// A group: one template with one filler per slot.
struct GroupSpec {
  std::uint16_t template_index = 0;
  std::array<std::uint16_t, 3> fillers{};
  std::uint8_t canonical_pattern = 0;
  bool canonical_capitalised = false;
  bool canonical_question_mark = false;
  bool hard_negative = false;
  std::uint32_t completion_tokens = 0;
};

std::uint64_t group_key(const GroupSpec& g) {
  return (static_cast<std::uint64_t>(g.template_index) << 48) | (static_cast<std::uint64_t>(g.fillers[0]) << 32) |
         (static_cast<std::uint64_t>(g.fillers[1]) << 16) | g.fillers[2];
}

double template_capacity(const Template& t) {
  double c = 1;
  for (std::size_t s = 0; s < t.slot_count; ++s) c *= static_cast<double>(t.slots[s].size());
  return t.symmetric ? c / 2 : c;
}

// Slots of one template that draw from the same list must differ ("docker vs docker" is no question),
// and a symmetric question has one group, not two ("tcp vs udp" and "udp vs tcp" share an answer).
bool fillers_valid(const Template& t, const GroupSpec& g) {
  for (std::size_t a = 0; a < t.slot_count; ++a) {
    for (std::size_t b = a + 1; b < t.slot_count; ++b) {
      if (t.slots[a].data() == t.slots[b].data() && g.fillers[a] == g.fillers[b]) return false;
    }
  }
  return !t.symmetric || g.fillers[0] < g.fillers[1];
}

std::vector<double> cumulative_zipf(std::size_t n, double exponent) {
  std::vector<double> cdf(n);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    total += 1.0 / std::pow(static_cast<double>(i + 1), exponent);
    cdf[i] = total;
  }
  return cdf;
}

std::size_t sample_cdf(const std::vector<double>& cdf, Rng& rng) {
  const double target = rng.uniform() * cdf.back();
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), target);
  return std::min(static_cast<std::size_t>(it - cdf.begin()), cdf.size() - 1);
}

// Templates are chosen in proportion to the square root of the questions they can express: large
// templates dominate less than under uniform sampling of the space, small ones are still seen.
std::vector<double> template_cdf() {
  std::vector<double> cdf;
  double total = 0;
  for (const Template& t : templates()) {
    total += std::sqrt(template_capacity(t));
    cdf.push_back(total);
  }
  return cdf;
}

std::uint32_t draw_completion_tokens(Rng& rng) {
  const double tokens = 150.0 * std::exp(0.6 * rng.normal());
  return static_cast<std::uint32_t>(std::clamp(std::lround(tokens), 8L, 2000L));
}

Expected<std::vector<GroupSpec>> build_groups(const GeneratePromptsOptions& o) {
  const std::vector<Template>& all = templates();
  const std::vector<double> cdf = template_cdf();
  std::vector<GroupSpec> groups;
  groups.reserve(o.groups);
  std::unordered_set<std::uint64_t> seen;
  seen.reserve(o.groups * 2);
  const std::size_t max_attempts = 64 * o.groups + 1024;
  std::size_t attempts = 0;
  for (std::uint64_t family = 0; groups.size() < o.groups; ++family) {
    Rng rng(o.seed, kFamilyStream, family);
    GroupSpec base;
    for (;;) {
      if (++attempts > max_attempts) {
        return Status::internal(fmt::format("gen prompts: could not draw {} distinct questions", o.groups));
      }
      base.template_index = static_cast<std::uint16_t>(sample_cdf(cdf, rng));
      const Template& t = all[base.template_index];
      base.fillers = {0, 0, 0};
      for (std::size_t s = 0; s < t.slot_count; ++s) base.fillers[s] = static_cast<std::uint16_t>(rng.below(t.slots[s].size()));
      if (fillers_valid(t, base) && !seen.count(group_key(base))) break;
    }
    const Template& t = all[base.template_index];
    std::vector<GroupSpec> members{base};
    seen.insert(group_key(base));
    const std::size_t wanted = std::min<std::size_t>(1 + rng.below(3), o.groups - groups.size());
    const std::size_t varied_slot = rng.below(t.slot_count);
    for (std::size_t tries = 0; members.size() < wanted && tries < 16; ++tries) {
      GroupSpec mate = base;
      mate.fillers[varied_slot] = static_cast<std::uint16_t>(rng.below(t.slots[varied_slot].size()));
      if (!fillers_valid(t, mate) || seen.count(group_key(mate))) continue;
      seen.insert(group_key(mate));
      members.push_back(mate);
    }
    for (GroupSpec& g : members) {
      Rng group_rng(o.seed, kGroupStream, groups.size());
      g.canonical_pattern = static_cast<std::uint8_t>(group_rng.below(t.patterns.size()));
      g.canonical_capitalised = group_rng.chance(0.5);
      g.canonical_question_mark = group_rng.chance(0.6);
      g.hard_negative = members.size() > 1;
      g.completion_tokens = draw_completion_tokens(group_rng);
      groups.push_back(g);
    }
  }
  return groups;
}

std::string render_pattern(const Template& t, std::size_t pattern, const GroupSpec& g) {
  std::string out;
  for (const char* p = t.patterns[pattern]; *p; ++p) {
    if (p[0] == '{' && p[1] >= '0' && p[1] <= '2' && p[2] == '}') {
      const std::size_t slot = static_cast<std::size_t>(p[1] - '0');
      out += t.slots[slot][g.fillers[slot]];
      p += 2;
    } else {
      out.push_back(*p);
    }
  }
  return out;
}

void capitalise_first(std::string& text) {
  for (char& c : text) {
    if (std::isalpha(static_cast<unsigned char>(c))) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return;
    }
  }
}

// Swaps two inner letters of one word of four or more letters, as fast typing does.
void add_typo(std::string& text, Rng& rng) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t j = i;
    while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
    if (j - i >= 4) starts.push_back(i);
    i = j == i ? i + 1 : j;
  }
  if (starts.empty()) return;
  const std::size_t start = starts[rng.below(starts.size())];
  std::size_t end = start;
  while (end < text.size() && std::isalpha(static_cast<unsigned char>(text[end]))) ++end;
  const std::size_t at = start + 1 + rng.below(end - start - 2);
  std::swap(text[at], text[at + 1]);
}

std::string render_canonical(const Template& t, const GroupSpec& g) {
  std::string text = render_pattern(t, g.canonical_pattern, g);
  if (g.canonical_capitalised) capitalise_first(text);
  if (g.canonical_question_mark) text += '?';
  return text;
}

constexpr const char* kPrefixes[] = {"please ", "can you tell me: ", "hey, ", "quick question: ", "hi! ",
                                     "i need help: ", "could you help? "};
constexpr const char* kSuffixes[] = {" thanks", " thx", " please", " asap", " (short answer)"};
constexpr const char* kPunctuation[] = {"?", "", "??", ".", "?!", " ?"};

std::string render_variant(const Template& t, const GroupSpec& g, Rng& rng) {
  std::string text;
  if (rng.chance(0.3)) text += kPrefixes[rng.below(std::size(kPrefixes))];
  text += render_pattern(t, rng.below(t.patterns.size()), g);
  if (rng.chance(0.07)) add_typo(text, rng);
  const double case_style = rng.uniform();
  if (case_style < 0.45) {
    capitalise_first(text);
  } else if (case_style < 0.48) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (rng.chance(0.1)) text += kSuffixes[rng.below(std::size(kSuffixes))];
  text += kPunctuation[rng.below(std::size(kPunctuation))];
  return text;
}

constexpr const char* kAnswerWords[] = {
    "the", "a", "you", "can", "use", "this", "approach", "which", "works", "because", "it", "keeps", "data",
    "in", "order", "first", "then", "check", "value", "result", "example", "note", "that", "for", "most",
    "cases", "simple", "option", "is", "to", "call", "function", "with", "input", "and", "return", "output",
    "step", "consider", "performance", "memory", "edge", "case", "when", "empty", "otherwise", "also",
    "common", "mistake", "avoid", "instead", "prefer", "clear", "way", "here", "how", "should", "look"};

// The group's answer: deterministic text of about completion_tokens / 1.3 words.
std::string render_response(const GeneratePromptsOptions& o, std::size_t group_index, const GroupSpec& g,
                            const std::string& question) {
  Rng rng(o.seed ^ 0x5eed, kGroupStream, group_index);
  std::string text = fmt::format("Answer for group g{} ({}):", group_index, question);
  const std::size_t words = std::max<std::size_t>(4, static_cast<std::size_t>(g.completion_tokens / 1.3));
  std::size_t sentence = 0;
  for (std::size_t i = 0; i < words; ++i) {
    std::string_view word = kAnswerWords[rng.below(std::size(kAnswerWords))];
    text += ' ';
    if (sentence == 0) {
      text += static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
      word.remove_prefix(1);
    }
    text += word;
    if (++sentence >= 6 + rng.below(10) || i + 1 == words) {
      text += '.';
      sentence = 0;
    }
  }
  return text;
}

struct ModelChoice {
  const char* name;
  double weight;
  double speed_factor;  // latency multiplier
};
constexpr ModelChoice kModels[] = {{"gpt-4o-mini", 0.7, 1.0}, {"gpt-4o", 0.2, 1.6}, {"claude-3-haiku", 0.1, 0.8}};

std::size_t count_words(const std::string& text) {
  std::size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

Status validate(const GeneratePromptsOptions& o) {
  if (o.n == 0) return Status::invalid_argument("gen prompts: --n must be at least 1");
  if (o.groups == 0) return Status::invalid_argument("gen prompts: --groups must be at least 1");
  if (o.groups > max_prompt_groups()) {
    return Status::invalid_argument(fmt::format(
        "gen prompts: --groups {} is more distinct questions than the built-in vocabulary can draw quickly "
        "(at most {})", o.groups, max_prompt_groups()));
  }
  if (o.tenants == 0 || o.tenants > 9999) return Status::invalid_argument("gen prompts: --tenants must be in 1..9999");
  if (!(o.rate_per_second > 0) || !std::isfinite(o.rate_per_second)) {
    return Status::invalid_argument("gen prompts: --rate must be a positive number of requests per second");
  }
  if (!(o.diurnal_amplitude >= 0 && o.diurnal_amplitude < 1)) {
    return Status::invalid_argument("gen prompts: --diurnal must be in [0, 1)");
  }
  if (!(o.zipf_exponent >= 0 && o.zipf_exponent <= 10)) {
    return Status::invalid_argument("gen prompts: --zipf must be in [0, 10]");
  }
  if (!std::isfinite(o.start_ts)) return Status::invalid_argument("gen prompts: the start time must be finite");
  return Status::ok();
}

// FNV-1a: exact-repeat counting keeps 8 bytes per distinct prompt instead of the text; a 64-bit
// collision among a few million prompts is unlikely enough not to move a share.
std::uint64_t text_hash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

}  // namespace

std::size_t max_prompt_groups() {
  double capacity = 0;
  for (const Template& t : templates()) capacity += template_capacity(t);
  return static_cast<std::size_t>(capacity / 4);
}

Expected<PromptLogSummary> generate_prompts(const GeneratePromptsOptions& o,
                                            const std::function<void(const GeneratedPrompt&)>& sink) {
  if (Status st = validate(o); !st) return st;
  auto built = build_groups(o);
  if (!built) return built.status();
  const std::vector<GroupSpec>& groups = *built;
  const std::vector<Template>& all = templates();

  std::vector<std::uint32_t> group_by_rank(groups.size());
  std::iota(group_by_rank.begin(), group_by_rank.end(), 0u);
  Rng shuffle_rng(o.seed, kGroupStream, ~0ull);
  for (std::size_t i = group_by_rank.size(); i > 1; --i) std::swap(group_by_rank[i - 1], group_by_rank[shuffle_rng.below(i)]);
  const std::vector<double> group_cdf = cumulative_zipf(groups.size(), o.zipf_exponent);
  const std::vector<double> tenant_cdf = cumulative_zipf(o.tenants, 1.0);
  const int tenant_width = std::max(2, static_cast<int>(std::to_string(o.tenants).size()));

  PromptLogSummary summary;
  std::vector<bool> group_seen(groups.size(), false);
  std::vector<bool> hard_negative_counted(groups.size(), false);
  std::unordered_set<std::uint64_t> prompts_seen;
  Rng arrivals(o.seed, kArrivalStream, 0);
  const double peak_rate = o.rate_per_second * (1 + o.diurnal_amplitude);
  double clock = o.start_ts;
  GeneratedPrompt record;
  for (std::size_t line = 0; line < o.n; ++line) {
    for (;;) {
      clock += arrivals.exponential() / peak_rate;
      if (o.diurnal_amplitude == 0) break;
      const double day_phase = std::fmod(clock, 86400.0) / 86400.0;
      const double rate = o.rate_per_second * (1 + o.diurnal_amplitude * std::cos(kTwoPi * (day_phase - 0.75)));
      if (arrivals.uniform() * peak_rate < rate) break;
    }
    Rng rng(o.seed, kLineStream, line);
    const std::size_t group_index = group_by_rank[sample_cdf(group_cdf, rng)];
    const GroupSpec& g = groups[group_index];
    const Template& t = all[g.template_index];
    const std::string canonical = render_canonical(t, g);

    record.ts = clock;
    record.prompt = rng.chance(kCanonicalShare) ? canonical : render_variant(t, g, rng);
    const double model_draw = rng.uniform();
    const ModelChoice* model = &kModels[0];
    for (double acc = 0; const ModelChoice& m : kModels) {
      acc += m.weight;
      model = &m;
      if (model_draw < acc) break;
    }
    record.model = model->name;
    record.tenant = fmt::format("tenant-{:0{}}", sample_cdf(tenant_cdf, rng) + 1, tenant_width);
    record.prompt_tokens = static_cast<std::uint32_t>(std::ceil(1.3 * static_cast<double>(count_words(record.prompt))));
    record.completion_tokens = g.completion_tokens;
    const double latency = (300.0 + 15.0 * g.completion_tokens) * model->speed_factor * std::exp(0.25 * rng.normal());
    record.latency_ms = static_cast<std::uint32_t>(std::lround(latency));
    record.group = fmt::format("g{}", group_index);
    record.response = render_response(o, group_index, g, canonical);

    if (!prompts_seen.insert(text_hash(record.prompt)).second) {
      ++summary.exact_repeat_lines;
    } else if (group_seen[group_index]) {
      ++summary.paraphrase_lines;
    }
    if (!group_seen[group_index]) {
      group_seen[group_index] = true;
      ++summary.groups_used;
      if (g.hard_negative) ++summary.hard_negative_groups;
    }
    if (line == 0) summary.first_ts = record.ts;
    summary.last_ts = record.ts;
    ++summary.lines;
    sink(record);
  }
  return summary;
}

std::string prompt_record_json(const GeneratedPrompt& r) {
  return fmt::format(
      "{{\"ts\":{:.3f},\"model\":{},\"prompt\":{},\"response\":{},\"tenant\":{},\"prompt_tokens\":{},"
      "\"completion_tokens\":{},\"latency_ms\":{},\"group\":{}}}",
      r.ts, json_escape(r.model), json_escape(r.prompt), json_escape(r.response), json_escape(r.tenant),
      r.prompt_tokens, r.completion_tokens, r.latency_ms, json_escape(r.group));
}

Expected<PromptLogSummary> write_prompt_log(const GeneratePromptsOptions& options, std::ostream& out) {
  std::uint64_t bytes = 0;
  std::string line;
  auto summary = generate_prompts(options, [&](const GeneratedPrompt& record) {
    line = prompt_record_json(record);
    line += '\n';
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    bytes += line.size();
  });
  if (!summary) return summary;
  if (!out) return Status::io("gen prompts: write failed");
  summary->bytes_written = bytes;
  return summary;
}

Expected<PromptLogSummary> write_prompt_log(const GeneratePromptsOptions& options, const std::string& path) {
  if (Status st = validate(options); !st) return st;
  const std::string temp_path = path + ".tmp";
  std::ofstream out(temp_path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::io(fmt::format("{}: cannot open for writing: {}", temp_path, std::strerror(errno)));
  auto summary = write_prompt_log(options, out);
  out.close();
  if (summary && !out) summary = Status::io(fmt::format("{}: write failed", temp_path));
  if (summary && std::rename(temp_path.c_str(), path.c_str()) != 0) {
    summary = Status::io(fmt::format("{}: cannot rename the temporary file into place: {}", path, std::strerror(errno)));
  }
  if (!summary) {
    std::remove(temp_path.c_str());
    return summary.status();
  }
  return summary;
}

}  // namespace semcache
