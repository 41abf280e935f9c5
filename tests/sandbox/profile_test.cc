// Profiles without the kernel: the text-format reader, the sandbox profile and seccomp
// policy loaders (built-in and from files, and their errors with file:line), the
// seccomp compiler (its BPF run through a small interpreter), and syscall names.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sandbox/profile.h"
#include "sandbox/seccomp.h"
#include "sandbox/textproto.h"
#include "tests/sandbox/test_util.h"

namespace judge::testing {
namespace {

// The error message of a failed Result, or a marker when it did not fail.
template <typename T>
std::string ErrorOf(const Result<T>& r) {
  return r.ok() ? std::string("<no error>") : r.status().message();
}

// ---------------------------------------------------------------- textproto

TEST(TextProto, ScalarsStringsAndEscapes) {
  auto r = ParseTextProto(
      "name: \"a\\\"b\\\\c\\n\\t'\"\n"
      "single: 'it\\'s'\n"
      "other: 'say \"hi\"'\n"
      "n: 12\n"
      "hex: 0x10\n"
      "neg: -5\n"
      "f: 1.5\n"
      "flag: true\n"
      "e: LOOPBACK\n",
      "t.textproto");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& c = r->children;
  ASSERT_EQ(c.size(), 9u);
  EXPECT_EQ(c[0].name, "name");
  EXPECT_EQ(c[0].value, "a\"b\\c\n\t'");
  EXPECT_TRUE(c[0].quoted);
  EXPECT_EQ(c[0].line, 1);
  EXPECT_EQ(c[1].value, "it's");
  EXPECT_EQ(c[2].value, "say \"hi\"");
  EXPECT_EQ(c[3].value, "12");
  EXPECT_FALSE(c[3].quoted);
  EXPECT_EQ(c[3].line, 4);
  EXPECT_EQ(*TextInt("t", c[3]), 12);
  EXPECT_EQ(*TextInt("t", c[4]), 16);
  EXPECT_EQ(*TextInt("t", c[5]), -5);
  EXPECT_DOUBLE_EQ(*TextDouble("t", c[6]), 1.5);
  EXPECT_DOUBLE_EQ(*TextDouble("t", c[3]), 12.0);
  EXPECT_TRUE(*TextBool("t", c[7]));
  EXPECT_EQ(*TextEnum("t", c[8], {"NONE", "LOOPBACK"}), "LOOPBACK");
  EXPECT_EQ(*TextString("t", c[0]), "a\"b\\c\n\t'");
  // Two literals in a row are not one value.
  EXPECT_FALSE(ParseTextProto("s: 'a''b'", "t").ok());
}

TEST(TextProto, ListsNestedMessagesCommentsSeparators) {
  auto r = ParseTextProto(
      "# a comment line\n"
      "list: [\"a\", 'b',\n"
      "       \"c # not a comment\"]  # trailing comment\n"
      "empty: []\n"
      "msg {\n"
      "  x: 1; y: 2,\n"
      "  inner: { z: \"deep\" }\n"
      "}\n"
      "after: 3\n",
      "t.textproto");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& c = r->children;
  ASSERT_EQ(c.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c[i].name, "list");
  EXPECT_EQ(c[0].value, "a");
  EXPECT_EQ(c[1].value, "b");
  EXPECT_EQ(c[2].value, "c # not a comment");
  EXPECT_EQ(c[2].line, 3);
  const TextNode& msg = c[3];
  EXPECT_EQ(msg.name, "msg");
  EXPECT_TRUE(msg.is_message);
  EXPECT_EQ(msg.line, 5);
  ASSERT_EQ(msg.children.size(), 3u);
  EXPECT_EQ(msg.children[0].name, "x");
  EXPECT_EQ(msg.children[1].value, "2");
  EXPECT_EQ(msg.children[1].line, 6);
  const TextNode& inner = msg.children[2];
  EXPECT_TRUE(inner.is_message);
  ASSERT_EQ(inner.children.size(), 1u);
  EXPECT_EQ(inner.children[0].value, "deep");
  EXPECT_EQ(inner.children[0].line, 7);
  EXPECT_EQ(c[4].name, "after");
  EXPECT_EQ(c[4].line, 9);
}

TEST(TextProto, EmptyAndCommentOnly) {
  auto r = ParseTextProto("", "t");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->children.empty());
  r = ParseTextProto("# nothing\n\n   \n", "t");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->children.empty());
}

