#include "segmenta/core.hpp"

#include <fmt/format.h>

namespace segmenta {

ParameterError::ParameterError(std::string parameter, std::string message)
    : InvalidArgument(fmt::format("{}: {}", parameter, message)),
      parameter_(std::move(parameter)),
      message_(std::move(message)) {}

ParseError::ParseError(std::string file, std::size_t line, std::size_t column, const std::string& message)
    : Error(fmt::format("{}:{}:{}: {}", file, line, column, message)),
      file_(std::move(file)),
      line_(line),
      column_(column) {}

}  // namespace segmenta
