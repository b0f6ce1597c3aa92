#include "app/consumer_threads.hpp"

namespace shopflow {

int ConsumerThreadsFor(const Settings& settings, bool batch) {
  if (settings.consumer_threads > 0) return settings.consumer_threads;
  constexpr int kCompeting = 4;
  if (settings.rabbitmq_url.empty()) return kCompeting;
  return batch ? 1 : kCompeting;
}

}  // namespace shopflow
