#pragma once
namespace diskless::cli {
// Entry point of the `diskless` command; returns the process exit code.
int run(int argc, char** argv);
}
