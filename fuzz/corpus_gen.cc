// Writes the seed corpus of every target into DIR/<target>/ (fuzz/corpus in the repo):
// each message type with every field set and at its defaults in both encodings, a frame
// of every verb in both encodings, the built-in profiles, a few trees. Run it again when
// the schema or an input format changes: build-fuzz/fuzz/corpus_gen fuzz/corpus
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/struct.pb.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "common/builtin_profiles.h"
#include "fuzz/fuzz_util.h"
#include "protocol/codec.h"
#include "protocol/frame.h"
#include "protocol/judge.pb.h"
#include "sandbox/serve_wire.h"
#include "worker/tar.h"

namespace judge::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Every field set (oneofs: their first member), two elements per repeated field, two
// entries per map, sub-messages two levels deep. `tag` tells elements apart (map keys).
void Fill(Message* m, int depth, int tag) {
  const auto* d = m->GetDescriptor();
  const Reflection* r = m->GetReflection();
  for (int k = 0; k < d->field_count(); ++k) {
    const FieldDescriptor* f = d->field(k);
    if (f->containing_oneof() && r->HasOneof(*m, f->containing_oneof())) continue;
    const int n = f->is_repeated() ? 2 : 1;
    for (int i = 0; i < n; ++i) {
      const bool rep = f->is_repeated();
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          rep ? r->AddInt32(m, f, -7 - i) : r->SetInt32(m, f, -7);
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          rep ? r->AddInt64(m, f, 1ll << (40 + i)) : r->SetInt64(m, f, 1ll << 40);
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          rep ? r->AddUInt32(m, f, 300u + i) : r->SetUInt32(m, f, 300u);
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          rep ? r->AddUInt64(m, f, 70000u + i) : r->SetUInt64(m, f, 70000u);
          break;
        case FieldDescriptor::CPPTYPE_DOUBLE:
          rep ? r->AddDouble(m, f, 1.5 + i) : r->SetDouble(m, f, 1.5);
          break;
        case FieldDescriptor::CPPTYPE_FLOAT:
          rep ? r->AddFloat(m, f, 0.25f + i) : r->SetFloat(m, f, 0.25f);
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          rep ? r->AddBool(m, f, true) : r->SetBool(m, f, true);
          break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          const auto* e = f->enum_type();
          const int v = e->value(e->value_count() - 1)->number();
          rep ? r->AddEnumValue(m, f, v) : r->SetEnumValue(m, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_STRING: {
          std::string s = f->type() == FieldDescriptor::TYPE_BYTES
                              ? std::string("1 2\n\0\xff", 6)
                              : f->name() + "-" + std::to_string(tag + i) + " \xc3\xa9";
          rep ? r->AddString(m, f, s) : r->SetString(m, f, s);
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth >= 2 && !f->is_map()) break;
          Fill(rep ? r->AddMessage(m, f) : r->MutableMessage(m, f), depth + 1, 10 * (tag + i));
          break;
      }
    }
  }
}

// google.protobuf.Value: a struct holding a list of each kind of value.
void FillValue(google::protobuf::Value* v) {
  auto* list = (*v->mutable_struct_value()->mutable_fields())["list"].mutable_list_value();
  list->add_values()->set_number_value(-2.5);
  list->add_values()->set_string_value("s");
  list->add_values()->set_bool_value(true);
  list->add_values()->set_null_value(google::protobuf::NULL_VALUE);
  (*v->mutable_struct_value()->mutable_fields())["empty"].mutable_struct_value();
}

std::unique_ptr<Message> Full(const Message& type) {
  std::unique_ptr<Message> m(type.New());
  if (auto* v = dynamic_cast<google::protobuf::Value*>(m.get())) {
    FillValue(v);
  } else {
    Fill(m.get(), 0, 0);
  }
  return m;
}

void Save(const std::string& dir, const std::string& name, const std::string& bytes) {
  ::mkdir(dir.c_str(), 0755);
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out << bytes;
  if (!out) Fail("cannot write " + dir + "/" + name);
}

std::string Encoded(std::string_view encoding, const Message& m) {
  if (encoding == kEncodingProtobuf) {
    // Map entries in key order, so that a second run writes the same files.
    std::string out;
    {
      google::protobuf::io::StringOutputStream stream(&out);
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      if (!m.SerializeToCodedStream(&coded)) Fail("cannot serialize a " + m.GetTypeName());
    }
    return out;
  }
  auto bytes = EncodeBody(encoding, m);
  if (!bytes.ok()) Fail(bytes.status().ToString());
  return *bytes;
}