TEST(TextProto, ErrorsCiteFileAndLine) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"a: 1\nb: \"abc", "f.tp:2: unterminated string"},
      {"a: 1\n\nb: \"abc\nc: 2\"", "f.tp:3: newline inside a string"},
      {"a: \"\\q\"", "f.tp:1: unknown escape \\q"},
      {"m {\n  a: 1\n", "f.tp:3: missing '}' at end of file"},
      {"m { inner { a: 1 }\n", "missing '}'"},
      {"a: 1\n}\n", "f.tp:2: unexpected '}'"},
      {"a 1", "f.tp:1: expected ':' or '{' after 'a'"},
      {"a: 1\n\n: 2", "f.tp:3: expected a field name, found ':'"},
      {"a: @", "f.tp:1: unexpected '@' in value of 'a'"},
      {"a:", "f.tp:1: expected a value for 'a'"},
      {"l: [1, 2", "f.tp:1: expected a value for 'l'"},
  };
  for (const auto& c : cases) {
    auto r = ParseTextProto(c.text, "f.tp");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_HAS(r.status().message(), c.error);
  }
}

TEST(TextProto, TypeHelpersRejectWrongTypes) {
  auto r = ParseTextProto("s: \"12\"\nn: 12\nm { }\nw: yes\nbad: 12abc\n", "f.tp");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& c = r->children;
  EXPECT_EQ(ErrorOf(TextInt("f.tp", c[0])), "f.tp:1: 's' takes an integer");
  EXPECT_EQ(ErrorOf(TextString("f.tp", c[1])), "f.tp:2: 'n' takes a quoted string");
  EXPECT_EQ(ErrorOf(TextString("f.tp", c[2])), "f.tp:3: 'm' takes a quoted string");
  EXPECT_EQ(ErrorOf(TextBool("f.tp", c[3])), "f.tp:4: 'w' takes true or false");
  EXPECT_EQ(ErrorOf(TextEnum("f.tp", c[3], {"A", "B"})), "f.tp:4: 'w' takes one of A, B");
  EXPECT_EQ(ErrorOf(TextEnum("f.tp", c[0], {"12"})), "f.tp:1: 's' takes one of 12")
      << "a quoted string is not an enum";
  EXPECT_EQ(ErrorOf(TextInt("f.tp", c[4])), "f.tp:5: 'bad' takes an integer, not '12abc'");
  EXPECT_EQ(ErrorOf(TextDouble("f.tp", c[4])), "f.tp:5: 'bad' takes a number, not '12abc'");
  EXPECT_FALSE(TextDouble("f.tp", c[0]).ok());
}

// Found by fuzz/profile_fuzz.cc (fuzz/corpus/profile/regress-deep-nesting): each level
// was a frame of the parser's recursion, so a 100 KB file of "a{" overflowed the stack.
TEST(TextProto, DeepNestingIsAnErrorNotAStackOverflow) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "a{";
  auto r = ParseTextProto(text, "f.tp");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "f.tp:1: messages nested deeper than 32");
  std::string ok;
  for (int i = 0; i < 32; ++i) ok += "a{";
  EXPECT_TRUE(ParseTextProto(ok + std::string(32, '}'), "f.tp").ok());
}

// ---------------------------------------------------------------- sandbox profiles

