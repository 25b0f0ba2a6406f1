// Models by Hugging Face id: the cache and downloads (hub.cpp).
#pragma once

#include <string>

#include "segmenta/pipeline.hpp"

namespace segmenta {

/// The sha256 of a file's bytes, in lower-case hex.
std::string sha256_file(const std::string& path);

/// "org/name", or a bare name without '/' (read as sentence-transformers/<name>),
/// rather than a path.
bool looks_like_hub_id(const std::string& spec);
std::string hub_repo_id(const std::string& spec);

/// HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
std::string hub_cache_root();
/// HF_ENDPOINT, else https://huggingface.co.
std::string hub_endpoint();
/// HF_HUB_OFFLINE set to 1/on/yes/true.
bool hub_offline();
bool hub_download_supported() noexcept;

/// The snapshot of `spec` at `revision` ("" = main) from the cache, downloaded into
/// it when missing. `not_found` starts the error when it is neither cached nor
/// downloadable.
ModelLocation locate_hub_model(const std::string& spec, const std::string& revision, const std::string& not_found);

}  // namespace segmenta