void Messages(const std::string& root) {
  const auto& types = MessageTypes();
  for (size_t i = 0; i < types.size(); ++i) {
    const std::string name = types[i]->GetDescriptor()->name();
    const std::string selector(1, static_cast<char>(i));
    const auto full = Full(*types[i]);
    for (auto [dir, encoding] :
         {std::pair{"/msgpack", kEncodingMsgpack}, std::pair{"/protobuf", kEncodingProtobuf}}) {
      Save(root + dir, name + "-full", selector + Encoded(encoding, *full));
      Save(root + dir, name + "-default", selector + Encoded(encoding, *types[i]));
    }
  }
}

// The first body type frame_fuzz.cc decodes for each verb.
const Message& Body(std::string_view v) {
  if (v == verb::kSubmit || v == verb::kJob) return v1::Job::default_instance();
  if (v == verb::kStats) return v1::Stats::default_instance();
  if (v == verb::kProgress) return v1::TestResult::default_instance();
  if (v == verb::kResult || v == verb::kDone) return v1::JobResult::default_instance();
  if (v == verb::kError) return v1::Error::default_instance();
  if (v == verb::kReady) return v1::WorkerReady::default_instance();
  if (v == verb::kHeartbeat || v == verb::kDisconnect) return v1::Empty::default_instance();
  return v1::JobRef::default_instance();
}

std::string FrameInput(uint8_t selector, const std::vector<std::string>& parts) {
  std::string out(1, static_cast<char>(selector));
  for (const std::string& p : parts) out += PartOf(p);
  return out;
}

void Frames(const std::string& root) {
  const std::string dir = root + "/frame";
  for (std::string_view v : kAllVerbs) {
    const auto body = Full(Body(v));
    for (std::string_view encoding : {kEncodingProtobuf, kEncodingMsgpack}) {
      Save(dir, std::string(v) + "-" + std::string(encoding),
           FrameInput(0, MakeFrame(v, encoding, Encoded(encoding, *body))));
    }
  }
  // The empty body, on the client socket (selector 1), and a body over a 16-byte limit.
  Save(dir, "STATS-empty", FrameInput(1, MakeFrame(verb::kStats, kEncodingMsgpack, "")));
  Save(
      dir, "SUBMIT-over-limit",
      FrameInput(2 << 2, MakeFrame(verb::kSubmit, kEncodingMsgpack,
                                   Encoded(kEncodingMsgpack, *Full(v1::Job::default_instance())))));
}

void Profiles(const std::string& root) {
  for (const char* kind : {"sandbox", "seccomp", "languages"}) {
    for (const std::string& name : BuiltinProfileNames(kind)) {
      auto text = FindProfileText(kind, name);
      if (!text.ok()) Fail(text.status().ToString());
      Save(root + "/profile", std::string(kind) + "-" + name, text->text);
    }
  }
}

// tests_dir_fuzz.cc's entries: KIND PATH \0 PAYLOAD \0.
std::string Entry(char kind, const std::string& path, const std::string& payload = "") {
  return std::string(1, kind) + path + '\0' + payload + '\0';
}