TEST(SandboxProfile, BuiltinDefault) {
  auto p = LoadSandboxProfile("default");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "default");
  EXPECT_EQ(p->seccomp, "default");
  EXPECT_EQ(p->network, "none");
  EXPECT_EQ(p->hostname, "judge");
  EXPECT_DOUBLE_EQ(p->limits.cpu_time_s, 2);
  EXPECT_EQ(p->limits.memory_bytes, 256ll << 20);
  EXPECT_EQ(p->limits.pids, 64);
  EXPECT_EQ(p->limits.output_bytes, 64ll << 20);
  EXPECT_EQ(p->limits.tmpfs_bytes, 64ll << 20);
  EXPECT_EQ(p->env, std::vector<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin"});
  EXPECT_NE(std::find(p->host_dirs.begin(), p->host_dirs.end(), "/usr"), p->host_dirs.end());
  EXPECT_NE(std::find(p->etc.begin(), p->etc.end(), "ld.so.cache"), p->etc.end());
  for (const auto& d : p->host_dirs) EXPECT_EQ(d[0], '/') << d;
}

TEST(SandboxProfile, BuiltinsMatchTheFilesInProfiles) {
  // The embedded copy is the file in profiles/ (rebuilt when it changes).
  auto text = FindProfileText("sandbox", "default");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->file, "profiles/sandbox/default.textproto");
  EXPECT_EQ(text->text, ReadFileOrDie(std::string(JUDGE_SOURCE_DIR) + "/profiles/sandbox/default.textproto"));
  auto names = BuiltinProfileNames("sandbox");
  EXPECT_NE(std::find(names.begin(), names.end(), "default"), names.end());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  names = BuiltinProfileNames("seccomp");
  EXPECT_NE(std::find(names.begin(), names.end(), "default"), names.end());
}

TEST(SandboxProfile, UnknownBuiltinListsTheKnownOnes) {
  auto p = LoadSandboxProfile("no-such-profile");
  ASSERT_FALSE(p.ok());
  EXPECT_HAS(p.status().message(), "unknown sandbox profile 'no-such-profile'");
  EXPECT_HAS(p.status().message(), "default");
}

TEST(SandboxProfile, LoadsAFile) {
  TempDir dir;
  std::string path = dir.Write("mine.textproto",
                               "name: \"mine\"\n"
                               "network: LOOPBACK\n"
                               "limits { cpu_time_s: 0.5 wall_time_s: 3 memory_bytes: 1048576 "
                               "pids: 3 output_bytes: 10 tmpfs_bytes: 4096 tmpfs_inodes: 7 }\n"
                               "host_dir: \"/usr\"\n"
                               "etc: [\"passwd\", \"ld.so.conf.d\"]\n"
                               "env: \"A=1\" env: \"B=\"\n");
  auto p = LoadSandboxProfile(path);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "mine");
  EXPECT_EQ(p->network, "loopback");
  EXPECT_DOUBLE_EQ(p->limits.cpu_time_s, 0.5);
  EXPECT_DOUBLE_EQ(p->limits.wall_time_s, 3);
  EXPECT_EQ(p->limits.memory_bytes, 1048576);
  EXPECT_EQ(p->limits.pids, 3);
  EXPECT_EQ(p->limits.output_bytes, 10);
  EXPECT_EQ(p->limits.tmpfs_bytes, 4096);
  EXPECT_EQ(p->limits.tmpfs_inodes, 7);
  EXPECT_EQ(p->host_dirs, std::vector<std::string>{"/usr"});
  EXPECT_EQ(p->etc, (std::vector<std::string>{"passwd", "ld.so.conf.d"}));
  EXPECT_EQ(p->env, (std::vector<std::string>{"A=1", "B="}));
  EXPECT_EQ(p->seccomp, "default") << "unset fields keep their defaults";
}

TEST(SandboxProfile, MissingFile) {
  auto p = LoadSandboxProfile("/nonexistent/dir/p.textproto");
  ASSERT_FALSE(p.ok());
  EXPECT_HAS(p.status().message(), "cannot read sandbox profile /nonexistent/dir/p.textproto");
  EXPECT_EQ(p.status().err(), ENOENT);
}

