// judge-worker: judges the jobs a broker sends (docs/PROTOCOL.md). Parses the options
// and runs the service; everything else is in worker/service.cc.
#include <cstdio>
#include <string>
#include <vector>

#include "worker/service.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool help = false;
  auto options = judge::ParseWorkerOptions(args, &help);
  if (help) {
    std::fputs(judge::kWorkerUsage, stdout);
    return 0;
  }
  if (!options.ok()) {
    std::fprintf(stderr, "judge-worker: %s\n", options.status().ToString().c_str());
    return 2;
  }
  auto service = judge::WorkerService::Create(std::move(*options));
  if (!service.ok()) {
    std::fprintf(stderr, "judge-worker: %s\n", service.status().ToString().c_str());
    return 1;
  }
  judge::Status st = (*service)->Run();
  if (!st.ok()) {
    std::fprintf(stderr, "judge-worker: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
