#pragma once
// Checks `diskless serve` makes before it starts, so that the usual set-up mistakes end in one
// line that names the path, the reason and what to do (and exit status 1), rather than in a
// later failure deep inside a service.
#include <filesystem>
#include <optional>
#include <string>

namespace diskless::app {

// The user the process runs as, "name (uid N)", for messages about permissions.
std::string effective_user();

// nullopt when the inventory file can be opened for reading; else the one-line explanation.
std::optional<std::string> inventory_unreadable(const std::filesystem::path& file);

// Creates the state directory when missing; nullopt when it exists and this user can create
// files in it; else the one-line explanation naming the directory and the user.
std::optional<std::string> state_dir_problem(const std::filesystem::path& dir);

}  // namespace diskless::app