TEST(SandboxProfile, ErrorsCiteFileAndLine) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"name: \"x\"\nbogus: 1\n", "p.tp:2: unknown field 'bogus' in sandbox profile"},
      {"name: \"x\"\nlimits {\n  cpu_time_s: 1\n  nope: 2\n}\n", "p.tp:4: unknown field 'nope' in limits"},
      {"name: 12\n", "p.tp:1: 'name' takes a quoted string"},
      {"name: \"x\"\nlimits { pids: \"64\" }\n", "p.tp:2: 'pids' takes an integer"},
      {"name: \"x\"\nlimits { memory_bytes: 256M }\n", "p.tp:2: 'memory_bytes' takes an integer, not '256M'"},
      {"name: \"x\"\nnetwork: \"NONE\"\n", "p.tp:2: 'network' takes one of NONE, LOOPBACK"},
      {"name: \"x\"\nnetwork: HOST\n", "p.tp:2: 'network' takes one of NONE, LOOPBACK"},
      {"name: \"x\"\nhost_dir: \"usr\"\n", "p.tp:2: host_dir must be an absolute path"},
      {"name: \"x\"\n\nhost_dir: \"/\"\n", "p.tp:3: host_dir must be an absolute path"},
      {"name: \"x\"\nhost_dir: \"/usr/../etc\"\n", "p.tp:2: host_dir must be an absolute path"},
      {"name: \"x\"\nhost_dir: \"\"\n", "p.tp:2: host_dir must be an absolute path"},
      {"name: \"x\"\netc: \"ssl/certs\"\n", "p.tp:2: etc names an entry of /etc"},
      {"name: \"x\"\netc: [\"ok\", \"..\"]\n", "p.tp:2: etc names an entry of /etc"},
      {"name: \"x\"\netc: \"\"\n", "p.tp:2: etc names an entry of /etc"},
      {"name: \"x\"\nenv: \"NOVALUE\"\n", "p.tp:2: env takes NAME=VALUE"},
      {"limits { pids: 3 }\n", "p.tp: sandbox profile has no name"},
      {"name: \"x\"\nlimits {\n", "p.tp:3: missing '}'"},
      {"name: \"x\n", "p.tp:1: newline inside a string"},
  };
  for (const auto& c : cases) {
    auto p = ParseSandboxProfile(c.text, "p.tp");
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_HAS(p.status().message(), c.error);
  }
}

TEST(SandboxProfile, LimitsMustBePositive) {
  for (const char* limit : {"cpu_time_s: 0", "cpu_time_s: -1", "memory_bytes: 0",
                            "memory_bytes: -1", "pids: 0", "output_bytes: 0", "tmpfs_bytes: -5"}) {
    auto p = ParseSandboxProfile(std::string("name: \"x\"\nlimits { ") + limit + " }\n", "p.tp");
    ASSERT_FALSE(p.ok()) << limit;
    EXPECT_EQ(p.status().message(), "p.tp: limits must be positive") << limit;
  }
  EXPECT_TRUE(ParseSandboxProfile("name: \"x\"\nlimits { pids: 1 cpu_time_s: 0.1 }\n", "p.tp").ok());
}

// Found by fuzz/profile_fuzz.cc (fuzz/corpus/profile/regress-limits-*): NaN passed the
// "<= 0" checks, and neither NaN nor infinity survives the run's conversion to ns.
TEST(SandboxProfile, TimeLimitsMustBeFinite) {
  for (const char* limit : {"cpu_time_s: nan", "cpu_time_s: inf", "wall_time_s: nan",
                            "wall_time_s: inf", "wall_time_s: -nan"}) {
    auto p = ParseSandboxProfile(std::string("name: \"x\"\nlimits { ") + limit + " }\n", "p.tp");
    ASSERT_FALSE(p.ok()) << limit;
    EXPECT_EQ(p.status().message(), "p.tp: limits must be positive") << limit;
  }
}

// ---------------------------------------------------------------- seccomp policies

