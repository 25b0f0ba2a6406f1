#include "outputs.hpp"

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

namespace segmenta::detail {

OutputSet::OutputSet(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw IoError(fmt::format("{}: cannot create the output directory: {}", dir_, ec.message()));
  if (!std::filesystem::is_directory(dir_)) throw IoError(fmt::format("{}: not a directory", dir_));
}

void OutputSet::add(const std::string& name, std::string_view content) {
  auto file = std::make_unique<AtomicFile>((std::filesystem::path(dir_) / name).string());
  file->write(content);
  files_.push_back(std::move(file));
  names_.push_back(name);
}

void OutputSet::commit() {
  // Check every target before the first rename, so that a predictable failure
  // (a directory in the way) cannot leave a mix of old and new files.
  for (const auto& f : files_)
    if (std::filesystem::is_directory(f->path()))
      throw IoError(fmt::format("{}: cannot replace a directory with an output file", f->path()));
  for (auto& f : files_) f->commit();
}

}  // namespace segmenta::detail
