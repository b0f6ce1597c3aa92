#include "app/consumer_threads.hpp"

namespace shopflow {

int ConsumerThreadsFor(const Settings& settings) {
  if (settings.consumer_threads > 0) return settings.consumer_threads;
  constexpr int kEmbeddedCompeting = 4;
  return settings.rabbitmq_url.empty() ? kEmbeddedCompeting : 1;
}

}  // namespace shopflow
