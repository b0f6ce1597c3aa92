#pragma once

// A tiny parser of the Prometheus text format (0.0.4) for tests: it checks the structure a
// scraper relies on and returns the samples, so tests can assert on values.

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace shopflow::monitor::testing {

struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0.0;
};

struct ParsedExposition {
  std::vector<ParsedSample> samples;
  std::map<std::string, std::string> types;  // family -> counter | gauge | histogram
  std::vector<std::string> errors;           // empty when the text is well formed

  /// The value of the sample `name` whose labels include `labels`; nullopt if none.
  std::optional<double> Value(std::string_view name,
                              const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) match = false;
      }
      if (match) return s.value;
    }
    return std::nullopt;
  }
};

inline std::optional<double> ParseValue(const std::string& text) {
  if (text == "+Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text == "NaN") return NAN;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || text.empty()) return std::nullopt;
  return v;
}

/// Parses `{a="x",b="y"}` contents with the format's escapes; nullopt when malformed.
inline std::optional<std::map<std::string, std::string>> ParseLabels(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  while (i < text.size()) {
    const size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string name(text.substr(i, eq - i));
    if (!std::regex_match(name, kLabelName)) return std::nullopt;
    if (eq + 1 >= text.size() || text[eq + 1] != '"') return std::nullopt;
    std::string value;
    size_t j = eq + 2;
    bool closed = false;
    for (; j < text.size(); ++j) {
      const char c = text[j];
      if (c == '\\') {
        if (++j >= text.size()) return std::nullopt;
        const char e = text[j];
        if (e == 'n') {
          value += '\n';
        } else if (e == '\\' || e == '"') {
          value += e;
        } else {
          return std::nullopt;
        }
      } else if (c == '"') {
        closed = true;
        break;
      } else if (c == '\n') {
        return std::nullopt;
      } else {
        value += c;
      }
    }
    if (!closed || out.contains(name)) return std::nullopt;
    out.emplace(std::move(name), std::move(value));
    i = j + 1;
    if (i < text.size()) {
      if (text[i] != ',') return std::nullopt;
      ++i;
    }
  }
  return out;
}

/// Parses and validates: every non-comment line is `name{labels} value`; every sample belongs
/// to a family with a preceding # TYPE; histogram buckets are cumulative, end with le="+Inf",
/// and +Inf equals _count.
inline ParsedExposition ParseExposition(const std::string& text) {
  ParsedExposition out;
  static const std::regex kSample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$)");
  if (!text.empty() && text.back() != '\n') out.errors.push_back("does not end with a newline");
  size_t start = 0;
  int line_no = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    std::smatch m;
    if (line.empty()) continue;
    if (line.starts_with("#")) {
      if (std::regex_match(line, m, kType)) {
        if (out.types.contains(m[1])) out.errors.push_back("TYPE twice: " + line);
        out.types[m[1]] = m[2];
      } else if (!std::regex_match(line, kHelp) &&
                 (line.starts_with("# TYPE") || line.starts_with("# HELP"))) {
        out.errors.push_back("bad comment line " + std::to_string(line_no) + ": " + line);
      }
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      out.errors.push_back("bad sample line " + std::to_string(line_no) + ": " + line);
      continue;
    }
    ParsedSample s;
    s.name = m[1];
    auto labels = ParseLabels(m[3].str());
    auto value = ParseValue(m[4]);
    if (!labels || !value) {
      out.errors.push_back("bad labels or value on line " + std::to_string(line_no) + ": " + line);
      continue;
    }
    s.labels = std::move(*labels);
    s.value = *value;
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (family.ends_with(suffix)) {
        const std::string base = family.substr(0, family.size() - std::string_view(suffix).size());
        if (out.types.contains(base) && out.types[base] == "histogram") family = base;
      }
    }
    if (!out.types.contains(family)) out.errors.push_back("sample without TYPE: " + line);
    out.samples.push_back(std::move(s));
  }

  // Histograms: per series (labels without le), buckets cumulative, +Inf last and == _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
    std::map<std::map<std::string, std::string>, double> counts;
    for (const auto& s : out.samples) {
      if (s.name == family + "_bucket") {
        auto labels = s.labels;
        auto le = labels.find("le");
        if (le == labels.end()) {
          out.errors.push_back(family + " bucket without le");
          continue;
        }
        auto bound = ParseValue(le->second);
        labels.erase(le);
        if (!bound) {
          out.errors.push_back(family + " bad le");
          continue;
        }
        buckets[labels].emplace_back(*bound, s.value);
      } else if (s.name == family + "_count") {
        counts[s.labels] = s.value;
      }
    }
    for (const auto& [labels, list] : buckets) {
      for (size_t i = 1; i < list.size(); ++i) {
        if (!(list[i].first > list[i - 1].first))
          out.errors.push_back(family + " le not increasing");
        if (list[i].second < list[i - 1].second) out.errors.push_back(family + " not cumulative");
      }
      if (list.empty() || !std::isinf(list.back().first)) {
        out.errors.push_back(family + " does not end with +Inf");
      } else if (!counts.contains(labels) || counts[labels] != list.back().second) {
        out.errors.push_back(family + " +Inf bucket differs from _count");
      }
    }
  }
  return out;
}

}  // namespace shopflow::monitor::testing
