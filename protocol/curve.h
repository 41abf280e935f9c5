// CurveZMQ keys for the broker's two sockets (docs/PROTOCOL.md "Authentication"): key
// files, key directories, and the socket options of a CURVE server and client. A key is
// 40 characters of Z85 (32 bytes). `NAME.key` holds a secret key (mode 0600), `NAME.pub`
// the public key that goes with it; a directory of authorized peers holds `*.pub` files.
#pragma once

#include <map>
#include <string>
#include <zmq.hpp>

#include "common/status.h"

namespace judge {

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85
  bool operator==(const CurveKeyPair&) const = default;
};

// Writes DIR/NAME.key (0600) and DIR/NAME.pub; refuses to overwrite either.
Result<CurveKeyPair> WriteKeyPair(const std::string& dir, const std::string& name);

// A secret key file; the public key is derived from it.
Result<CurveKeyPair> LoadSecretKey(const std::string& path);

// A public key given as a file holding it or as the 40 Z85 characters themselves.
Result<std::string> LoadPublicKey(const std::string& file_or_key);

// Every `*.pub` in `dir`: public key (Z85) -> the file's name without ".pub". A file
// that does not hold a key is an error naming it.
Result<std::map<std::string, std::string>> LoadAuthorizedKeys(const std::string& dir);

// A CURVE server (the broker's sockets) whose peers the ZAP handler checks in `domain`.
void MakeCurveServer(zmq::socket_t& socket, const CurveKeyPair& own, const std::string& domain);
// A CURVE client of the server with public key `server_public`.
void MakeCurveClient(zmq::socket_t& socket, const CurveKeyPair& own,
                     const std::string& server_public);

// The Z85 form of a 32-byte binary key (as the ZAP handler receives it).
std::string Z85(const std::string& binary_key);

}  // namespace judge
