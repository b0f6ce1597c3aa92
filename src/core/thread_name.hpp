#pragma once

#include <string_view>

namespace shopflow {

/// Names the calling thread as `top`, `perf`, `gdb` and /proc/<pid>/task/*/comm show it, so an
/// operator can tell the store's writer from a queue's consumer. Linux keeps 15 bytes: longer
/// names are cut. Best effort: failures are ignored.
void SetThreadName(std::string_view name);

}  // namespace shopflow
