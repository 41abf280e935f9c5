#include "protocol/curve.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "common/fd.h"
#include "common/file_util.h"

namespace judge {

namespace {

constexpr size_t kZ85Length = 40;

// The key on the first line that is not empty or a # comment, trimmed.
Result<std::string> KeyInText(const std::string& text, const std::string& where) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    line.erase(0, line.find_first_not_of(" \t\r"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    uint8_t bytes[32];
    if (line.size() != kZ85Length || !zmq_z85_decode(bytes, line.c_str())) {
      return Status::Error(where + " does not hold a CURVE key (40 Z85 characters, as `judge keygen` writes)");
    }
    return line;
  }
  return Status::Error(where + " is empty; expected a CURVE key as `judge keygen` writes");
}


}  // namespace

Result<CurveKeyPair> WriteKeyPair(const std::string& dir, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
    return Status::Error("a key name is a plain file name, not '" + name + "'");
  }
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status::Error("cannot make a CURVE key pair: this libzmq has no CURVE support");
  }
  const std::string base = dir + "/" + name;
  RETURN_IF_ERROR(WriteNewFile(base + ".key", "# judge secret key: keep it private\n" +
                                              std::string(sec) + "\n", 0600));
  RETURN_IF_ERROR(WriteNewFile(base + ".pub", std::string(pub) + "\n", 0644));
  return CurveKeyPair{pub, sec};
}

Result<CurveKeyPair> LoadSecretKey(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::Errno("cannot read the key " + path);
  if (st.st_mode & 077) {
    return Status::Error("the secret key " + path +
                         " is readable by others; chmod 600 it (it lets anyone act as its owner)");
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  ASSIGN_OR_RETURN(std::string secret, KeyInText(text, path));
  char pub[41];
  if (zmq_curve_public(pub, secret.c_str()) != 0) {
    return Status::Error(path + " does not hold a CURVE secret key");
  }
  return CurveKeyPair{pub, secret};
}

Result<std::string> LoadPublicKey(const std::string& file_or_key) {
  uint8_t bytes[32];
  if (file_or_key.size() == kZ85Length && zmq_z85_decode(bytes, file_or_key.c_str())) {
    return file_or_key;
  }
  Result<std::string> text = ReadFile(file_or_key);
  if (!text.ok()) {
    return Status::Error("'" + file_or_key +
                         "' is neither a CURVE public key (40 Z85 characters) nor a readable file");
  }
  return KeyInText(*text, file_or_key);
}

Result<std::map<std::string, std::string>> LoadAuthorizedKeys(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::Errno("cannot read the key directory " + dir);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".pub") == 0) names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  std::map<std::string, std::string> keys;
  for (const std::string& n : names) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(dir + "/" + n));
    ASSIGN_OR_RETURN(std::string key, KeyInText(text, dir + "/" + n));
    keys.emplace(key, n.substr(0, n.size() - 4));
  }
  return keys;
}

void MakeCurveServer(zmq::socket_t& socket, const CurveKeyPair& own, const std::string& domain) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
  socket.set(zmq::sockopt::zap_domain, domain);
}

void MakeCurveClient(zmq::socket_t& socket, const CurveKeyPair& own,
                     const std::string& server_public) {
  socket.set(zmq::sockopt::curve_serverkey, server_public);
  socket.set(zmq::sockopt::curve_publickey, own.public_key);
  socket.set(zmq::sockopt::curve_secretkey, own.secret_key);
}

std::string Z85(const std::string& binary_key) {
  char out[41] = {};
  if (binary_key.size() != 32 ||
      !zmq_z85_encode(out, reinterpret_cast<const uint8_t*>(binary_key.data()), 32)) {
    return "(not a key)";
  }
  return out;
}

}  // namespace judge
