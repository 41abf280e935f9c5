// Network namespaces made ahead of the runs, one per slot and network mode, owned by
// the host's user namespace: a run joins its slot's instead of creating one (a new
// network namespace costs ~0.5 ms of clone and teardown, joining one ~0.02 ms).
//
// A slot runs one container at a time, and nothing of a run survives it (its processes,
// hence its sockets, die with it), so runs of one slot share nothing alive; runs of
// different slots never share a namespace. The program has no capability in these
// namespaces (their owner is the host's user namespace), so it cannot change them.
#pragma once

#include <map>
#include <mutex>
#include <utility>

#include "common/fd.h"
#include "common/status.h"

namespace judge {

class NetnsPool {
 public:
  // The namespace for `slot` (made on first use): no interface but a down lo, or with
  // `loopback` lo up.
  Result<int> Get(int slot, bool loopback);

 private:
  std::mutex mu_;
  std::map<std::pair<int, bool>, UniqueFd> pool_;
};

}  // namespace judge