void Trees(const std::string& root) {
  const std::string dir = root + "/tests_dir";
  Save(dir, "tests",
       Entry('f', "1.in", "1 2\n") + Entry('f', "1.ans", "3\n") + Entry('f', "2.in", "2 2\n") +
           Entry('f', "2.out", "4\n") + Entry('f', "10.in", "") + Entry('f', "10.ans", ""));
  Save(dir, "tests-links",
       Entry('f', "1.ans", "3\n") + Entry('l', "1.in", "/etc/shadow") +
           Entry('l', "2.in", "@outside/1.in") + Entry('f', "2.ans", "x") +
           Entry('l', "3.in", "../outside/1.in") + Entry('l', "3.ans", "1.ans"));
  Save(dir, "tests-odd",
       Entry('p', "1.in") + Entry('f', "1.ans", "a") + Entry('d', "2.in") + Entry('f', "2.ans") +
           Entry('f', "..3.in", "x") + Entry('f', "..3.ans", "y") + Entry('f', ".in", "") +
           Entry('f', ".ans", "") + Entry('f', std::string(255 - 3, 'n') + ".in", "long") +
           Entry('f', std::string(255 - 4, 'n') + ".ans", "name") + Entry('f', "a\nb.in", "nl") +
           Entry('f', "a\nb.out", "nl"));
  const std::string package =
      Entry('f', "problem.yaml", "name: p\nlimits:\n  memory: 64\n") +
      Entry('f', ".timelimit", "1.5\n") + Entry('f', "data/sample/1.in", "1\n") +
      Entry('f', "data/sample/1.ans", "1\n") + Entry('f', "data/secret/2.in", "2\n") +
      Entry('f', "data/secret/2.ans", "2\n") + Entry('f', "data/secret/group1/3.in", "3\n") +
      Entry('f', "data/secret/group1/3.ans", "3\n");
  Save(dir, "package", package);
  Save(dir, "package-flags",
       Entry('f', "problem.yaml",
             "name: p\nvalidator_flags: float_tolerance 1e-4 case_sensitive "
             "space_change_sensitive\n") +
           Entry('f', "data/secret/1.in", "1\n") + Entry('f', "data/secret/1.ans", "1\n"));
  Save(dir, "package-validator",
       Entry('f', "problem.yaml", "validation: custom\n") + Entry('f', "data/secret/1.in", "1\n") +
           Entry('f', "data/secret/1.ans", "1\n") +
           Entry('f', "output_validators/v/validator.py", "import sys\n"));
  Save(dir, "package-interactive",
       Entry('f', "problem.yaml", "validation: custom interactive\n") +
           Entry('f', "data/sample/1.in", "1\n") + Entry('f', "data/sample/1.ans", "1\n") +
           Entry('f', "output_validators/interactor.py", "print(1)\n"));
  Save(dir, "package-links",
       Entry('f', "problem.yaml", "validation: custom\n") + Entry('d', "data") +
           Entry('l', "data/sample", "@outside/sample") + Entry('f', "data/secret/1.in", "1\n") +
           Entry('l', "data/secret/1.ans", "/etc/passwd") + Entry('d', "output_validators") +
           Entry('l', "output_validators/v", "../../outside/validator"));
  // Directories that are links to directories of the tree.
  Save(dir, "package-dir-links",
       Entry('f', "problem.yaml", "validation: custom\n") + Entry('f', "real/sample/1.in", "1\n") +
           Entry('f', "real/sample/1.ans", "1\n") + Entry('f', "v/validator.py", "import sys\n") +
           Entry('l', "data", "real") + Entry('l', "output_validators", "v"));
  // The compact form: KIND and indexes into tests_dir_fuzz.cc's kNames, kContents and
  // kLinkTargets.
  auto compact = [](std::initializer_list<int> bytes) {
    std::string out;
    for (int b : bytes) out += static_cast<char>(b);
    return out;
  };
  Save(dir, "compact-package",
       compact({'F', 0, 3, 'F', 6, 0, 'F', 7, 0, 'F', 11, 1, 'F', 12, 1, 'F', 1, 8}));
  // data -> ".", output_validators -> /etc, 1.in -> /etc/shadow.
  Save(dir, "compact-links",
       compact({'F', 0, 4, 'F', 22, 0, 'F', 23, 0, 'L', 2, 0, 'L', 13, 7, 'L', 17, 6, 'F', 18, 0}));
  Save(dir, "compact-validator", compact({'F', 0, 4, 'F', 8, 0, 'F', 9, 0, 'F', 16, 9, 'P', 10}));
}

// tar_fuzz.cc's archives, written by TarWriter: files, directories, links inside /box,
// names long enough for a pax header.
void Archives(const std::string& root) {
  const std::string dir = root + "/tar";
  TarWriter small;
  small.AddDir("src", 0755);
  small.AddFile("src/a.c", "int main(void) { return 0; }\n", 0644);
  small.AddFile("run.sh", "#!/bin/sh\nmake test\n", 0755);
  small.AddSymlink("src/b.c", "a.c");
  small.AddSymlink("top", "src/../run.sh");
  Save(dir, "small", small.Finish());
  TarWriter lng;
  const std::string deep = std::string(120, 'd') + "/" + std::string(150, 'e');
  lng.AddDir(std::string(120, 'd'), 0700);
  lng.AddFile(deep, "long\n", 0600);
  lng.AddSymlink(std::string(120, 'd') + "/link", std::string(150, 'e'));
  Save(dir, "long-names", lng.Finish());
  TarWriter empty;
  empty.AddFile("empty", "", 0644);
  Save(dir, "empty-file", empty.Finish());
}

// serve_fuzz.cc's messages: requests and replies of the judge-sandbox serve socket.
void ServeMessages(const std::string& root) {
  const std::string dir = root + "/serve";
  Save(dir, "request",
       EncodeServeRequest({3, {"--stdin=in.txt", "--stdout=out.txt", "--", "/bin/cat"}}));
  Save(dir, "request-empty", EncodeServeRequest({0, {}}));
  Save(dir, "reply", EncodeServeReply({false, {0, "{\"status\":\"OK\"}\n", ""}}));
  Save(dir, "reply-refused", EncodeServeReply({true, {0, "", "the server is stopping"}}));
}

}  // namespace
}  // namespace judge::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR (fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const std::string root = argv[1];
  ::mkdir(root.c_str(), 0755);
  judge::fuzz::Messages(root);
  judge::fuzz::Frames(root);
  judge::fuzz::Profiles(root);
  judge::fuzz::Trees(root);
  judge::fuzz::Archives(root);
  judge::fuzz::ServeMessages(root);
  return 0;
}
