// The bash and zsh completion scripts of meros-test (`meros-test
// --completion bash|zsh`), installed by cmake --install.
#pragma once

#include <string>

namespace meros {

std::string bash_completion();
std::string zsh_completion();

}  // namespace meros
