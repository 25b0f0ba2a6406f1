// What reading a source produced, as bytes (io module and the pipeline's run()).
//
// Under mpirun a source that one rank alone should read (a database: the query runs
// once, and every rank computes on the rows in the one order the server sent them)
// is read by rank 0, which broadcasts the result; the other ranks decode it into the
// same values, bit for bit. The bytes are compact: numbers as their 8 raw bytes
// (NaN payloads and -0.0 kept), codes in 1, 2 or 4 bytes as their values need,
// counts and lengths as LEB128 varints, strings as their bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "segmenta/comm.hpp"
#include "segmenta/io.hpp"

namespace segmenta::io_detail {

/// Every field of `data` (the table's source and columns with whatever each Column
/// holds: name, type, numbers, integral flag, codes, levels, missing count, decimal
/// mark; the provenance with its extras, keys and date readings), the reading's
/// diagnostics in order and the columns it read from dates, as bytes.
std::string serialise_source_data(const SourceData& data, const Diagnostics& diagnostics, const DateReadings& dates);
/// The inverse: replaces `data`, `diagnostics` and `dates` with what `bytes` hold.
/// Throws Error for bytes that serialise_source_data did not write (cut short, a
/// wrong tag, bytes left over).
void deserialise_source_data(std::string_view bytes, SourceData& data, Diagnostics& diagnostics, DateReadings& dates);

/// The codes in `width` bytes each (1, 2 or 4; little endian, two's complement),
/// appended to `out`: every code must fit the width (-1, missing, always does).
void append_codes(std::string& out, std::span<const std::int32_t> codes, std::size_t width);
/// The inverse: the bytes.size() / width codes of `bytes`, sign-extended, into `out`.
void read_codes(std::string_view bytes, std::size_t width, std::int32_t* out);

/// Reads on rank 0 of `comm` alone: `read` runs there (the other ranks wait, sleeping)
/// and may append to `diagnostics` and `dates`; a segmenta::Error it throws is thrown
/// on every rank with its type and message. Rank 0 then broadcasts what it read
/// (serialise_source_data), and every rank returns rank 0's data with rank 0's
/// diagnostics and dates in `diagnostics` and `dates`; `broadcast_bytes` (if given)
/// receives the size of the bytes broadcast, on every rank. One process just reads.
SourceData read_on_root(const std::function<SourceData()>& read, const Communicator& comm, Diagnostics& diagnostics,
                        DateReadings& dates, std::size_t* broadcast_bytes = nullptr);

}  // namespace segmenta::io_detail
