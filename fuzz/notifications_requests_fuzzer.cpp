// Bodies of POST /api/notifications/{email,sms,push} as the route handler reads them
// (JsonObjectBody) and the pure request parsers of notification_requests.hpp validate them
// (email templates rendered with the client's data). First byte: '0' email, '1' sms, '2' push;
// the rest is the body. Nothing is sent: the parsers are where untrusted input ends.

#include <cstddef>
#include <cstdint>

#include "fuzz/support/fuzz_input.hpp"
#include "notifications/notification_requests.hpp"
#include "notifications/template_renderer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shopflow;
  using namespace shopflow::notifications;
  static const auto* renderer = new TemplateRenderer();
  const auto [choice, payload] = fuzz::Select(data, size, 3);

  ApiRequest request;
  request.method = "POST";
  request.headers = {{"content-type", "application/json"}};
  request.body = std::string(payload);
  auto body = JsonObjectBody(request);
  ApiResponse answer;
  if (!body) {
    answer = ErrorResponse(body.error());
  } else {
    auto draft = choice == 0   ? ParseEmailRequest(*body, *renderer)
                 : choice == 1 ? ParseSmsRequest(*body)
                               : ParsePushRequest(*body);
    answer = draft ? JsonResponse(201, draft->ToJson()) : ErrorResponse(draft.error());
  }
  fuzz::CheckAnswer(answer, payload);
  return 0;
}