TEST(SeccompPolicy, BuiltinDefault) {
  auto p = LoadSeccompPolicy("default");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "default");
  EXPECT_EQ(p->default_action, SeccompAction::kAllow);
  ASSERT_FALSE(p->rules.empty());
  bool ptrace_killed = false, clone3_enosys = false, clone_args = false;
  for (const SeccompRule& r : p->rules) {
    for (const std::string& s : r.syscalls) {
      if (s == "ptrace" && r.action == SeccompAction::kKill) ptrace_killed = true;
      if (s == "clone3" && r.action == SeccompAction::kErrno && r.errno_value == ENOSYS) clone3_enosys = true;
      if (s == "clone" && r.args.size() == 1 && r.args[0].op == SeccompArg::kMaskedEq &&
          r.args[0].mask == 0x10000000 && r.args[0].value == 0x10000000) {
        clone_args = true;  // CLONE_NEWUSER
      }
    }
  }
  EXPECT_TRUE(ptrace_killed);
  EXPECT_TRUE(clone3_enosys);
  EXPECT_TRUE(clone_args);
}

TEST(SeccompPolicy, ParsesEveryField) {
  auto p = ParseSeccompPolicy(
      "name: \"p\"\n"
      "default_action: ERRNO\n"
      "default_errno: 13\n"
      "rule { action: ALLOW syscall: [\"read\", \"write\"] }\n"
      "rule { action: KILL syscall: \"kill\"\n"
      "       arg { index: 1 op: GE value: 9 }\n"
      "       arg { index: 0 op: MASKED_EQ mask: 0xff value: 0x12 } }\n"
      "rule { action: ERRNO errno: 1 syscall: \"mkdir\" }\n",
      "s.tp");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->default_action, SeccompAction::kErrno);
  EXPECT_EQ(p->default_errno, 13);
  ASSERT_EQ(p->rules.size(), 3u);
  EXPECT_EQ(p->rules[0].syscalls, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(p->rules[0].action, SeccompAction::kAllow);
  ASSERT_EQ(p->rules[1].args.size(), 2u);
  EXPECT_EQ(p->rules[1].args[0].index, 1u);
  EXPECT_EQ(p->rules[1].args[0].op, SeccompArg::kGe);
  EXPECT_EQ(p->rules[1].args[0].value, 9u);
  EXPECT_EQ(p->rules[1].args[1].op, SeccompArg::kMaskedEq);
  EXPECT_EQ(p->rules[1].args[1].mask, 0xffu);
  EXPECT_EQ(p->rules[1].args[1].value, 0x12u);
  EXPECT_EQ(p->rules[2].errno_value, 1);
}

