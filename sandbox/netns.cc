#include "sandbox/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace judge {
namespace {

// Moves the calling thread into a new network namespace and returns an fd of it. Only
// ever called on a thread of its own (the filler, or a short-lived one).
Result<UniqueFd> MakeNetns(bool loopback) {
  if (::unshare(CLONE_NEWNET) != 0) return Status::Errno("unshare(CLONE_NEWNET)");
  if (loopback) {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof ifr);
    std::memcpy(ifr.ifr_name, "lo", 3);
    if (!s || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return Status::Errno("reading lo's flags");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return Status::Errno("bringing lo up");
  }
  UniqueFd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::Errno("open /proc/thread-self/ns/net");
  return fd;
}

}  // namespace

void BackgroundScheduling() {
  struct sched_param none {};
  (void)::sched_setscheduler(0, SCHED_BATCH, &none);
}

NetnsPool::~NetnsPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (filler_.joinable()) filler_.join();
  if (ahead_.joinable()) ahead_.join();
}

void NetnsPool::Expect(bool loopback) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!ready_[loopback].empty() || filler_.joinable() || ahead_busy_[0] || ahead_busy_[1]) return;
  // A finished one: it cleared its flag under mu_ and needs nothing more.
  if (ahead_.joinable()) ahead_.join();
  ahead_busy_[loopback] = true;
  ahead_ = std::thread([this, loopback] {
    Result<UniqueFd> fd = MakeNetns(loopback);
    std::lock_guard<std::mutex> lock(mu_);
    if (fd.ok()) ready_[loopback].push_back(std::move(fd).value());
    ahead_busy_[loopback] = false;
    cv_.notify_all();
  });
}

Result<UniqueFd> NetnsPool::Take(bool loopback) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    std::deque<UniqueFd>& ready = ready_[loopback];
    // One Expect is making: it is nearer done than a new one would be.
    cv_.wait(lock, [&] { return !ready.empty() || !ahead_busy_[loopback]; });
    const bool seen = used_[loopback];
    used_[loopback] = true;
    if (seen && !filler_.joinable()) filler_ = std::thread([this] { Fill(); });
    if (!ready.empty()) {
      UniqueFd fd = std::move(ready.front());
      ready.pop_front();
      cv_.notify_all();
      return fd;
    }
    cv_.notify_all();
  }
  // None ready: make one now, on a thread of its own so that this thread's namespace
  // does not change.
  Result<UniqueFd> made = Status::Error("not made");
  std::thread maker([&] { made = MakeNetns(loopback); });
  maker.join();
  return made;
}

void NetnsPool::Fill() {
  BackgroundScheduling();
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] {
      return stop_ || (used_[0] && ready_[0].size() < kReady) ||
             (used_[1] && ready_[1].size() < kReady);
    });
    if (stop_) return;
    const bool loopback = !(used_[0] && ready_[0].size() < kReady);
    lock.unlock();
    Result<UniqueFd> fd = MakeNetns(loopback);
    lock.lock();
    if (!fd.ok()) return;  // runs make their own from now on
    ready_[loopback].push_back(std::move(fd).value());
  }
}

}  // namespace judge
