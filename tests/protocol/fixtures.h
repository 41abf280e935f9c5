// Messages of judge.proto with every field set to a non-default value, for the codec
// tests. ExpectEveryFieldSet guards the fixtures themselves: a field added to the schema
// and not to them fails the tests instead of going untested.
#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <vector>

#include "protocol/judge.pb.h"

namespace judge::testing {

// Bytes no text codec passes through unharmed.
inline const std::string kBinary = std::string("a\0b\xff\xfe\x80 z", 8);

judge::v1::Job FullJob();
judge::v1::JobResult FullJobResult();

// One message of every type judge.proto declares, every field set.
std::vector<std::unique_ptr<google::protobuf::Message>> OneOfEachMessage();

// Fails the current test for each field of m (recursively) left at its default.
void ExpectEveryFieldSet(const google::protobuf::Message& m, const std::string& path = "");

}  // namespace judge::testing
