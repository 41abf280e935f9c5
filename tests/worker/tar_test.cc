// The tar reader and writer and the path checks of exec jobs (worker/tar.cc): what an
// archive may hold, and that nothing written below a directory leaves it.
#include "worker/tar.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "tests/sandbox/test_util.h"

namespace judge {
namespace {

using testing::TempDir;

// The archive with the first header's type changed (its checksum fixed).
std::string WithType(std::string tar, char type) {
  tar[156] = type;
  std::memset(&tar[148], ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(tar[i]);
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06o", sum);
  std::memcpy(&tar[148], buf, 7);
  return tar;
}

std::string OneFile(const std::string& name) {
  TarWriter w;
  w.AddFile(name, "data", 0644);
  return w.Finish();
}

Status ParseError(const std::string& tar) {
  auto r = ParseTar(tar, TarLimits());
  return r.ok() ? Status::Ok() : r.status();
}

TEST(BoxPath, AcceptsRelativePathsInside) {
  EXPECT_TRUE(CheckBoxPath("a.c", "file").ok());
  EXPECT_TRUE(CheckBoxPath("src/lib/a.c", "file").ok());
  EXPECT_TRUE(CheckBoxPath("..a/b..", "file").ok());
}

TEST(BoxPath, RefusesEscapesAndOddNames) {
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a/", ".",
                          "..", "a\nb"}) {
    Status st = CheckBoxPath(bad, "file");
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.message().rfind("file", 0), 0u) << st.message();
  }
  EXPECT_FALSE(CheckBoxPath(std::string(300, 'a'), "file").ok());
}

TEST(Tar, RoundTripsFilesDirsAndLinks) {
  TarWriter w;
  w.AddDir("src", 0755);
  w.AddFile("src/a.c", "int main(){}", 0644);
  w.AddFile("run.sh", "#!/bin/sh\n", 0755);
  w.AddSymlink("link", "src/a.c");
  const std::string long_name = std::string(150, 'd') + "/" + std::string(120, 'f');
  w.AddFile(long_name, "long", 0600);
  auto entries = ParseTar(w.Finish(), TarLimits());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 5u);
  EXPECT_EQ((*entries)[0].kind, TarEntry::kDir);
  EXPECT_EQ((*entries)[1].name, "src/a.c");
  EXPECT_EQ((*entries)[1].data, "int main(){}");
  EXPECT_EQ((*entries)[2].mode, 0755u);
  EXPECT_EQ((*entries)[3].kind, TarEntry::kSymlink);
  EXPECT_EQ((*entries)[3].link, "src/a.c");
  EXPECT_EQ((*entries)[4].name, long_name);  // through a pax header
  EXPECT_EQ((*entries)[4].data, "long");
}

TEST(Tar, StripsDotSlashAndSkipsTheRoot) {
  TarWriter w;
  w.AddDir(".", 0755);
  w.AddFile("./a/b.txt", "x", 0644);
  auto entries = ParseTar(w.Finish(), TarLimits());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].name, "a/b.txt");
}

TEST(Tar, RefusesDotDotAndAbsoluteNames) {
  Status st = ParseError(OneFile("../evil"));
  EXPECT_FALSE(st.ok());
  EXPECT_HAS(st.message(), "'../evil'");
  EXPECT_HAS(st.message(), "inside /box");
  st = ParseError(OneFile("a/../../evil"));
  EXPECT_FALSE(st.ok());
  st = ParseError(OneFile("/etc/cron.d/x"));
  EXPECT_HAS(st.message(), "absolute path");
}

TEST(Tar, RefusesLinksOutOfTheBox) {
  for (const char* target : {"/etc", "/etc/passwd", "../../x", "a/../../../x", "/box/../etc"}) {
    TarWriter w;
    w.AddSymlink("d/l", target);
    Status st = ParseError(w.Finish());
    EXPECT_FALSE(st.ok()) << target;
    EXPECT_HAS(st.message(), "outside /box");
  }
  for (const char* target : {"../x", "/box/x", "./y", "e/../f"}) {
    TarWriter w;
    w.AddSymlink("d/l", target);
    EXPECT_TRUE(ParseError(w.Finish()).ok()) << target;
  }
}

