#include "core/thread_name.hpp"

#include <pthread.h>

#include <string>

namespace shopflow {

void SetThreadName(std::string_view name) {
  std::string shortened(name.substr(0, 15));  // the kernel's limit is 16 bytes with the NUL
  (void)pthread_setname_np(pthread_self(), shortened.c_str());
}

}  // namespace shopflow
