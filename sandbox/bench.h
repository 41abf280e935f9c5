// `judge-sandbox bench`: container start-up latency of this engine (in-process, as the
// worker runs it, and as the `judge-sandbox run` command) next to other runtimes that
// are installed (bwrap, crun, runc) and the floor, a plain fork + exec + wait of the
// same command from the same process. Sequential and parallel streams; a table, JSON
// and a PNG of the latency distributions (gnuplot).
#pragma once

#include <string>
#include <vector>

namespace judge {

extern const char kBenchUsage[];

// The arguments after "bench"; returns the process exit status.
int RunBench(const std::vector<std::string>& args);

// The q-quantile (0..1) of sorted values, by the nearest-rank method.
double Quantile(const std::vector<double>& sorted, double q);

}  // namespace judge
