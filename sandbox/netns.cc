#include "sandbox/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

namespace judge {

Result<int> NetnsPool::Get(int slot, bool loopback) {
  std::lock_guard<std::mutex> lock(mu_);
  auto key = std::make_pair(slot, loopback);
  auto it = pool_.find(key);
  if (it != pool_.end()) return it->second.get();
  // A thread of its own unshares, so this thread's namespace never changes here.
  int fd = -1;
  Status st;
  std::thread maker([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      st = Status::Errno("unshare(CLONE_NEWNET)");
      return;
    }
    if (loopback) {
      UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      struct ifreq ifr;
      std::memset(&ifr, 0, sizeof ifr);
      std::memcpy(ifr.ifr_name, "lo", 3);
      if (!s || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) {
        st = Status::Errno("reading lo's flags");
        return;
      }
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
      if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) {
        st = Status::Errno("bringing lo up");
        return;
      }
    }
    fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0) st = Status::Errno("open /proc/thread-self/ns/net");
  });
  maker.join();
  if (!st.ok()) return st;
  pool_[key].reset(fd);
  return fd;
}

}  // namespace judge