TEST(SeccompPolicy, ErrorsCiteFileAndLine) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {"name: \"p\"\nrule { action: KILL syscall: \"not_a_syscall\" }\n",
       "s.tp:2: unknown system call 'not_a_syscall'"},
      {"name: \"p\"\nrule { action: KILL\n syscall: [\"read\", \"frobnicate\"] }\n",
       "s.tp:3: unknown system call 'frobnicate'"},
      {"name: \"p\"\nrule { action: DENY syscall: \"read\" }\n",
       "s.tp:2: 'action' takes one of ALLOW, KILL, ERRNO"},
      {"name: \"p\"\nrule { action: \"KILL\" syscall: \"read\" }\n",
       "s.tp:2: 'action' takes one of ALLOW, KILL, ERRNO"},
      {"name: \"p\"\ndefault_action: SOMETIMES\n", "s.tp:2: 'default_action' takes one of"},
      {"name: \"p\"\nrule { action: ERRNO errno: 0 syscall: \"read\" }\n", "s.tp:2: errno must be 1..4095"},
      {"name: \"p\"\nrule { action: ERRNO errno: 4096 syscall: \"read\" }\n", "s.tp:2: errno must be 1..4095"},
      // Found by fuzz/profile_fuzz.cc (fuzz/corpus/profile/regress-default-errno-0): the
      // default's errno went unchecked, and 0 makes a denied call return 0 unrun.
      {"name: \"p\"\ndefault_action: ERRNO\ndefault_errno: 0\n", "s.tp:3: default_errno must be 1..4095"},
      {"name: \"p\"\ndefault_errno: 70000\n", "s.tp:2: default_errno must be 1..4095"},
      {"name: \"p\"\nrule { action: KILL }\n", "s.tp:2: rule names no syscall"},
      {"name: \"p\"\nrule { action: KILL syscall: \"read\" color: RED }\n", "s.tp:2: unknown field 'color' in rule"},
      {"name: \"p\"\nrule { syscall: \"read\" arg { index: 6 value: 1 } }\n", "s.tp:2: argument index must be 0..5"},
      {"name: \"p\"\nrule { syscall: \"read\"\n  arg { index: 0 }\n}\n", "s.tp:3: arg needs a value"},
      {"name: \"p\"\nrule { syscall: \"read\" arg { index: 0 op: LIKE value: 1 } }\n", "s.tp:2: 'op' takes one of"},
      {"name: \"p\"\nbogus: 1\n", "s.tp:2: unknown field 'bogus' in seccomp policy"},
      {"rule { syscall: \"read\" }\n", "s.tp: seccomp policy has no name"},
  };
  for (const auto& c : cases) {
    auto p = ParseSeccompPolicy(c.text, "s.tp");
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_HAS(p.status().message(), c.error);
  }
  auto missing = LoadSeccompPolicy("no-such-policy");
  ASSERT_FALSE(missing.ok());
  EXPECT_HAS(missing.status().message(), "unknown seccomp profile 'no-such-policy'");
}

// ---------------------------------------------------------------- compiled filters

// A classic-BPF interpreter, enough for seccomp filters.
constexpr uint32_t kBadFilter = 0xdeadbeef;
uint32_t RunFilter(const std::vector<sock_filter>& f, const seccomp_data& d) {
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {};
  const auto* data = reinterpret_cast<const unsigned char*>(&d);
  for (size_t pc = 0; pc < f.size(); ++pc) {
    const sock_filter& in = f[pc];
    const uint32_t src = BPF_SRC(in.code) == BPF_X ? x : in.k;
    switch (BPF_CLASS(in.code)) {
      case BPF_LD:
      case BPF_LDX: {
        uint32_t v;
        switch (BPF_MODE(in.code)) {
          case BPF_ABS:
            if (BPF_SIZE(in.code) != BPF_W || in.k % 4 != 0 || in.k + 4 > sizeof d) return kBadFilter;
            std::memcpy(&v, data + in.k, 4);
            break;
          case BPF_IMM: v = in.k; break;
          case BPF_MEM:
            if (in.k >= BPF_MEMWORDS) return kBadFilter;
            v = mem[in.k];
            break;
          case BPF_LEN: v = sizeof d; break;
          default: return kBadFilter;
        }
        (BPF_CLASS(in.code) == BPF_LD ? a : x) = v;
        break;
      }
      case BPF_ST:
      case BPF_STX:
        if (in.k >= BPF_MEMWORDS) return kBadFilter;
        mem[in.k] = BPF_CLASS(in.code) == BPF_ST ? a : x;
        break;
      case BPF_ALU:
        switch (BPF_OP(in.code)) {
          case BPF_ADD: a += src; break;
          case BPF_SUB: a -= src; break;
          case BPF_MUL: a *= src; break;
          case BPF_DIV: if (src == 0) return kBadFilter; a /= src; break;
          case BPF_MOD: if (src == 0) return kBadFilter; a %= src; break;
          case BPF_OR: a |= src; break;
          case BPF_AND: a &= src; break;
          case BPF_XOR: a ^= src; break;
          case BPF_LSH: a <<= src; break;
          case BPF_RSH: a >>= src; break;
          case BPF_NEG: a = -a; break;
          default: return kBadFilter;
        }
        break;
      case BPF_JMP: {
        if (BPF_OP(in.code) == BPF_JA) {
          pc += in.k;
          break;
        }
        bool taken;
        switch (BPF_OP(in.code)) {
          case BPF_JEQ: taken = a == src; break;
          case BPF_JGT: taken = a > src; break;
          case BPF_JGE: taken = a >= src; break;
          case BPF_JSET: taken = (a & src) != 0; break;
          default: return kBadFilter;
        }
        pc += taken ? in.jt : in.jf;
        break;
      }
      case BPF_RET:
        return BPF_RVAL(in.code) == BPF_A ? a : in.k;
      case BPF_MISC:
        if (BPF_MISCOP(in.code) == BPF_TAX) x = a;
        else a = x;
        break;
      default:
        return kBadFilter;
    }
  }
  return kBadFilter;  // fell off the end
}

