#include "api/token.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "util/secret.hpp"

namespace diskless::api {

namespace {

std::string sys_error(std::string_view what, const std::filesystem::path& p) {
  return std::string(what) + " " + p.string() + ": " + std::strerror(errno);
}

result<token_file> create(const std::filesystem::path& file) {
  const std::string token = random_secret(64);  // [A-Za-z0-9], ≈380 bits
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return error{sys_error("cannot create the API token file", file)};
  std::string line = token + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return error{sys_error("cannot write the API token file", file)};
  return token_file{token, true};
}

std::string octal(unsigned mode) {
  std::string out;
  for (int shift = 6; shift >= 0; shift -= 3) out += static_cast<char>('0' + ((mode >> shift) & 7));
  return out;
}

}  // namespace

result<token_file> load_or_create_token(const std::filesystem::path& file) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) return create(file);
    return error{sys_error("cannot read the API token file", file)};
  }
  if (!S_ISREG(st.st_mode)) return error{"the API token file " + file.string() + " is not a file"};
  if ((st.st_mode & 077) != 0)
    return error{"the API token file " + file.string() + " is readable by others (mode " +
                 octal(st.st_mode & 0777) + "); make it private: chmod 600 " + file.string()};
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return error{sys_error("cannot read the API token file", file)};
  std::array<char, 512> buf{};
  auto n = ::read(fd, buf.data(), buf.size());
  ::close(fd);
  if (n < 0) return error{sys_error("cannot read the API token file", file)};
  std::string token(buf.data(), static_cast<std::size_t>(n));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.size() < 16 || token.find_first_of(" \t\r\n") != std::string::npos)
    return error{"the API token file " + file.string() +
                 " must hold one token of at least 16 characters; delete it to get a new one"};
  return token_file{token, false};
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view scheme = "Bearer ";
  if (token.empty() || authorization.size() != scheme.size() + token.size()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < scheme.size(); ++i)  // the scheme is case-insensitive (RFC 9110)
    diff |= static_cast<unsigned>((authorization[i] | 0x20) ^ (scheme[i] | 0x20));
  for (std::size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned>(authorization[scheme.size() + i] ^ token[i]);
  return diff == 0;
}

}  // namespace diskless::api
