#include "cli/cli.hpp"

int main(int argc, char** argv) {
  return diskless::cli::run(argc, argv);
}
