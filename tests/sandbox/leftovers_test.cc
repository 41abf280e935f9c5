// Runs after every privileged test (a CTest fixture cleanup): a judge runs thousands
// of containers a day, so nothing of them may stay on the host.
#include <dirent.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/file_util.h"

namespace {

void FindJudgeDirs(const std::string& dir, int depth, std::vector<std::string>* out) {
  if (depth == 0) return;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || e->d_type != DT_DIR) continue;
    std::string path = dir + "/" + name;
    if (name.find("judge") != std::string::npos) out->push_back(path);
    FindJudgeDirs(path, depth - 1, out);
  }
  ::closedir(d);
}

TEST(Leftovers, NoCgroups) {
  std::vector<std::string> found;
  FindJudgeDirs("/sys/fs/cgroup", 6, &found);
  EXPECT_TRUE(found.empty()) << "left behind: " << found.front();
}

TEST(Leftovers, NoMounts) {
  std::string line, bad;
  std::ifstream in("/proc/self/mountinfo");
  while (std::getline(in, line)) {
    if (line.find("judge") != std::string::npos || line.find(" - overlay ") != std::string::npos) {
      bad += line + "\n";
    }
  }
  EXPECT_EQ(bad, "");
}

TEST(Leftovers, NoProcesses) {
  std::string bad;
  DIR* d = ::opendir("/proc");
  ASSERT_NE(d, nullptr);
  while (struct dirent* e = ::readdir(d)) {
    if (std::atoi(e->d_name) <= 0) continue;
    std::string dir = std::string("/proc/") + e->d_name;
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) continue;
    auto comm = judge::ReadFile(dir + "/comm");
    std::string c = comm.ok() ? *comm : "";
    // Runs use host uids from 2000000000 up; the services are judge-*.
    if (st.st_uid >= 2000000000u || c.rfind("judge-", 0) == 0) {
      bad += dir + " " + c;
    }
  }
  ::closedir(d);
  EXPECT_EQ(bad, "");
}

TEST(Leftovers, NoTempDirs) {
  std::vector<std::string> found;
  DIR* d = ::opendir("/tmp");
  ASSERT_NE(d, nullptr);
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    // Test temp dirs, and the judging pipeline's and exec jobs' directories.
    if (name.rfind("judge-test-", 0) == 0 || name.rfind("judge-job-", 0) == 0 ||
        name.rfind("judge-exec-", 0) == 0) {
      found.push_back(name);
    }
  }
  ::closedir(d);
  EXPECT_TRUE(found.empty()) << "left behind: /tmp/" << found.front();
}

}  // namespace
