#include "monitor/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace shopflow::monitor {
namespace {

bool IsNameChar(char c, bool first, bool allow_colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (alpha || (allow_colon && c == ':')) return true;
  return !first && c >= '0' && c <= '9';
}

bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void AtomicAdd(std::atomic<double>& target, double by) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + by, std::memory_order_relaxed)) {
  }
}

/// `name{a="x",b="y"} value\n`, with `extra` (e.g. le) as the last label.
void WriteSample(std::string& out, std::string_view name, const std::vector<std::string>& names,
                 const LabelValues& values, double value, std::string_view extra_name = {},
                 std::string_view extra_value = {}) {
  out += name;
  if (!names.empty() || !extra_name.empty()) {
    out += '{';
    bool first = true;
    auto label = [&](std::string_view n, std::string_view v) {
      if (!first) out += ',';
      first = false;
      out += n;
      out += "=\"";
      out += EscapeLabelValue(v);
      out += '"';
    };
    for (size_t i = 0; i < names.size() && i < values.size(); ++i) label(names[i], values[i]);
    if (!extra_name.empty()) label(extra_name, extra_value);
    out += '}';
  }
  out += ' ';
  out += FormatMetricValue(value);
  out += '\n';
}

}  // namespace

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  std::to_chars_result r;
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    r = std::to_chars(buffer, buffer + sizeof buffer, static_cast<int64_t>(value));
  } else {
    r = std::to_chars(buffer, buffer + sizeof buffer, value);
  }
  return std::string(buffer, r.ptr);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

void Counter::Inc(double by) {
  if (by > 0) AtomicAdd(value_, by);
}

void Gauge::Add(double by) { AtomicAdd(value_, by); }

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_->size() + 1)) {}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // Buckets are inclusive upper bounds: the first bound >= value.
  const auto it = std::lower_bound(bounds_->begin(), bounds_->end(), value);
  counts_[static_cast<size_t>(it - bounds_->begin())].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
}

Histogram::Data Histogram::Collect() const {
  Data data;
  data.cumulative.reserve(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    data.cumulative.push_back(running);
  }
  data.count = running;
  data.sum = sum_.load(std::memory_order_relaxed);
  return data;
}

MetricFamily::MetricFamily(std::string name, std::string help, MetricType type,
                           std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  if (!IsValidName(name_, true)) throw std::invalid_argument("invalid metric name: " + name_);
  for (const auto& l : label_names_) {
    if (!IsValidName(l, false) || l.starts_with("__") ||
        (type_ == MetricType::kHistogram && l == "le")) {
      throw std::invalid_argument("invalid label name '" + l + "' on " + name_);
    }
  }
}

void MetricFamily::CheckArity(size_t values) const {
  if (values != label_names_.size()) {
    throw std::invalid_argument(name_ + " takes " + std::to_string(label_names_.size()) +
                                " label values, got " + std::to_string(values));
  }
}

void CounterFamily::WriteSamples(std::string& out) const {
  ForEach([&](const LabelValues& labels, const Counter& c) {
    WriteSample(out, name(), label_names(), labels, c.Value());
  });
}

void GaugeFamily::WriteSamples(std::string& out) const {
  ForEach([&](const LabelValues& labels, const Gauge& g) {
    WriteSample(out, name(), label_names(), labels, g.Value());
  });
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds,
                                 size_t max_series)
    : SeriesFamily(std::move(name), std::move(help), MetricType::kHistogram, std::move(label_names),
                   max_series) {
  std::erase_if(bounds, [](double b) { return !std::isfinite(b); });
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  bounds_ = std::make_shared<const std::vector<double>>(std::move(bounds));
}

void HistogramFamily::WriteSamples(std::string& out) const {
  const std::string bucket = name() + "_bucket";
  const std::string sum = name() + "_sum";
  const std::string count = name() + "_count";
  ForEach([&](const LabelValues& labels, const Histogram& h) {
    const Histogram::Data data = h.Collect();
    for (size_t i = 0; i < bounds_->size(); ++i) {
      WriteSample(out, bucket, label_names(), labels, static_cast<double>(data.cumulative[i]), "le",
                  FormatMetricValue((*bounds_)[i]));
    }
    WriteSample(out, bucket, label_names(), labels, static_cast<double>(data.count), "le", "+Inf");
    WriteSample(out, sum, label_names(), labels, data.sum);
    WriteSample(out, count, label_names(), labels, static_cast<double>(data.count));
  });
}

CallbackFamily::CallbackFamily(std::string name, std::string help, MetricType type,
                               std::vector<std::string> label_names,
                               std::function<std::vector<Sample>()> collect)
    : MetricFamily(std::move(name), std::move(help), type, std::move(label_names)),
      collect_(std::move(collect)) {
  if (type == MetricType::kHistogram) {
    throw std::invalid_argument("callback families are counters or gauges: " + this->name());
  }
}

void CallbackFamily::WriteSamples(std::string& out) const {
  if (!collect_) return;
  for (const Sample& s : collect_()) {
    if (s.labels.size() != label_names().size()) continue;  // a bad sample is skipped, not sent
    WriteSample(out, name(), label_names(), s.labels, s.value);
  }
}

template <class F>
F& MetricsRegistry::Add(std::unique_ptr<F> family) {
  std::lock_guard lock(mutex_);
  for (const auto& f : families_) {
    if (f->name() == family->name()) {
      throw std::invalid_argument("metric registered twice: " + family->name());
    }
  }
  F& ref = *family;
  families_.push_back(std::move(family));
  return ref;
}

CounterFamily& MetricsRegistry::AddCounter(std::string name, std::string help,
                                           std::vector<std::string> label_names,
                                           size_t max_series) {
  return Add(std::make_unique<CounterFamily>(std::move(name), std::move(help), MetricType::kCounter,
                                             std::move(label_names), max_series));
}

GaugeFamily& MetricsRegistry::AddGauge(std::string name, std::string help,
                                       std::vector<std::string> label_names, size_t max_series) {
  return Add(std::make_unique<GaugeFamily>(std::move(name), std::move(help), MetricType::kGauge,
                                           std::move(label_names), max_series));
}

HistogramFamily& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> bounds, size_t max_series) {
  return Add(std::make_unique<HistogramFamily>(
      std::move(name), std::move(help), std::move(label_names), std::move(bounds), max_series));
}

void MetricsRegistry::AddCallback(std::string name, std::string help, MetricType type,
                                  std::vector<std::string> label_names,
                                  std::function<std::vector<Sample>()> collect) {
  Add(std::make_unique<CallbackFamily>(std::move(name), std::move(help), type,
                                       std::move(label_names), std::move(collect)));
}

std::string MetricsRegistry::Expose() const {
  std::vector<const MetricFamily*> families;
  {
    std::lock_guard lock(mutex_);
    for (const auto& f : families_) families.push_back(f.get());
  }
  std::string out;
  for (const MetricFamily* f : families) {
    out += "# HELP ";
    out += f->name();
    out += ' ';
    out += EscapeHelp(f->help());
    out += "\n# TYPE ";
    out += f->name();
    out += ' ';
    out += TypeName(f->type());
    out += '\n';
    f->WriteSamples(out);
  }
  return out;
}

}  // namespace shopflow::monitor
