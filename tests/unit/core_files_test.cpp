// Whole-file reading and atomic writing in core: the messages every module shows.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "segmenta/files.hpp"
#include "support.hpp"

using namespace segmenta;

namespace {
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const IoError& e) {
    return e.what();
  }
  return "(no IoError)";
}
}  // namespace

TEST(CoreFiles, ReadFileNamesThePathAndTheReason) {
  EXPECT_EQ(message_of([] { read_file("/nonexistent/customers.csv"); }),
            "/nonexistent/customers.csv: cannot open: No such file or directory");
  const std::string dir = test::temp_dir("core_files_read");
  const std::string path = dir + "/bytes.bin";
  const std::string bytes("a\0b\r\n\xff", 6);
  write_file_atomic(path, bytes);
  EXPECT_EQ(read_file(path), bytes);
  EXPECT_EQ(message_of([&] { read_file(dir); }), dir + ": read error");
}

TEST(CoreFiles, ReadStreamReadsToTheEnd) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  std::string big(200000, 'x');
  big[123456] = '\n';
  ASSERT_EQ(std::fwrite(big.data(), 1, big.size(), f), big.size());
  std::rewind(f);
  EXPECT_EQ(read_stream(f, "<stdin>"), big);
  EXPECT_EQ(read_stream(f, "<stdin>"), "");  // at the end already
  std::fclose(f);
}

TEST(CoreFiles, AtomicFileReplacesOnlyOnCommit) {
  const std::string dir = test::temp_dir("core_files_atomic");
  const std::string path = dir + "/out.txt";
  write_file_atomic(path, "old");
  {
    AtomicFile f(path);
    f.write("new ");
    f << "content";
    EXPECT_EQ(read_file(path), "old");  // untouched until the commit
  }
  EXPECT_EQ(read_file(path), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  {
    AtomicFile f(path);
    f.write("new ");
    f << "content";
    f.commit();
    f.commit();  // a second commit does nothing
    EXPECT_THROW(f.write("more"), IoError);
  }
  EXPECT_EQ(read_file(path), "new content");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  EXPECT_EQ(message_of([&] { AtomicFile f(dir + "/missing/out.txt"); }),
            dir + "/missing/out.txt: cannot create: No such file or directory");
}