// Links through links: each passes ParseTar's textual check, yet resolved on disk they
// lead out of the box.
TEST(Tar, LinksThatLeaveTheBoxThroughOtherLinksAreRefusedOnceUnpacked) {
  TarWriter w;
  w.AddDir("d", 0755);
  for (auto [name, target] : {std::pair{"d/up", ".."}, {"d/x", "up/../.."}, {"esc", "d/x/etc"},
                              {"fine", "d/up/d"}, {"dangling", "d/nothing"}, {"abs", "/box/d"}}) {
    w.AddSymlink(name, target);
  }
  auto entries = ParseTar(w.Finish(), TarLimits());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  TempDir dir;
  UniqueFd box(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  TreeWriter tree(box.get(), static_cast<uid_t>(-1), static_cast<gid_t>(-1));
  for (const TarEntry& e : *entries) ASSERT_TRUE(tree.Write(e).ok()) << e.name;
  Status st = CheckUnpackedLinks(box.get(), *entries);
  EXPECT_FALSE(st.ok());
  EXPECT_HAS(st.message(), "archive entry 'd/x'");
  EXPECT_HAS(st.message(), "leads out of /box");
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
  // Without d/x, esc dangles (fine) and the rest stays inside.
  std::vector<TarEntry> inside;
  for (const TarEntry& e : *entries) {
    if (e.name != "d/x") inside.push_back(e);
  }
  ASSERT_EQ(::unlink((dir.path() + "/d/x").c_str()), 0);
  EXPECT_TRUE(CheckUnpackedLinks(box.get(), inside).ok());
  // esc through a link straight out.
  ASSERT_EQ(::symlink("../..", (dir.path() + "/d/x").c_str()), 0);
  std::vector<TarEntry> esc;
  for (const TarEntry& e : *entries) {
    if (e.name == "esc") esc.push_back(e);
  }
  EXPECT_HAS(CheckUnpackedLinks(box.get(), esc).message(), "archive entry 'esc'");
}

TEST(Tar, HardLinksOnlyToEarlierFiles) {
  TarWriter w;
  w.AddFile("a", "x", 0644);
  std::string tar = w.Finish();
  tar.resize(tar.size() - 1024);  // drop the end blocks, append a hard link entry
  TarWriter link;
  link.AddSymlink("b", "a");
  std::string hard = WithType(link.Finish(), '1');
  auto ok = ParseTar(tar + hard, TarLimits());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)[1].kind, TarEntry::kHardlink);
  TarWriter out;
  out.AddSymlink("b", "/etc/shadow");
  Status st = ParseError(WithType(out.Finish(), '1'));
  EXPECT_HAS(st.message(), "hard link");
}

TEST(Tar, RefusesDevicesFifosAndUnknownTypes) {
  EXPECT_HAS(ParseError(WithType(OneFile("dev"), '3')).message(), "device");
  EXPECT_HAS(ParseError(WithType(OneFile("dev"), '4')).message(), "device");
  EXPECT_HAS(ParseError(WithType(OneFile("fifo"), '6')).message(), "FIFO");
  EXPECT_HAS(ParseError(WithType(OneFile("s"), 'S')).message(), "unsupported type");
}

TEST(Tar, RefusesDamagedCompressedAndOversizeArchives) {
  std::string tar = OneFile("a");
  tar[0] = 'b';  // checksum no longer matches
  EXPECT_HAS(ParseError(tar).message(), "checksum");
  EXPECT_HAS(ParseError(OneFile("a").substr(0, 600)).message(), "truncated");
  EXPECT_HAS(ParseError(std::string("\x1f\x8b\x08\x00", 4) + std::string(600, '\0')).message(),
             "compressed");
  TarWriter many;
  for (int i = 0; i < 5; ++i) many.AddFile("f" + std::to_string(i), "12345", 0644);
  const std::string archive = many.Finish();
  TarLimits limits;
  limits.max_entries = 4;
  auto r = ParseTar(archive, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_HAS(r.status().message(), "more than 4 entries");
  limits = TarLimits();
  limits.max_bytes = 20;
  r = ParseTar(archive, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_HAS(r.status().message(), "more than 20 bytes");
}

TEST(TreeWriter, NeverWritesThroughALink) {
  TempDir dir, outside;
  ASSERT_EQ(::mkdir((dir.path() + "/box").c_str(), 0755), 0);
  ASSERT_EQ(::symlink(outside.path().c_str(), (dir.path() + "/box/sub").c_str()), 0);
  ASSERT_EQ(::symlink((outside.path() + "/f").c_str(), (dir.path() + "/box/f").c_str()), 0);
  UniqueFd box(::open((dir.path() + "/box").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(box);
  TreeWriter w(box.get(), static_cast<uid_t>(-1), static_cast<gid_t>(-1));
  EXPECT_FALSE(w.File("sub/x", "data", 0644).ok());
  EXPECT_FALSE(w.File("f", "data", 0644, /*replace=*/true).ok());
  EXPECT_FALSE(w.Dir("sub", 0755).ok());
  struct stat st;
  EXPECT_NE(::stat((outside.path() + "/x").c_str(), &st), 0);
  EXPECT_NE(::stat((outside.path() + "/f").c_str(), &st), 0);
  ASSERT_TRUE(w.File("a/b/c.txt", "data", 0640).ok());
  EXPECT_EQ(testing::ReadFileOrDie(dir.path() + "/box/a/b/c.txt"), "data");
  ASSERT_EQ(::stat((dir.path() + "/box/a/b/c.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_TRUE(w.File("a/b/c.txt", "new", 0644, /*replace=*/true).ok());
  EXPECT_EQ(testing::ReadFileOrDie(dir.path() + "/box/a/b/c.txt"), "new");
}

TEST(TarDirectory, ArchivesATreeThatParsesBack) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() + "/src").c_str(), 0755), 0);
  dir.Write("src/a.c", "int x;");
  dir.Write("run.sh", "#!/bin/sh\n", 0755);
  ASSERT_EQ(::symlink("src/a.c", (dir.path() + "/link").c_str()), 0);
  auto tar = TarDirectory(dir.path(), 1 << 20);
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  auto entries = ParseTar(*tar, TarLimits());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  std::vector<std::string> names;
  for (const TarEntry& e : *entries) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"link", "run.sh", "src", "src/a.c"}));
  EXPECT_FALSE(TarDirectory(dir.path(), 3).ok());
}

}  // namespace
}  // namespace judge
