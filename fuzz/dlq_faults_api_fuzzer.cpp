// Bodies and filters of the dead-letter and fault-injection APIs through their route handlers:
// '0' POST /api/dlq/retry-all {queue?, eventType?, reason?, since?, until?, dryRun?, limit?},
// '1' POST /api/dlq/:messageId/retry {queue?}, '2' PUT /api/faults/payments {mode?, count?},
// '3' GET /api/dlq?<the rest> (the list filters, as a query string). The rest of the input is
// the body (or the query). The store holds no dead letters, so re-drives find nothing to move.

#include <cstddef>
#include <cstdint>

#include "core/clock.hpp"
#include "events/topology.hpp"
#include "fuzz/support/fuzz_input.hpp"
#include "fuzz/support/route_harness.hpp"
#include "monitor/dlq/dead_letter_manager.hpp"
#include "monitor/dlq/dlq_routes.hpp"
#include "monitor/fault_injector.hpp"
#include "transport/memory/in_memory_event_bus.hpp"

namespace shopflow::fuzz {
namespace {

struct DlqTarget {
  DlqTarget()
      : harness(MergeCollections({monitor::DeadLetterManager::Collections()})),
        bus(DefaultTopology(), SystemClock::Instance()),
        manager(harness.store(), bus, DefaultTopology(), SystemClock::Instance()),
        faults(SystemClock::Instance(), {"inventory", "notifications", "orders", "payments"}) {
    harness.Add(monitor::DlqRoutes(manager));
    harness.Add(faults.Routes());
  }

  RouteHarness harness;
  InMemoryEventBus bus;
  monitor::DeadLetterManager manager;
  monitor::FaultInjector faults;
};

}  // namespace
}  // namespace shopflow::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopflow::fuzz;
  static auto* target = new DlqTarget();
  static const std::vector<RouteHarness::Endpoint> endpoints = {
      {"POST", "/api/dlq/retry-all"},
      {"POST", "/api/dlq/01FUZZMESSAGE/retry"},
      {"PUT", "/api/faults/payments"},
      {"GET", "/api/dlq?", /*in_query=*/true}};
  target->harness.FuzzOne(endpoints, data, size);
  return 0;
}
