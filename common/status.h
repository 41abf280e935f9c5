// One error type for the whole project: Status (ok or an error with errno and
// context) and Result<T> (a value or a Status), shaped like std::expected.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace judge {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  // An error with a message; err is an errno value or 0.
  static Status Error(std::string message, int err = 0) { return Status(std::move(message), err); }
  // An error from the current errno, e.g. Errno("open " + path).
  static Status Errno(const std::string& what) { return Status(what, errno); }

  bool ok() const { return !failed_; }
  int err() const { return err_; }
  const std::string& message() const { return message_; }

  // "context: message: strerror(err)"; context is prepended by each layer.
  std::string ToString() const {
    if (!failed_) return "ok";
    if (err_ == 0) return message_;
    return message_ + ": " + std::strerror(err_);
  }
  Status& Context(const std::string& context) {
    if (failed_) message_ = context + ": " + message_;
    return *this;
  }

 private:
  Status(std::string message, int err) : failed_(true), err_(err), message_(std::move(message)) {}
  bool failed_ = false;
  int err_ = 0;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}    // NOLINT: implicit by design
  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T value() && { return std::move(std::get<0>(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace judge

#define JUDGE_CONCAT_INNER(a, b) a##b
#define JUDGE_CONCAT(a, b) JUDGE_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if expr fails.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::judge::Status _st = (expr);                \
    if (!_st.ok()) return _st;                   \
  } while (0)

// ASSIGN_OR_RETURN(auto x, MakeX()); declares x from a Result or returns its Status.
#define ASSIGN_OR_RETURN(decl, expr) \
  ASSIGN_OR_RETURN_IMPL(JUDGE_CONCAT(_res_, __LINE__), decl, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  decl = std::move(tmp).value()