seccomp_data Call(uint32_t arch, int nr, uint64_t arg0 = 0, uint64_t arg1 = 0) {
  seccomp_data d{};
  d.nr = nr;
  d.arch = arch;
  d.args[0] = arg0;
  d.args[1] = arg1;
  return d;
}

SeccompProgram CompileOrDie(const SeccompPolicy& p, bool notify) {
  auto prog = CompileSeccomp(p, notify);
  EXPECT_TRUE(prog.ok()) << prog.status().ToString();
  return prog.ok() ? *prog : SeccompProgram{};
}

TEST(SeccompCompile, DefaultPolicyCompiles) {
  auto p = LoadSeccompPolicy("default");
  ASSERT_TRUE(p.ok());
  for (bool notify : {false, true}) {
    SeccompProgram prog = CompileOrDie(*p, notify);
    EXPECT_GT(prog.instructions(), 0);
    EXPECT_LE(prog.instructions(), BPF_MAXINSNS);
    EXPECT_EQ(prog.notify, notify);
    // Every filter starts by checking the architecture.
    ASSERT_FALSE(prog.filter.empty());
    EXPECT_EQ(prog.filter[0].code, BPF_LD | BPF_W | BPF_ABS);
    EXPECT_EQ(prog.filter[0].k, offsetof(seccomp_data, arch));
  }
  SeccompPolicy empty;
  empty.name = "empty";
  EXPECT_GT(CompileOrDie(*p, false).instructions(), CompileOrDie(empty, false).instructions());
}

// The program's process loads its filter before the go only where it may then still
// wait (futex) and measure itself (getrusage), whatever the arguments.
TEST(SeccompCompile, WaitingCallsDecideWhetherTheFilterIsLoadedBeforeTheGo) {
  auto def = LoadSeccompPolicy("default");
  ASSERT_TRUE(def.ok());
  EXPECT_TRUE(CompileOrDie(*def, false).allows_waiting);
  auto with = [](const std::string& text) {
    auto p = ParseSeccompPolicy("name: \"t\"\n" + text, "t");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() && CompileOrDie(*p, false).allows_waiting;
  };
  EXPECT_TRUE(with("default_action: ALLOW"));
  EXPECT_FALSE(with("default_action: ALLOW\nrule { action: KILL syscall: \"futex\" }"));
  EXPECT_FALSE(
      with("default_action: ALLOW\nrule { action: ERRNO errno: 1 syscall: \"getrusage\" }"));
  EXPECT_FALSE(with("default_action: KILL\nrule { action: ALLOW syscall: [\"futex\"] }"));
  EXPECT_TRUE(
      with("default_action: KILL\nrule { action: ALLOW syscall: [\"futex\", \"getrusage\"] }"));
  EXPECT_FALSE(
      with("default_action: KILL\nrule { action: ALLOW syscall: [\"futex\", \"getrusage\"] }\n"
           "rule { action: ALLOW syscall: \"futex\" arg { index: 1 op: EQ value: 0 } }"));
}

