#include "cli/run.hpp"

int main(int argc, char** argv) {
  return chansync::cli::run(argc, argv);
}
