#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace shopflow::monitor {

/// A small Prometheus-style metrics registry and its text exposition (format 0.0.4).
///
/// Families have fixed label names; each distinct tuple of label values is one series, created
/// on first use and kept for the registry's life. To bound memory when a label takes values
/// from outside (an unknown event type, say), a family holds at most `max_series` series; later
/// tuples share one overflow series whose label values are all "_other".
///
/// Names and label names must be valid Prometheus identifiers and names unique in a registry;
/// a wrong name, a duplicate, or a wrong number of label values is a programming error and
/// throws std::invalid_argument. Everything else is thread-safe: series are updated with
/// atomics, lookups take a family mutex, and exposition reads a consistent-enough snapshot
/// (each histogram's buckets, _count and _sum come from one read of its atomics, so _count
/// always equals the +Inf bucket).

using LabelValues = std::vector<std::string>;

enum class MetricType { kCounter, kGauge, kHistogram };

/// A monotonically increasing value.
class Counter {
 public:
  /// `by` must be >= 0 (negative increments are ignored).
  void Inc(double by = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// Observations counted in fixed buckets (upper bounds, inclusive), with their sum.
class Histogram {
 public:
  struct Data {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    uint64_t count = 0;
    double sum = 0.0;
  };

  /// `bounds`: strictly increasing finite upper bounds, shared with the family.
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  /// NaN observations are ignored.
  void Observe(double value);
  Data Collect() const;

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket (not cumulative) + overflow
  std::atomic<double> sum_{0.0};
};

/// One sample of a callback family.
struct Sample {
  LabelValues labels;
  double value = 0.0;
};

/// A metric family as the exposition writer sees it.
class MetricFamily {
 public:
  MetricFamily(std::string name, std::string help, MetricType type,
               std::vector<std::string> label_names);
  virtual ~MetricFamily() = default;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  /// Appends the family's samples (without # HELP / # TYPE) to `out`.
  virtual void WriteSamples(std::string& out) const = 0;

 protected:
  void CheckArity(size_t values) const;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

/// Series of one metric kind keyed by label values.
template <class Series>
class SeriesFamily : public MetricFamily {
 public:
  SeriesFamily(std::string name, std::string help, MetricType type,
               std::vector<std::string> label_names, size_t max_series)
      : MetricFamily(std::move(name), std::move(help), type, std::move(label_names)),
        max_series_(max_series) {}

  /// The series for `values` (one per label name), created on first use. The reference stays
  /// valid for the family's life.
  Series& With(std::span<const std::string_view> values) {
    CheckArity(values.size());
    LabelValues key(values.begin(), values.end());
    std::lock_guard lock(mutex_);
    auto it = series_.find(key);
    if (it != series_.end()) return *it->second;
    if (series_.size() >= max_series_) key.assign(values.size(), "_other");
    auto& slot = series_[key];
    if (!slot) slot = MakeSeries();
    return *slot;
  }
  Series& With(std::initializer_list<std::string_view> values) {
    return With(std::span<const std::string_view>(values.begin(), values.size()));
  }

 protected:
  virtual std::unique_ptr<Series> MakeSeries() const = 0;

  /// Calls `fn(labels, series)` for each series, in label order, under the family lock.
  template <class Fn>
  void ForEach(Fn&& fn) const {
    std::lock_guard lock(mutex_);
    for (const auto& [labels, series] : series_) fn(labels, *series);
  }

 private:
  const size_t max_series_;
  mutable std::mutex mutex_;
  std::map<LabelValues, std::unique_ptr<Series>> series_;
};

class CounterFamily final : public SeriesFamily<Counter> {
 public:
  using SeriesFamily::SeriesFamily;
  void WriteSamples(std::string& out) const override;

 protected:
  std::unique_ptr<Counter> MakeSeries() const override { return std::make_unique<Counter>(); }
};

class GaugeFamily final : public SeriesFamily<Gauge> {
 public:
  using SeriesFamily::SeriesFamily;
  void WriteSamples(std::string& out) const override;

 protected:
  std::unique_ptr<Gauge> MakeSeries() const override { return std::make_unique<Gauge>(); }
};

class HistogramFamily final : public SeriesFamily<Histogram> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds, size_t max_series);
  void WriteSamples(std::string& out) const override;
  const std::vector<double>& bounds() const { return *bounds_; }

 protected:
  std::unique_ptr<Histogram> MakeSeries() const override {
    return std::make_unique<Histogram>(bounds_);
  }

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
};

/// Samples computed at exposition time (a queue depth, a backlog). The callback runs on the
/// exposing thread, outside every registry lock; it must be thread-safe and quick.
class CallbackFamily final : public MetricFamily {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names,
                 std::function<std::vector<Sample>()> collect);
  void WriteSamples(std::string& out) const override;

 private:
  std::function<std::vector<Sample>()> collect_;
};

/// Latency buckets in seconds, 1 ms to 10 s.
std::vector<double> DefaultLatencyBuckets();

/// The families of one process, exposed in registration order.
class MetricsRegistry {
 public:
  static constexpr size_t kDefaultMaxSeries = 1'000;

  /// The Counter family's name should end in "_total".
  CounterFamily& AddCounter(std::string name, std::string help,
                            std::vector<std::string> label_names = {},
                            size_t max_series = kDefaultMaxSeries);
  GaugeFamily& AddGauge(std::string name, std::string help,
                        std::vector<std::string> label_names = {},
                        size_t max_series = kDefaultMaxSeries);
  /// `bounds` are sorted and deduplicated; non-finite ones are dropped (+Inf is implicit).
  HistogramFamily& AddHistogram(std::string name, std::string help,
                                std::vector<std::string> label_names, std::vector<double> bounds,
                                size_t max_series = kDefaultMaxSeries);
  /// A counter or gauge family whose samples `collect` computes at exposition time.
  void AddCallback(std::string name, std::string help, MetricType type,
                   std::vector<std::string> label_names,
                   std::function<std::vector<Sample>()> collect);

  /// The Prometheus text exposition of every family.
  std::string Expose() const;

 private:
  template <class F>
  F& Add(std::unique_ptr<F> family);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<MetricFamily>> families_;
};

/// Exposition helpers (exposed for tests).
/// A sample value: integers without a fraction, others in shortest round-trip form, "+Inf",
/// "-Inf", "NaN".
std::string FormatMetricValue(double value);
/// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabelValue(std::string_view value);
/// Escapes HELP text (backslash, newline).
std::string EscapeHelp(std::string_view help);

}  // namespace shopflow::monitor
