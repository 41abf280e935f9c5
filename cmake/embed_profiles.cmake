# Writes OUT: a C++ file holding every profile under DIR as a string, so the
# binaries carry their built-in profiles and work from any directory.
file(GLOB_RECURSE files RELATIVE "${DIR}" "${DIR}/*.textproto")
list(SORT files)
set(body "")
set(count 0)
foreach(f IN LISTS files)
  file(READ "${DIR}/${f}" text)
  string(FIND "${text}" ")JUDGE\"" bad)
  if(NOT bad EQUAL -1)
    message(FATAL_ERROR "${f} contains the raw-string delimiter")
  endif()
  string(APPEND body "    {\"${f}\", R\"JUDGE(${text})JUDGE\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
file(WRITE "${OUT}.tmp" "// Generated from profiles/ by cmake/embed_profiles.cmake. Do not edit.
namespace judge {
struct EmbeddedProfile {
  const char* path;
  const char* text;
};
extern const EmbeddedProfile kEmbeddedProfiles[] = {
${body}    {nullptr, nullptr}};
extern const int kEmbeddedProfileCount = ${count};
}  // namespace judge
")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