#if defined(__x86_64__)
TEST(SeccompCompile, DefaultPolicyDecidesLikeTheProfileSays) {
  auto p = LoadSeccompPolicy("default");
  ASSERT_TRUE(p.ok());
  const uint32_t x64 = AUDIT_ARCH_X86_64;
  const uint32_t kill = SECCOMP_RET_KILL_PROCESS;
  const uint32_t allow = SECCOMP_RET_ALLOW;
  SeccompProgram prog = CompileOrDie(*p, false);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_read)), allow);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_execve)), allow);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_ptrace)), kill);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_mount)), kill);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_bpf)), kill);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_clone3)), SECCOMP_RET_ERRNO | ENOSYS);
  // clone: threads and forks pass, any new namespace does not.
  const uint64_t thread_flags = 0x3d0f00;  // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|...
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_clone, thread_flags)), allow);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_clone, 17 /* SIGCHLD */)), allow);
  for (uint64_t ns : {0x00020000ull, 0x02000000ull, 0x04000000ull, 0x08000000ull, 0x10000000ull,
                      0x20000000ull, 0x40000000ull}) {
    EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_clone, ns | 17)), kill) << std::hex << ns;
  }
  // TIOCSTI and TIOCLINUX are refused, other ioctls pass (also with high bits set).
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_ioctl, 0, 0x5412)), kill);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_ioctl, 0, 0xffffffff00005412ull)), kill);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_ioctl, 0, 0x541c)), kill);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_ioctl, 0, 0x5401 /* TCGETS */)), allow);
  // Other ABIs never get through.
  EXPECT_EQ(RunFilter(prog.filter, Call(AUDIT_ARCH_I386, 3 /* read */)), kill);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, 0x40000000 | 0 /* x32 read */)), kill);

  // With user notification, KILL rules (and foreign ABIs) go to the supervisor.
  SeccompProgram notify = CompileOrDie(*p, true);
  EXPECT_EQ(RunFilter(notify.filter, Call(x64, __NR_ptrace)), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(RunFilter(notify.filter, Call(x64, __NR_read)), allow);
  EXPECT_EQ(RunFilter(notify.filter, Call(AUDIT_ARCH_I386, 3)), SECCOMP_RET_USER_NOTIF);
}

TEST(SeccompCompile, DefaultActionAndArgumentComparisons) {
  auto p = ParseSeccompPolicy(
      "name: \"p\"\n"
      "default_action: ERRNO default_errno: 13\n"
      "rule { action: ALLOW syscall: [\"read\", \"exit_group\"] }\n"
      "rule { action: ALLOW syscall: \"kill\" arg { index: 1 op: LT value: 9 } }\n"
      "rule { action: KILL syscall: \"write\" arg { index: 0 op: GT value: 2 } }\n"
      "rule { action: ALLOW syscall: \"write\" arg { index: 0 op: LE value: 2 } }\n",
      "p.tp");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  SeccompProgram prog = CompileOrDie(*p, false);
  const uint32_t x64 = AUDIT_ARCH_X86_64;
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_read)), SECCOMP_RET_ALLOW);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_openat)), SECCOMP_RET_ERRNO | 13);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_kill, 1, 8)), SECCOMP_RET_ALLOW);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_kill, 1, 9)), SECCOMP_RET_ERRNO | 13);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_write, 1)), SECCOMP_RET_ALLOW);
  EXPECT_EQ(RunFilter(prog.filter, Call(x64, __NR_write, 3)), SECCOMP_RET_KILL_PROCESS);
}

TEST(SyscallName, X86_64) {
  EXPECT_EQ(SyscallName(AUDIT_ARCH_X86_64, 101), "ptrace");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_X86_64, __NR_execve), "execve");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_X86_64, 0x40000000 | 0), "x32:read");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_I386, 26), "i386:ptrace");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_I386, 11), "i386:execve");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_X86_64, 99999), "syscall 99999");
  EXPECT_EQ(SyscallName(AUDIT_ARCH_AARCH64, 221), "foreign:execve");
}
#endif

}  // namespace
}  // namespace judge::testing
